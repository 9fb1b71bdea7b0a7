"""R, F and M scores that equal pandas ``qcut``, computed exactly on Spark.

Users check our scores against the classic pandas recipe, so the definition *is* pandas':

* ascending score of a column ``x`` = ``pd.qcut(x, bins, labels=False, duplicates="drop") + 1``;
* monetary score = the ascending score of ``monetary``;
* recency score = ``bins + 1 -`` the ascending score of ``recency_days`` (recent = high);
* frequency score = the ascending score of ``frequency_rank``, the 1-based rank of
  ``frequency`` with ties broken by ``customer_key`` (pandas ``rank(method="first")`` on a
  frame sorted by ``customer_key``), so every bin has its share of customers even when most
  customers ordered once.

qcut cuts at ``np.quantile(x, probabilities, method="linear")`` and puts ``v`` in the
right-closed bin ``(e[i-1], e[i]]`` (the lowest value joins the first bin). When ties make
two cut points equal pandas drops the duplicate and uses fewer, wider bins; we do the same,
so with heavy ties the monetary score uses only the low scores ``1..m`` and the recency score
only the high scores ``bins-m+1..bins`` (m = number of bins left). The one place we differ:
when every value is equal pandas returns NaN for everyone; we give the ascending score 1.

A linear quantile reads only two order statistics per probability, so we count the
customers, work out the positions numpy would read, fetch those few values from a
range-partitioned sort (no single-partition window, no collect of customer rows) and redo
numpy's arithmetic bit for bit on the driver. The cut points land in ``score_edges``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

RECENCY = "recency_days"
FREQUENCY_RANK = "frequency_rank"
MONETARY = "monetary"

_ROW_ID = "_row_id"
_POSITION = "_position"
_COLUMN = "_column"
_VALUE = "_value"
# monotonically_increasing_id() puts the partition index above bit 33, the row index below.
_PARTITION_SHIFT = 33
_ROW_MASK = (1 << _PARTITION_SHIFT) - 1


# --- pure: numpy's linear quantile, one order statistic at a time -----------------------


def qcut_probabilities(bins: int) -> np.ndarray:
    """The probabilities pandas' qcut hands to numpy, bit for bit.

    qcut builds ``np.linspace(0, 1, bins + 1)``; ``Series.quantile`` multiplies them by 100 and
    ``np.percentile`` divides by 100 again. The round trip moves some by one ulp (1/3 for
    bins=3, 0.7 for bins=10), which can move numpy's floor index, so we repeat it.
    """
    return np.true_divide(np.linspace(0, 1, bins + 1) * 100.0, 100)


@dataclasses.dataclass(frozen=True)
class QuantilePlan:
    """Which 0-based order statistics numpy's linear quantile reads, and with what weight."""

    lower: tuple[int, ...]
    upper: tuple[int, ...]
    weights: np.ndarray

    @property
    def positions(self) -> list[int]:
        return sorted(set(self.lower) | set(self.upper))


def plan_linear_quantiles(n: int, probabilities: np.ndarray) -> QuantilePlan:
    """Mirrors numpy's ``_quantile``/``_get_indexes``/``_get_gamma`` for method="linear"."""
    if n < 1:
        raise ValueError("quantiles of an empty set are undefined")
    probabilities = np.asarray(probabilities, dtype=np.float64)
    virtual = (n - 1) * probabilities
    previous = np.floor(virtual)
    following = previous + 1
    at_or_above_last = virtual >= n - 1
    previous[at_or_above_last] = -1  # numpy reads arr[-1], the largest value
    following[at_or_above_last] = -1
    below_first = virtual < 0
    previous[below_first] = 0
    following[below_first] = 0
    previous_index = previous.astype(np.intp)
    following_index = following.astype(np.intp)
    weights = np.asarray(virtual - previous_index, dtype=np.float64)
    return QuantilePlan(
        lower=tuple(int(i) % n for i in previous_index),
        upper=tuple(int(i) % n for i in following_index),
        weights=weights,
    )


def interpolate(plan: QuantilePlan, order_statistics: Mapping[int, float]) -> np.ndarray:
    """numpy's ``_lerp``: ``a + (b-a)*t``, or ``b - (b-a)*(1-t)`` when ``t >= 0.5``.

    Values are taken as float64; for integer data (recency days, ranks) numpy subtracts in
    int64 first, which gives the same result for magnitudes below 2**53.
    """
    a = np.array([order_statistics[i] for i in plan.lower], dtype=np.float64)
    b = np.array([order_statistics[i] for i in plan.upper], dtype=np.float64)
    t = plan.weights
    diff = b - a
    with np.errstate(over="ignore", invalid="ignore"):
        low_side = a + diff * t
        high_side = b - diff * (1 - t)
    return np.where(t >= 0.5, high_side, low_side)


def linear_quantiles(sorted_values: Sequence[float], probabilities: np.ndarray) -> np.ndarray:
    """``np.quantile(values, probabilities)`` from already sorted values (the oracle's twin)."""
    plan = plan_linear_quantiles(len(sorted_values), probabilities)
    return interpolate(plan, {i: sorted_values[i] for i in plan.positions})


