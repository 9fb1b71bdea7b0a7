"""Tables the rfm stage writes: per-customer RFM and segments, and their summaries."""

from __future__ import annotations

from custseg.layer1_core.tables.spec import (
    AS_OF,
    BIGINT,
    CUSTOMER_KEY,
    DATE,
    DISPLAY_MONEY,
    DOUBLE,
    INT,
    STRING,
    TIMESTAMP,
    TableSpec,
    column,
)

CUSTOMER_RFM = TableSpec(
    "customer_rfm",
    "Recency, frequency, monetary, scores and segment per customer at each as_of date.",
    (
        column(CUSTOMER_KEY, STRING, "pseudonymised customer", False),
        column(AS_OF, DATE, "reference date; only purchases before it count", False),
        column("recency_days", INT, "whole days from the last purchase to as_of", False),
        column(
            "frequency",
            BIGINT,
            "distinct orders (order ids, or purchase times when no order id)",
            False,
        ),
        column("monetary", DOUBLE, "spend in the window, source currency", False),
        column("r_score", INT, "recency score 1..bins, high = recent", False),
        column(
            "f_score",
            INT,
            "frequency score 1..bins on the rank, ties by customer_key",
            False,
        ),
        column("m_score", INT, "monetary score 1..bins", False),
        column(
            "frequency_rank",
            BIGINT,
            "1..customers: rank of frequency, ties by customer_key; f_score cuts it",
            False,
        ),
        column("segment", STRING, "named segment from the R x F map", False),
        column("previous_segment", STRING, "segment at the previous as_of, null if new"),
        column("first_purchase_time", TIMESTAMP, "first purchase in the window"),
        column("last_purchase_time", TIMESTAMP, "last purchase in the window"),
        column("tenure_days", INT, "whole days from the first purchase to as_of"),
        column(
            "mean_days_between_orders",
            DOUBLE,
            "mean gap between consecutive purchase orders, days; null below two purchase orders",
        ),
        column("average_order_value", DOUBLE, "monetary / frequency"),
        column("spend_30d", DOUBLE, "spend in the 30 days before as_of"),
        column("spend_90d", DOUBLE, "spend in the 90 days before as_of"),
        column("spend_365d", DOUBLE, "spend in the 365 days before as_of"),
        column("orders_30d", BIGINT, "orders in the 30 days before as_of"),
        column("orders_90d", BIGINT, "orders in the 90 days before as_of"),
        column("orders_365d", BIGINT, "orders in the 365 days before as_of"),
        column(
            "returned_value_share",
            DOUBLE,
            "returned value / purchased value (0 when returns dropped)",
        ),
        column(
            "average_quantity",
            DOUBLE,
            "units per order: quantity (net of returns when kept) / frequency; null without a "
            "quantity column",
        ),
    ),
    partition_by=(AS_OF,),
    sorted_by=(CUSTOMER_KEY,),
    stats_columns=(CUSTOMER_KEY,),
)


SEGMENT_SUMMARY = TableSpec(
    "segment_summary",
    "Per as_of and RFM segment: size, revenue and the typical R, F, M.",
    (
        column(AS_OF, DATE, "RFM reference date", False),
        column("segment", STRING, "segment name", False),
        column("segment_order", INT, "position of the segment in the map (for display order)"),
        column("r_scores", STRING, "recency scores of the segment, e.g. 4-5"),
        column("f_scores", STRING, "frequency scores of the segment, e.g. 4-5"),
        column("customers", BIGINT, "customers in the segment", False),
        column("customer_share", DOUBLE, "customers / all scored customers", False),
        column("revenue", DISPLAY_MONEY, "sum of monetary, rounded to cents", False),
        column(
            "revenue_share",
            DOUBLE,
            "revenue / all revenue (of the unrounded sums); null when all revenue is 0",
        ),
        column("mean_recency_days", DOUBLE, "mean recency, days", False),
        column("median_recency_days", DOUBLE, "median recency, days", False),
        column("mean_frequency", DOUBLE, "mean orders", False),
        column("median_frequency", DOUBLE, "median orders", False),
        column("mean_monetary", DISPLAY_MONEY, "mean spend, rounded to cents", False),
        column("median_monetary", DISPLAY_MONEY, "median spend, rounded to cents", False),
        column(
            "description",
            STRING,
            "what the segment means (the segment map: packaged custseg/defaults/segments.yaml or rfm.segments_file)",
        ),
        column(
            "actions",
            STRING,
            "recommended actions, one per line; null when none (the segment map: packaged custseg/defaults/segments.yaml or rfm.segments_file)",
        ),
    ),
    partition_by=(AS_OF,),
)

SCORE_EDGES = TableSpec(
    "score_edges",
    "Cut points used for the R, F and M scores (pandas qcut semantics, right-closed bins).",
    (
        column(AS_OF, DATE, "RFM reference date", False),
        column("metric", STRING, "recency_days, frequency_rank or monetary", False),
        column("bins", INT, "requested number of bins", False),
        column("edge_index", INT, "0..number of unique edges - 1", False),
        column(
            "edge",
            DOUBLE,
            "cut point; a value v gets the bin whose (left, right] holds it",
            False,
        ),
    ),
    partition_by=(AS_OF,),
    single_file=True,
)

SEGMENT_TRANSITIONS = TableSpec(
    "segment_transitions",
    "Customers moving between segments from the previous as_of to this one.",
    (
        column(AS_OF, DATE, "RFM reference date", False),
        column("previous_as_of", DATE, "the earlier as_of compared with", False),
        column("from_segment", STRING, "segment at previous_as_of; null for new customers"),
        column("to_segment", STRING, "segment at as_of; null for customers gone from the window"),
        column("customers", BIGINT, "customers making this move", False),
    ),
    partition_by=(AS_OF,),
)
