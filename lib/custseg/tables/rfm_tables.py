"""Tables the rfm stage writes: per-customer RFM and segments, and their summaries."""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    TimestampType,
)

from custseg.tables.spec import TableSpec, column

CUSTOMER_RFM = TableSpec(
    "customer_rfm",
    "Recency, frequency, monetary, scores and segment per customer at each as_of date.",
    (
        column("customer_key", StringType(), "pseudonymised customer", False),
        column("as_of", DateType(), "reference date; only purchases before it count", False),
        column("recency_days", IntegerType(), "whole days from the last purchase to as_of", False),
        column(
            "frequency",
            LongType(),
            "distinct orders (order ids, or purchase times when no order id)",
            False,
        ),
        column("monetary", DoubleType(), "spend in the window, source currency", False),
        column("r_score", IntegerType(), "recency score 1..bins, high = recent", False),
        column(
            "f_score",
            IntegerType(),
            "frequency score 1..bins on the rank, ties by customer_key",
            False,
        ),
        column("m_score", IntegerType(), "monetary score 1..bins", False),
        column(
            "frequency_rank",
            LongType(),
            "1..customers: rank of frequency, ties by customer_key; f_score cuts it",
            False,
        ),
        column("segment", StringType(), "named segment from the R x F map", False),
        column("previous_segment", StringType(), "segment at the previous as_of, null if new"),
        column("first_purchase_time", TimestampType(), "first purchase in the window"),
        column("last_purchase_time", TimestampType(), "last purchase in the window"),
        column("tenure_days", IntegerType(), "whole days from the first purchase to as_of"),
        column(
            "mean_days_between_orders",
            DoubleType(),
            "mean gap between consecutive orders, days; null for one order",
        ),
        column("average_order_value", DoubleType(), "monetary / frequency"),
        column("spend_30d", DoubleType(), "spend in the 30 days before as_of"),
        column("spend_90d", DoubleType(), "spend in the 90 days before as_of"),
        column("spend_365d", DoubleType(), "spend in the 365 days before as_of"),
        column("orders_30d", LongType(), "orders in the 30 days before as_of"),
        column("orders_90d", LongType(), "orders in the 90 days before as_of"),
        column("orders_365d", LongType(), "orders in the 365 days before as_of"),
        column(
            "returned_value_share",
            DoubleType(),
            "returned value / purchased value (0 when returns dropped)",
        ),
        column(
            "average_quantity",
            DoubleType(),
            "units per order: quantity (net of returns when kept) / frequency; null without a "
            "quantity column",
        ),
    ),
    partition_by=("as_of",),
)


SEGMENT_SUMMARY = TableSpec(
    "segment_summary",
    "Per as_of and RFM segment: size, revenue and the typical R, F, M.",
    (
        column("as_of", DateType(), "RFM reference date", False),
        column("segment", StringType(), "segment name", False),
        column(
            "segment_order", IntegerType(), "position of the segment in the map (for display order)"
        ),
        column("r_scores", StringType(), "recency scores of the segment, e.g. 4-5"),
        column("f_scores", StringType(), "frequency scores of the segment, e.g. 4-5"),
        column("customers", LongType(), "customers in the segment", False),
        column("customer_share", DoubleType(), "customers / all scored customers", False),
        column("revenue", DoubleType(), "sum of monetary", False),
        column("revenue_share", DoubleType(), "revenue / all revenue; null when all revenue is 0"),
        column("mean_recency_days", DoubleType(), "mean recency, days", False),
        column("median_recency_days", DoubleType(), "median recency, days", False),
        column("mean_frequency", DoubleType(), "mean orders", False),
        column("median_frequency", DoubleType(), "median orders", False),
        column("mean_monetary", DoubleType(), "mean spend", False),
        column("median_monetary", DoubleType(), "median spend", False),
        column(
            "description",
            StringType(),
            "what the segment means (the segment map: packaged custseg/defaults/segments.yaml or rfm.segments_file)",
        ),
        column(
            "actions",
            ArrayType(StringType()),
            "recommended actions (the segment map: packaged custseg/defaults/segments.yaml or rfm.segments_file)",
        ),
    ),
    partition_by=("as_of",),
)

SCORE_EDGES = TableSpec(
    "score_edges",
    "Cut points used for the R, F and M scores (pandas qcut semantics, right-closed bins).",
    (
        column("as_of", DateType(), "RFM reference date", False),
        column("metric", StringType(), "recency_days, frequency_rank or monetary", False),
        column("bins", IntegerType(), "requested number of bins", False),
        column("edge_index", IntegerType(), "0..number of unique edges - 1", False),
        column(
            "edge",
            DoubleType(),
            "cut point; a value v gets the bin whose (left, right] holds it",
            False,
        ),
    ),
    partition_by=("as_of",),
)

SEGMENT_TRANSITIONS = TableSpec(
    "segment_transitions",
    "Customers moving between segments from the previous as_of to this one.",
    (
        column("as_of", DateType(), "RFM reference date", False),
        column("previous_as_of", DateType(), "the earlier as_of compared with", False),
        column("from_segment", StringType(), "segment at previous_as_of; null for new customers"),
        column(
            "to_segment", StringType(), "segment at as_of; null for customers gone from the window"
        ),
        column("customers", LongType(), "customers making this move", False),
    ),
    partition_by=("as_of",),
)