def unique_edges(quantiles: Sequence[float]) -> tuple[float, ...]:
    """qcut's ``duplicates="drop"``: keep the first of equal cut points, in order."""
    return tuple(float(q) for q in dict.fromkeys(float(q) for q in quantiles))


def rank_quantile_edges(n: int, bins: int) -> tuple[float, ...]:
    """Cut points of the ranks 1..n: the order statistic at position i is i + 1."""
    plan = plan_linear_quantiles(n, qcut_probabilities(bins))
    return unique_edges(interpolate(plan, {i: float(i + 1) for i in plan.positions}))


# --- Spark: global positions without a global window --------------------------------------


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


def order_statistics(
    df: DataFrame, wanted: Mapping[str, Sequence[int]]
) -> dict[str, dict[int, float]]:
    """Values at 0-based positions of each column sorted ascending, from one distributed sort.

    ``orderBy`` range-partitions the data; each partition is sorted and the partitions are
    in order, so a row's position is the size of the earlier partitions plus its index in
    its own. The columns are stacked as (column number, value) and sorted together, so
    position p of the k-th column is global position k * rows + p. The sorted frame is
    persisted so that the counting pass and the fetching pass see the same partitions.
    """
    columns = list(wanted)
    stacked = None
    for number, column in enumerate(columns):
        part = df.select(F.lit(number).alias(_COLUMN), F.col(column).cast("double").alias(_VALUE))
        stacked = part if stacked is None else stacked.unionByName(part)
    sorted_values = _with_row_ids(stacked.orderBy(_COLUMN, _VALUE)).persist()
    try:
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
    finally:
        sorted_values.unpersist()
    found: dict[str, dict[int, float]] = {column: {} for column in columns}
    for position, number, value in rows:
        found[columns[number]][position - number * rows_per_column] = float(value)
    for column in columns:
        missing = sorted(set(int(p) for p in wanted[column]) - set(found[column]))
        if missing:
            raise ValueError(f"order statistics of {column} not found at positions {missing}")
    return found


def quantile_edges(
    df: DataFrame, columns: Sequence[str], n: int, bins: int
) -> dict[str, tuple[float, ...]]:
    """qcut's unique cut points of each column (n values, no nulls), exactly."""
    plan = plan_linear_quantiles(n, qcut_probabilities(bins))
    statistics = order_statistics(df, {column: plan.positions for column in columns})
    return {column: unique_edges(interpolate(plan, statistics[column])) for column in columns}


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


def ascending_score(column: str, edges: Sequence[float]) -> Column:
    """``qcut(labels=False) + 1`` for cut points ``e0 < ... < em``: 1 + #{0 < i < m: v > e_i}."""
    inner = list(edges)[1:-1]
    score = F.lit(1)
    for edge in inner:
        score = score + (F.col(column) > F.lit(float(edge))).cast("int")
    return score.cast("int")


def descending_score(column: str, edges: Sequence[float], bins: int) -> Column:
    """Reversed so that small values (recent purchases) get the high scores."""
    return (F.lit(bins + 1) - ascending_score(column, edges)).cast("int")


@dataclasses.dataclass(frozen=True)
class Scored:
    """Scored customers and the cut points used.

    ``customers`` reads a cached sort: call ``release()`` once it has been written.
    """

    customers: DataFrame
    count: int
    edges: dict[str, tuple[float, ...]]
    ranked: Ranked

    def release(self) -> None:
        self.ranked.release()


def score_customers(customers: DataFrame, bins: int) -> Scored:
    """Adds ``frequency_rank``, ``r_score``, ``f_score`` and ``m_score`` to one row per customer.

    Needs ``customer_key``, ``recency_days``, ``frequency`` and ``monetary`` (no nulls).
    Two distributed sorts: customers by (frequency, customer_key) for the rank, and the
    recency and monetary values for their order statistics.
    """
    ranked = with_rank(customers, ["frequency", "customer_key"], FREQUENCY_RANK)
    n = ranked.count
    if n == 0:
        edges = {RECENCY: (), FREQUENCY_RANK: (), MONETARY: ()}
    else:
        edges = {
            **quantile_edges(ranked.frame, [RECENCY, MONETARY], n, bins),
            FREQUENCY_RANK: rank_quantile_edges(n, bins),
        }
    scored = (
        ranked.frame.withColumn("r_score", descending_score(RECENCY, edges[RECENCY], bins))
        .withColumn("f_score", ascending_score(FREQUENCY_RANK, edges[FREQUENCY_RANK]))
        .withColumn("m_score", ascending_score(MONETARY, edges[MONETARY]))
    )
    return Scored(scored, n, {k: edges[k] for k in (RECENCY, FREQUENCY_RANK, MONETARY)}, ranked)


def edges_frame(
    spark: SparkSession, edges: Mapping[str, Sequence[float]], bins: int, as_of: dt.date
) -> DataFrame:
    """The ``score_edges`` rows: one per metric and unique cut point."""
    rows = [
        (as_of, metric, bins, index, float(edge))
        for metric, metric_edges in edges.items()
        for index, edge in enumerate(metric_edges)
    ]
    return spark.createDataFrame(
        rows, "as_of date, metric string, bins int, edge_index int, edge double"
    )
