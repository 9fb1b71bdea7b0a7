"""Global positions in a distributed sort: order statistics, qcut cut points and ranks.

A global position would normally need a single-partition window, which funnels every
customer through one task. ``orderBy`` range-partitions instead: each partition is sorted
and the partitions are in order, so a row's position is the size of the earlier partitions
plus its index in its own. ``monotonically_increasing_id()`` carries both (partition index
above bit 33, row index below), and one small count per partition turns it into a position.
No customer rows are collected to the driver, only the few values a quantile reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.layer2_io.spark import cached
from custseg.layer3_stages.rfm.quantiles import (
    interpolate,
    plan_linear_quantiles,
    qcut_probabilities,
    unique_edges,
)

_ROW_ID = "_row_id"
_POSITION = "_position"
_COLUMN = "_column"
_VALUE = "_value"
_PARTITION_SHIFT = 33
_ROW_MASK = (1 << _PARTITION_SHIFT) - 1


class OrderStatisticsError(ValueError):
    """The sorted values lack a position the quantiles need: the sort changed under us."""


def _with_row_ids(sorted_df: DataFrame) -> DataFrame:
    return sorted_df.withColumn(_ROW_ID, F.monotonically_increasing_id())


def _partition_counts(with_row_ids: DataFrame) -> dict[int, int]:
    """Rows per partition of a sorted frame; collects one row per partition."""
    return dict(
        with_row_ids.groupBy(F.shiftright(_ROW_ID, _PARTITION_SHIFT).alias("partition"))
        .count()
        .collect()
    )


def _position(counts: Mapping[int, int]) -> Column:
    """0-based global position = rows in earlier partitions + row index in this one."""
    offsets, running = [], 0
    for partition in range(max(counts, default=-1) + 1):
        offsets.append(running)
        running += counts.get(partition, 0)
    partition = F.shiftright(_ROW_ID, _PARTITION_SHIFT).cast("int")
    offset = F.array(*[F.lit(o).cast("long") for o in offsets or [0]])[partition]
    return offset + F.col(_ROW_ID).bitwiseAND(F.lit(_ROW_MASK))


def _stacked_values(df: DataFrame, columns: Sequence[str]) -> DataFrame:
    """The columns as (column number, value) rows, so that one sort serves them all."""
    stacked = None
    for number, column in enumerate(columns):
        part = df.select(F.lit(number).alias(_COLUMN), F.col(column).cast("double").alias(_VALUE))
        stacked = part if stacked is None else stacked.unionByName(part)
    return stacked


def order_statistics(
    df: DataFrame, wanted: Mapping[str, Sequence[int]]
) -> dict[str, dict[int, float]]:
    """Values at 0-based positions of each column sorted ascending, from one distributed sort.

    The stacked columns sort together, so position p of the k-th column is global position
    k * rows + p. The sorted frame is persisted so that the counting pass and the fetching
    pass see the same partitions.
    """
    columns = list(wanted)
    stacked = _with_row_ids(_stacked_values(df, columns).orderBy(_COLUMN, _VALUE))
    with cached(stacked) as sorted_values:
        counts = _partition_counts(sorted_values)
        rows_per_column = sum(counts.values()) // len(columns)
        global_positions = sorted(
            {
                number * rows_per_column + int(p)
                for number, column in enumerate(columns)
                for p in wanted[column]
            }
        )
        rows = (
            sorted_values.select(_position(counts).alias(_POSITION), _COLUMN, _VALUE)
            .where(F.col(_POSITION).isin(global_positions))
            .collect()
        )
    found: dict[str, dict[int, float]] = {column: {} for column in columns}
    for position, number, value in rows:
        found[columns[number]][position - number * rows_per_column] = float(value)
    for column in columns:
        missing = sorted(set(int(p) for p in wanted[column]) - set(found[column]))
        if missing:
            raise OrderStatisticsError(
                f"order statistics of {column} not found at positions {missing}"
            )
    return found


def counted_order_statistics(df: DataFrame, column: str, wanted: Sequence[int]) -> dict[int, float]:
    """Values at 0-based positions of ``column`` sorted ascending, from its value counts.

    For a column with few distinct values the counts per value are a small summary; the
    value at position p is the one whose run of equal values covers p. No row is sorted.
    Recency in whole days has at most one value per day between
    ``cleaning.min_purchase_time`` and as_of (about 46,000 since 1900), whatever the number
    of customers; a continuous column must go through ``order_statistics`` instead.
    """
    counts = sorted(
        (row[0], int(row[1])) for row in df.groupBy(column).count().collect()
    )  # one row per distinct value
    found, end, pending = {}, 0, sorted(set(int(p) for p in wanted))
    for value, count in counts:
        end += count
        while pending and pending[0] < end:
            found[pending.pop(0)] = float(value)
    if pending:
        raise OrderStatisticsError(f"order statistics of {column} not found at positions {pending}")
    return found


def quantile_edges(
    df: DataFrame, columns: Sequence[str], n: int, bins: int, *, counted: Sequence[str] = ()
) -> dict[str, tuple[float, ...]]:
    """qcut's unique cut points of each column (n values, no nulls), exactly.

    ``columns`` take their order statistics from one distributed sort of them all, the
    ``counted`` columns from their value counts.
    """
    plan = plan_linear_quantiles(n, qcut_probabilities(bins))
    statistics = (
        order_statistics(df, {column: plan.positions for column in columns}) if columns else {}
    )
    for column in counted:
        statistics[column] = counted_order_statistics(df, column, plan.positions)
    return {
        column: unique_edges(interpolate(plan, statistics[column]))
        for column in [*columns, *counted]
    }


@dataclasses.dataclass(frozen=True)
class Ranked:
    """A frame with a rank column, read from a cached sort: call ``release()`` when done.

    The ranks belong to one particular sort; recomputing it could partition differently,
    so the sort stays cached while anything derived from ``frame`` is still to be computed.
    """

    frame: DataFrame
    count: int
    cached: DataFrame

    def release(self) -> None:
        self.cached.unpersist()


def with_rank(df: DataFrame, order_columns: Sequence[str], rank_column: str) -> Ranked:
    """Adds a 1-based ``rank_column`` in the order of ``order_columns`` (make them unique)."""
    sorted_rows = _with_row_ids(df.orderBy(*order_columns)).persist()
    counts = _partition_counts(sorted_rows)
    ranked = sorted_rows.withColumn(rank_column, _position(counts) + 1).drop(_ROW_ID)
    return Ranked(ranked, sum(counts.values()), sorted_rows)
