"""Whether two warehouses hold the same results: every table, row by row.

Two runs of the same input with the same key and config must write the same tables, whether
one ran in local mode and the other on a cluster, or one with older code. Sums taken in
another order differ in the last bits, so floating-point values are compared with a
relative tolerance; every other value must be equal. Run-specific columns (run ids, start
times, durations, report paths) and the run log table are left out. Used by ``scripts/compare_warehouses.py`` and
by the cluster integration test.
"""

from __future__ import annotations

import dataclasses

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DataType, DoubleType, FloatType, MapType

from custseg.layer2_io import delta_io
from custseg.layer2_io.locations import file_system, hadoop_path

RUN_SPECIFIC = frozenset(
    {
        "ingest_run_id",
        "run_id",
        "seconds",
        "started_at",
        "duration_seconds",
        "written_at",
        "report_path",
        "recorded_at",
    }
)
# Tables that log the runs themselves (commands, durations, the resolved config with its
# paths): two runs of the same input differ there by nature, so they are not compared.
RUN_LOG_TABLES = frozenset({"runs"})
_ROW = "_row_within_key"


@dataclasses.dataclass(frozen=True)
class TableComparison:
    name: str
    rows_first: int
    rows_second: int
    unmatched: int  # rows of either side without an equal row on the other side

    @property
    def same(self) -> bool:
        return self.unmatched == 0 and self.rows_first == self.rows_second


def _is_float(data_type: DataType) -> bool:
    return isinstance(data_type, (DoubleType, FloatType))


def _split_columns(df: DataFrame) -> tuple[list[Column], list[Column]]:
    """(exact, approximate) columns: floats, float arrays and float maps (as arrays of
    values ordered by key, with the keys kept exact) are approximate."""
    exact, approximate = [], []
    for field in df.schema.fields:
        if field.name in RUN_SPECIFIC:
            continue
        column, kind = F.col(f"`{field.name}`"), field.dataType
        if _is_float(kind) or (isinstance(kind, ArrayType) and _is_float(kind.elementType)):
            approximate.append(column.alias(field.name))
        elif isinstance(kind, MapType) and _is_float(kind.valueType):
            keys = F.array_sort(F.map_keys(column))
            exact.append(F.to_json(keys).alias(f"{field.name}__keys"))
            approximate.append(_values_by_key(column, keys).alias(field.name))
        elif isinstance(kind, (ArrayType, MapType)) or kind.typeName() == "struct":
            exact.append(F.to_json(column).alias(field.name))
        else:
            exact.append(column.alias(field.name))
    return exact, approximate


def _values_by_key(column: Column, keys: Column) -> Column:
    return F.transform(keys, lambda key: column[key])


def _close(a: Column, b: Column, relative: float) -> Column:
    tolerance = F.lit(relative) * F.greatest(F.abs(a), F.abs(b))
    both_nan = F.isnan(a) & F.isnan(b)
    return a.eqNullSafe(b) | both_nan | (F.abs(a - b) <= tolerance)


def _values_close(a: Column, b: Column, is_array: bool, relative: float) -> Column:
    if not is_array:
        return F.coalesce(_close(a, b, relative), F.lit(False))
    pairs = F.zip_with(a, b, lambda x, y: _close(x, y, relative))
    same_arrays = (F.size(a) == F.size(b)) & F.forall(
        pairs, lambda ok: F.coalesce(ok, F.lit(False))
    )
    return (a.isNull() & b.isNull()) | F.coalesce(same_arrays, F.lit(False))


def unmatched_rows(first: DataFrame, second: DataFrame, relative: float = 1e-9) -> int:
    """Rows of either frame with no partner in the other: equal exact values, floats within
    ``relative``. Rows sharing their exact values are paired in the order of their floats, so
    0 means equal, and a count above 0 measures, not locates, the difference."""
    exact, approximate = _split_columns(first)
    if not exact:
        raise ValueError("comparing tables needs at least one column that is not a float")
    keys = first.select(exact).columns
    floats = first.select(approximate).columns
    arrays = {
        f.name for f in first.select(approximate).schema.fields if isinstance(f.dataType, ArrayType)
    }
    order = (
        Window.partitionBy(*keys).orderBy(*floats)
        if floats
        else Window.partitionBy(*keys).orderBy(*keys)
    )

    def numbered(df: DataFrame, side: str) -> DataFrame:
        rows = df.select(*exact, *approximate).withColumn(_ROW, F.row_number().over(order))
        return rows.select(
            [F.col(f"`{c}`").alias(f"{side}{i}") for i, c in enumerate(rows.columns)]
        )

    a, b = numbered(first, "a"), numbered(second, "b")
    width = len(keys) + len(floats) + 1
    key_positions = [*range(len(keys)), width - 1]
    joined = a.join(
        b, [F.col(f"a{i}").eqNullSafe(F.col(f"b{i}")) for i in key_positions], how="full_outer"
    )
    matched = F.col(f"a{width - 1}").isNotNull() & F.col(f"b{width - 1}").isNotNull()
    for offset, name in enumerate(floats):
        i = len(keys) + offset
        matched = matched & _values_close(F.col(f"a{i}"), F.col(f"b{i}"), name in arrays, relative)
    present = F.col(f"a{width - 1}").isNotNull().cast("int") + F.col(
        f"b{width - 1}"
    ).isNotNull().cast("int")
    return int(joined.where(~matched).agg(F.coalesce(F.sum(present), F.lit(0))).first()[0])


def table_names(spark: SparkSession, warehouse: str) -> list[str]:
    """The tables under ``warehouse`` (folders not starting with ``_``), sorted."""
    return sorted(
        status.getPath().getName()
        for status in file_system(spark, warehouse).listStatus(hadoop_path(spark, warehouse))
        if status.isDirectory() and not status.getPath().getName().startswith("_")
    )


def compare_warehouses(
    spark: SparkSession, first: str, second: str, relative: float = 1e-9
) -> list[TableComparison]:
    """One comparison per result table of either warehouse (a table missing on one side
    has 0 rows there); the run log is left out."""
    names = sorted(
        (set(table_names(spark, first)) | set(table_names(spark, second))) - RUN_LOG_TABLES
    )
    results = []
    for name in names:
        frames = [delta_io.maybe_read_table(spark, root, name) for root in (first, second)]
        if None in frames:
            present = next(f for f in frames if f is not None)
            rows = present.count()
            counts = (rows, 0) if frames[0] is not None else (0, rows)
            results.append(TableComparison(name, *counts, unmatched=rows))
            continue
        unmatched = unmatched_rows(frames[0], frames[1], relative)
        results.append(TableComparison(name, frames[0].count(), frames[1].count(), unmatched))
    return results
