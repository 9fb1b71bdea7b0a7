"""Tables the report stage writes, and its file layout choices for customer lookups."""

from __future__ import annotations

from custseg.layer1_core.tables.spec import (
    AS_OF,
    BIGINT,
    CUSTOMER_KEY,
    DATE,
    DISPLAY_MONEY,
    INT,
    STRING,
    TableSpec,
    column,
)

SEGMENTS_CURRENT = TableSpec(
    "segments_current",
    "One row per customer at the latest as_of: RFM segment with its meaning and first action, "
    "R/F/M, purchase dates and the primary cluster model's cluster. Flat: no nested columns.",
    (
        column(CUSTOMER_KEY, STRING, "pseudonymised customer", False),
        column(AS_OF, DATE, "RFM reference date of this snapshot", False),
        column("segment", STRING, "RFM segment", False),
        column("segment_description", STRING, "what the segment means (segment map)"),
        column("segment_action", STRING, "first recommended action of the segment"),
        column("previous_segment", STRING, "segment at the previous as_of, null if new"),
        column(
            "segment_since",
            DATE,
            "first as_of of the customer's current unbroken run in this segment",
            False,
        ),
        column("r_score", INT, "recency score, high = recent", False),
        column("f_score", INT, "frequency score", False),
        column("m_score", INT, "monetary score", False),
        column("recency_days", INT, "days from the last purchase to as_of", False),
        column("orders", BIGINT, "orders in the window (RFM frequency)", False),
        column(
            "spend", DISPLAY_MONEY, "spend in the window (RFM monetary), source currency", False
        ),
        column("average_order_value", DISPLAY_MONEY, "spend / orders"),
        column("first_purchase_date", DATE, "day of the first purchase in the window"),
        column("last_purchase_date", DATE, "day of the last purchase in the window"),
        column(
            "cluster_model",
            STRING,
            "the primary cluster model, e.g. kmeans_k5; null before any clustering",
        ),
        column("cluster_id", INT, "the customer's cluster in the primary model"),
        column("cluster_name", STRING, "name of that cluster"),
        column("cluster_action", STRING, "first recommended action of that cluster"),
    ),
    sorted_by=(CUSTOMER_KEY,),
    stats_columns=(CUSTOMER_KEY,),
)

# Tables compacted by the report stage: appended in many small per-file batches, scanned by
# month. The tables looked up by customer need no maintenance: each is written sorted by
# customer_key (``TableSpec.sorted_by``) in one write per as_of slice (segments_current: one
# full overwrite per run).
COMPACT_ONLY = ("transactions",)
