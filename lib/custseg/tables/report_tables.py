"""Tables the report stage writes, and its file layout choices for customer lookups."""

from __future__ import annotations

from pyspark.sql.types import DateType, DoubleType, IntegerType, LongType, MapType, StringType

from custseg.tables.spec import TableSpec, column

SEGMENTS_CURRENT = TableSpec(
    "segments_current",
    "One row per customer: latest RFM segment, scores, cluster names per chosen model.",
    (
        column("customer_key", StringType(), "pseudonymised customer", False),
        column("as_of", DateType(), "latest RFM reference date", False),
        column("segment", StringType(), "RFM segment", False),
        column("previous_segment", StringType(), "segment at the previous as_of"),
        column("r_score", IntegerType(), "recency score", False),
        column("f_score", IntegerType(), "frequency score", False),
        column("m_score", IntegerType(), "monetary score", False),
        column("recency_days", IntegerType(), "days since last purchase", False),
        column("frequency", LongType(), "orders", False),
        column("monetary", DoubleType(), "spend", False),
        column(
            "clusters", MapType(StringType(), StringType()), "model ('kmeans_k5') -> cluster name"
        ),
    ),
)

# Tables read by customer_key lookups (CRM exports, joins): Z-ordered so a key touches few files.
ZORDER_BY_CUSTOMER = ("customer_rfm", "customer_clusters", "segments_current")
# Tables only compacted: appended in many small per-file batches, scanned by month.
COMPACT_ONLY = ("transactions",)
