"""Tables the report stage writes, and its file layout choices for customer lookups."""

from __future__ import annotations

from custseg.tables.spec import BIGINT, DATE, DOUBLE, INT, STRING, TableSpec, column, map_of

SEGMENTS_CURRENT = TableSpec(
    "segments_current",
    "One row per customer: latest RFM segment, scores, cluster names per chosen model.",
    (
        column("customer_key", STRING, "pseudonymised customer", False),
        column("as_of", DATE, "latest RFM reference date", False),
        column("segment", STRING, "RFM segment", False),
        column("previous_segment", STRING, "segment at the previous as_of"),
        column("r_score", INT, "recency score", False),
        column("f_score", INT, "frequency score", False),
        column("m_score", INT, "monetary score", False),
        column("recency_days", INT, "days since last purchase", False),
        column("frequency", BIGINT, "orders", False),
        column("monetary", DOUBLE, "spend", False),
        column("clusters", map_of(STRING, STRING), "model ('kmeans_k5') -> cluster name"),
    ),
)

# Tables read by customer_key lookups (CRM exports, joins): Z-ordered so a key touches few files.
ZORDER_BY_CUSTOMER = ("customer_rfm", "customer_clusters", "segments_current")
# Tables only compacted: appended in many small per-file batches, scanned by month.
COMPACT_ONLY = ("transactions",)
