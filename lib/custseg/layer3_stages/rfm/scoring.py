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

The cut points come from ``quantiles`` (numpy's arithmetic on the driver) fed by
``positions`` (the few order statistics, from a distributed sort or from value counts); they
land in ``score_edges``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.layer1_core.tables import CUSTOMER_KEY
from custseg.layer3_stages.rfm.positions import Ranked, quantile_edges, with_rank
from custseg.layer3_stages.rfm.quantiles import rank_quantile_edges

RECENCY = "recency_days"
FREQUENCY_RANK = "frequency_rank"
MONETARY = "monetary"


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

    ``customers`` reads a cached sort: use it as ``with scored:``, which releases the sort
    on every path once the block (the writes of what derives from it) is done.
    """

    customers: DataFrame
    count: int
    edges: dict[str, tuple[float, ...]]
    ranked: Ranked

    def __enter__(self) -> Scored:
        return self

    def __exit__(self, *_exc) -> None:
        self.ranked.release()


def score_customers(customers: DataFrame, bins: int) -> Scored:
    """Adds ``frequency_rank``, ``r_score``, ``f_score`` and ``m_score`` to one row per customer.

    Needs ``customer_key``, ``recency_days``, ``frequency`` and ``monetary`` (no nulls).
    Two distributed sorts: customers by (frequency, customer_key) for the rank, and the
    monetary values for their order statistics. Recency, whole days, takes few distinct
    values: its order statistics come from its value counts, without a sort.
    """
    ranked = with_rank(customers, ["frequency", CUSTOMER_KEY], FREQUENCY_RANK)
    n = ranked.count
    if n == 0:
        edges = {RECENCY: (), FREQUENCY_RANK: (), MONETARY: ()}
    else:
        edges = {
            **quantile_edges(ranked.frame, [MONETARY], n, bins, counted=[RECENCY]),
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
