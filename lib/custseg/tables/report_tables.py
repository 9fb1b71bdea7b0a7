"""Tables the report stage writes, and its file layout choices for customer lookups."""

from __future__ import annotations

from pyspark.sql.types import DateType, DecimalType, IntegerType, LongType, StringType

from custseg.tables.spec import TableSpec, column

# Money a person reads (spend, order value) is rounded to cents: BI tools show decimals as
# they are, where a double prints as 180.00000000000003.
DISPLAY_MONEY = DecimalType(18, 2)

SEGMENTS_CURRENT = TableSpec(
    "segments_current",
    "One row per customer at the latest as_of: RFM segment with its meaning and first action, "
    "R/F/M, purchase dates and the primary cluster model's cluster. Flat: no nested columns.",
    (
        column("customer_key", StringType(), "pseudonymised customer", False),
        column("as_of", DateType(), "RFM reference date of this snapshot", False),
        column("segment", StringType(), "RFM segment", False),
        column("segment_description", StringType(), "what the segment means (segment map)"),
        column("segment_action", StringType(), "first recommended action of the segment"),
        column("previous_segment", StringType(), "segment at the previous as_of, null if new"),
        column(
            "segment_since",
            DateType(),
            "first as_of of the customer's current unbroken run in this segment",
            False,
        ),
        column("r_score", IntegerType(), "recency score, high = recent", False),
        column("f_score", IntegerType(), "frequency score", False),
        column("m_score", IntegerType(), "monetary score", False),
        column("recency_days", IntegerType(), "days from the last purchase to as_of", False),
        column("orders", LongType(), "orders in the window (RFM frequency)", False),
        column(
            "spend", DISPLAY_MONEY, "spend in the window (RFM monetary), source currency", False
        ),
        column("average_order_value", DISPLAY_MONEY, "spend / orders"),
        column("first_purchase_date", DateType(), "day of the first purchase in the window"),
        column("last_purchase_date", DateType(), "day of the last purchase in the window"),
        column(
            "cluster_model",
            StringType(),
            "the primary cluster model, e.g. kmeans_k5; null before any clustering",
        ),
        column("cluster_id", IntegerType(), "the customer's cluster in the primary model"),
        column("cluster_name", StringType(), "name of that cluster"),
        column("cluster_action", StringType(), "first recommended action of that cluster"),
    ),
)

# Tables read by customer_key lookups (CRM exports, joins): Z-ordered so a key touches few files.
ZORDER_BY_CUSTOMER = ("customer_rfm", "customer_clusters", "segments_current")
# Tables only compacted: appended in many small per-file batches, scanned by month.
COMPACT_ONLY = ("transactions",)
