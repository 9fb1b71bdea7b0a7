"""What a table is, independent of where it lives: name, schema, comments, partitioning,
constraints and table properties. Pure declarations; ``custseg.layer2_io.delta_io`` applies them.

Column types are declared as ``SqlType`` rather than pyspark ``DataType`` objects, so the
declarations import without pyspark: the config is checked against them (the numeric
customer_rfm columns a clustering feature may name) before Spark starts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

# SQL users find the tables in this catalog database (see delta_io.register_in_catalog).
DATABASE = "custseg"

# The columns most tables share: the pseudonymised customer every customer-level table is
# keyed and sorted by, and the RFM reference date the history tables are partitioned by
# (a stage replaces and reads one as_of's rows: ``delta_io.AsOfSlice``).
CUSTOMER_KEY = "customer_key"
AS_OF = "as_of"


@dataclasses.dataclass(frozen=True)
class SqlType:
    """A column type named as Spark spells it (``bigint``). Nested types keep their parts,
    so the I/O layer (``custseg.layer2_io.schemas``) builds the pyspark type from this
    declaration alone; declaring one never imports pyspark."""

    name: str
    numeric: bool
    element: SqlType | None = None  # of an array; the key of a map is ``key``
    key: SqlType | None = None
    value: SqlType | None = None
    contains_null: bool = True  # array elements or map values may be null


STRING = SqlType("string", False)
BOOLEAN = SqlType("boolean", False)
DATE = SqlType("date", False)
TIMESTAMP = SqlType("timestamp", False)
INT = SqlType("int", True)
BIGINT = SqlType("bigint", True)
DOUBLE = SqlType("double", True)
MONEY = SqlType("decimal(18,4)", True)
# Money a person reads (spend, order value) is rounded to cents: BI tools show decimals as
# they are, where a double prints as 180.00000000000003.
DISPLAY_MONEY = SqlType("decimal(18,2)", True)

# Recommended actions are one text, an action per line: BI tools and spreadsheets show a
# text column as it is, where they cannot load an array column at all.
ACTION_SEPARATOR = "\n"


def actions_text(actions: Sequence[str]) -> str | None:
    """The actions column's value: null rather than an empty text when there are none."""
    return ACTION_SEPARATOR.join(actions) or None


def array_of(element: SqlType, contains_null: bool = True) -> SqlType:
    return SqlType(f"array<{element.name}>", False, element=element, contains_null=contains_null)


def map_of(key: SqlType, value: SqlType, value_contains_null: bool = True) -> SqlType:
    return SqlType(
        f"map<{key.name},{value.name}>",
        False,
        key=key,
        value=value,
        contains_null=value_contains_null,
    )


# Set on every table when it is created, so they show in ``SHOW TBLPROPERTIES`` where BI users
# look. The log keeps 30 days of history (time travel reaches that far while the data files
# exist); VACUUM deletes data files only once unreferenced for 7 days, so running readers and
# time travel within a week never break. Deletion vectors stay off so that non-Spark readers
# (delta-rs, polars) read every table.
TABLE_PROPERTIES = (
    ("delta.logRetentionDuration", "interval 30 days"),
    ("delta.deletedFileRetentionDuration", "interval 7 days"),
    ("delta.enableDeletionVectors", "false"),
)


# Delta's table property naming the columns it collects file statistics for.
STATS_COLUMNS_PROPERTY = "delta.dataSkippingStatsColumns"


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    sql_type: SqlType
    comment: str
    nullable: bool = True


@dataclasses.dataclass(frozen=True)
class TableSpec:
    name: str
    comment: str
    columns: tuple[Column, ...]
    partition_by: tuple[str, ...] = ()
    constraints: tuple[tuple[str, str], ...] = ()
    properties: tuple[tuple[str, str], ...] = TABLE_PROPERTIES
    # Delta's optimized write: rows are shuffled by partition value before writing, so a
    # write spread over many partitions (a year of months) makes one file per partition
    # and bin instead of one per task and partition.
    optimize_write: bool = False
    # Written range-partitioned and sorted by these columns, so that every file of a write
    # covers its own narrow range of them: a lookup by customer_key opens one file of a slice.
    # For one column that is the layout OPTIMIZE ZORDER BY would give, made while writing
    # instead of by reading and rewriting the slice afterwards.
    sorted_by: tuple[str, ...] = ()
    # Each write makes one data file (per partition value it writes): for tables whose
    # writes hold a few rows, where a file per task would be files of a few hundred bytes
    # each. Only the file layout changes, never the rows. Not with ``sorted_by``, whose
    # point is several files over disjoint key ranges.
    single_file: bool = False
    # The only columns Delta keeps per-file minimum, maximum and null count of (row counts
    # are kept for every file); empty: Delta's default, the first 32 columns. Collecting
    # them costs about as much as encoding the rows (4 million transactions lines: a write
    # of 18.4 s with every column's, 10.2 s with three), and they only let a reader skip
    # files by columns the files are laid out by: a ``sorted_by`` key (each file is a range
    # of it, every other column spans all its values in every file), a month's times.
    # A spec that stops naming columns leaves the property on existing tables.
    stats_columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.single_file and self.sorted_by:
            raise ValueError(f"table {self.name}: single_file and sorted_by exclude each other")
        not_collectable = set(self.stats_columns) - set(self.column_names) | (
            set(self.stats_columns) & set(self.partition_by)
        )
        if not_collectable:
            raise ValueError(
                f"table {self.name}: no statistics for column(s) {sorted(not_collectable)}: "
                "not a column, or a partition column (Delta keeps none for those)"
            )

    @property
    def delta_properties(self) -> tuple[tuple[str, str], ...]:
        """The table properties its creation sets: ``properties`` and the statistics'
        columns."""
        if not self.stats_columns:
            return self.properties
        return (*self.properties, (STATS_COLUMNS_PROPERTY, ",".join(self.stats_columns)))

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def column(name: str, type_: SqlType, comment: str, nullable: bool = True) -> Column:
    """Short positional form that keeps the table declarations one column per line."""
    return Column(name, type_, comment, nullable)


def table_location(warehouse_root: str, name: str) -> str:
    """Table T lives at ``<warehouse>/T``: a public contract with BI tools."""
    return f"{warehouse_root.rstrip('/')}/{name}"
