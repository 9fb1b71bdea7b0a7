"""The run log: one row per CLI invocation, whatever its command and outcome."""

from __future__ import annotations

from custseg.layer1_core.tables.spec import (
    AS_OF,
    DATE,
    DOUBLE,
    STRING,
    TIMESTAMP,
    TableSpec,
    column,
)

# The stages timed in a run record, each its own column: BI tables stay flat (no maps).
TIMED_STAGES = ("ingest", "rfm", "cluster", "report", "score")

RUNS = TableSpec(
    "runs",
    "One row per custseg command that got as far as starting Spark: what ran, at which as_of, "
    "how long each stage took, and whether it succeeded. Appended; never rewritten.",
    (
        column(
            "run_id", STRING, "id of the invocation (ingest runs use it as ingest_run_id)", False
        ),
        column(
            "command", STRING, "the custseg command: ingest, rfm, cluster, report, run, ...", False
        ),
        column(AS_OF, DATE, "RFM reference date the run worked at; null when not resolved"),
        column("started_at", TIMESTAMP, "when the command started (UTC)", False),
        column(
            "seconds_total",
            DOUBLE,
            "wall-clock seconds from start to end, Spark start included",
            False,
        ),
        *(
            column(
                f"{stage}_seconds",
                DOUBLE,
                f"wall-clock seconds of the {stage} stage; null when it did not finish",
            )
            for stage in TIMED_STAGES
        ),
        column("outcome", STRING, "succeeded or failed", False),
        column("error", STRING, "first line of the error; null on success"),
        column(
            "config",
            STRING,
            "the resolved configuration as JSON; never the hashing key, and spark.conf values "
            "whose names look secret (password, token, access key) are redacted",
            False,
        ),
        column("custseg_version", STRING, "custseg version that ran", False),
    ),
    constraints=(("valid_outcome", "outcome IN ('succeeded', 'failed')"),),
)
