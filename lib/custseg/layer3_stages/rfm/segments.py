"""Segments on Spark: assignment from the R and F scores, per-segment summary, transitions.

The map itself (loading, validation) lives in ``segment_map``; ``load_segment_map`` is
re-exported here because callers load a map and assign it in the same breath.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.layer1_core.segment_map import SegmentMap, format_scores, load_segment_map
from custseg.layer1_core.tables import AS_OF, CUSTOMER_KEY
from custseg.layer1_core.tables.spec import DISPLAY_MONEY, actions_text

__all__ = [
    "assign_segments",
    "load_segment_map",
    "segment_column",
    "segment_definitions",
    "segment_summary",
    "segment_transitions",
    "with_previous_segment",
]

# Each statistic with the type a person reads it in: spend in cents.
_SUMMARY_STATISTICS = {
    "mean_recency_days": "double",
    "median_recency_days": "double",
    "mean_frequency": "double",
    "median_frequency": "double",
    "mean_monetary": DISPLAY_MONEY.name,
    "median_monetary": DISPLAY_MONEY.name,
}


def segment_column(
    segment_map: SegmentMap, r_column: str = "r_score", f_column: str = "f_score"
) -> Column:
    """The segment name from the R and F scores, one CASE branch per segment."""
    r, f = F.col(r_column), F.col(f_column)
    expression = None
    for segment in segment_map.segments:
        condition = (r.between(*segment.r_scores)) & (f.between(*segment.f_scores))
        expression = (
            F.when(condition, F.lit(segment.name))
            if expression is None
            else expression.when(condition, F.lit(segment.name))
        )
    return expression


def assign_segments(scored: DataFrame, segment_map: SegmentMap) -> DataFrame:
    return scored.withColumn("segment", segment_column(segment_map))


def with_previous_segment(current: DataFrame, previous: DataFrame | None) -> DataFrame:
    """Adds each customer's segment at the previous as_of (null when new or no previous)."""
    if previous is None:
        return current.withColumn("previous_segment", F.lit(None).cast("string"))
    earlier = previous.select(CUSTOMER_KEY, F.col("segment").alias("previous_segment"))
    return current.join(earlier, on=CUSTOMER_KEY, how="left")


def segment_transitions(
    current: DataFrame, previous: DataFrame, as_of: dt.date, previous_as_of: dt.date
) -> DataFrame:
    """Customers per (from_segment, to_segment); null from = new, null to = gone."""
    before = previous.select(CUSTOMER_KEY, F.col("segment").alias("from_segment"))
    after = current.select(CUSTOMER_KEY, F.col("segment").alias("to_segment"))
    return (
        before.join(after, on=CUSTOMER_KEY, how="full_outer")
        .groupBy("from_segment", "to_segment")
        .agg(F.count(F.lit(1)).alias("customers"))
        .select(
            F.lit(as_of).alias(AS_OF),
            F.lit(previous_as_of).alias("previous_as_of"),
            "from_segment",
            "to_segment",
            "customers",
        )
    )


def segment_definitions(spark: SparkSession, segment_map: SegmentMap) -> DataFrame:
    """The map as a small frame, so the summary carries what each segment means."""
    rows = [
        (
            s.name,
            order,
            format_scores(s.r_scores),
            format_scores(s.f_scores),
            s.description,
            actions_text(s.actions),
        )
        for order, s in enumerate(segment_map.segments)
    ]
    return spark.createDataFrame(
        rows,
        "segment string, segment_order int, r_scores string, f_scores string, "
        "description string, actions string",
    )


def _per_segment(customers: DataFrame) -> DataFrame:
    """Size, revenue, and mean and exact median R, F, M of each segment with customers."""
    return customers.groupBy("segment").agg(
        F.count(F.lit(1)).alias("customers"),
        F.sum("monetary").alias("revenue"),
        F.avg("recency_days").alias("mean_recency_days"),
        F.median("recency_days").alias("median_recency_days"),
        F.avg("frequency").alias("mean_frequency"),
        F.median("frequency").alias("median_frequency"),
        F.avg("monetary").alias("mean_monetary"),
        F.median("monetary").alias("median_monetary"),
    )


def segment_summary(customers: DataFrame, segment_map: SegmentMap, as_of: dt.date) -> DataFrame:
    """Per segment with customers: size, revenue and their shares, mean and exact median R, F, M.

    The totals are one row, cross-joined so that shares need no second pass. Shares are
    taken of the unrounded sums; money is rounded to cents only in the output.
    """
    totals = customers.agg(
        F.count(F.lit(1)).alias("_all_customers"), F.sum("monetary").alias("_all_revenue")
    )
    definitions = segment_definitions(customers.sparkSession, segment_map)
    return (
        _per_segment(customers)
        .crossJoin(F.broadcast(totals))
        .join(F.broadcast(definitions), on="segment", how="left")
        .select(
            F.lit(as_of).alias(AS_OF),
            "segment",
            "segment_order",
            "r_scores",
            "f_scores",
            "customers",
            F.try_divide(F.col("customers").cast("double"), F.col("_all_customers")).alias(
                "customer_share"
            ),
            F.col("revenue").cast(DISPLAY_MONEY.name).alias("revenue"),
            F.try_divide(F.col("revenue"), F.col("_all_revenue")).alias("revenue_share"),
            *[F.col(c).cast(type_).alias(c) for c, type_ in _SUMMARY_STATISTICS.items()],
            "description",
            "actions",
        )
    )
