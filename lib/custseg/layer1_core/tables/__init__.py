"""Every Delta table the project writes, declared once: the specs of each stage's tables.

Every column is declared here; the key columns all stages share (``CUSTOMER_KEY``,
``AS_OF``) are named in code only through these constants. Reading and writing tables is
``custseg.layer2_io.delta_io``'s job; this package only says what the tables are.
"""

from __future__ import annotations

from custseg.layer1_core.tables.cluster_tables import (
    CLUSTER_FEATURES,
    CLUSTER_PROFILES,
    CUSTOMER_CLUSTERS,
    MODEL_COMPARISON,
    MODEL_SELECTION,
    SEGMENT_CLUSTER_CROSSTAB,
)
from custseg.layer1_core.tables.ingest_tables import (
    CUSTOMER_PROFILES,
    INGEST_FILES,
    INGEST_RUNS,
    KEY_CHECK,
    QUARANTINE,
    TRANSACTIONS,
)
from custseg.layer1_core.tables.report_tables import COMPACT_ONLY, SEGMENTS_CURRENT
from custseg.layer1_core.tables.rfm_tables import (
    CUSTOMER_RFM,
    SCORE_EDGES,
    SEGMENT_SUMMARY,
    SEGMENT_TRANSITIONS,
)
from custseg.layer1_core.tables.run_tables import RUNS, TIMED_STAGES
from custseg.layer1_core.tables.spec import (
    AS_OF,
    CUSTOMER_KEY,
    DATABASE,
    MONEY,
    STATS_COLUMNS_PROPERTY,
    Column,
    TableSpec,
    table_location,
)

ALL_TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TRANSACTIONS,
        QUARANTINE,
        INGEST_FILES,
        INGEST_RUNS,
        KEY_CHECK,
        CUSTOMER_PROFILES,
        CUSTOMER_RFM,
        SEGMENT_SUMMARY,
        SCORE_EDGES,
        SEGMENT_TRANSITIONS,
        CUSTOMER_CLUSTERS,
        MODEL_SELECTION,
        MODEL_COMPARISON,
        CLUSTER_PROFILES,
        CLUSTER_FEATURES,
        SEGMENT_CLUSTER_CROSSTAB,
        SEGMENTS_CURRENT,
        RUNS,
    )
}

__all__ = [
    "ALL_TABLES",
    "AS_OF",
    "CLUSTER_FEATURES",
    "CLUSTER_PROFILES",
    "COMPACT_ONLY",
    "CUSTOMER_CLUSTERS",
    "CUSTOMER_KEY",
    "CUSTOMER_PROFILES",
    "CUSTOMER_RFM",
    "DATABASE",
    "INGEST_FILES",
    "INGEST_RUNS",
    "KEY_CHECK",
    "MODEL_COMPARISON",
    "MODEL_SELECTION",
    "MONEY",
    "QUARANTINE",
    "RUNS",
    "SCORE_EDGES",
    "SEGMENT_CLUSTER_CROSSTAB",
    "SEGMENT_SUMMARY",
    "SEGMENT_TRANSITIONS",
    "SEGMENTS_CURRENT",
    "STATS_COLUMNS_PROPERTY",
    "TIMED_STAGES",
    "TRANSACTIONS",
    "Column",
    "TableSpec",
    "table_location",
]
