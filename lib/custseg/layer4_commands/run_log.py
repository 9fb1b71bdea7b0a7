"""The ``runs`` table: what each CLI invocation did, written once it ends either way.

A run record is bookkeeping, never the run's result: a record that cannot be written is
logged and dropped, so the error a user sees is always the run's own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import re
import time

from pyspark.sql import SparkSession

from custseg.layer1_core.config import Settings
from custseg.layer1_core.tables import RUNS, TIMED_STAGES
from custseg.layer2_io import delta_io
from custseg.layer2_io.schemas import table_schema
from custseg.layer2_io.spark import REDACTION_REGEX

log = logging.getLogger("custseg")

REDACTED = "*********(redacted)"
# user:password@ in a URI (jdbc, s3a with inline credentials): the password is dropped.
_URI_PASSWORD = re.compile(r"(?<=://)([^/:@\s]+):[^/@\s]+@")


def config_text(settings: Settings) -> str:
    """The settings as JSON, safe to keep in a table BI users read.

    The hashing key is not a setting (only the name of its variable or file is), so it
    cannot appear; what else could hold a secret are ``spark.conf`` entries (s3a keys,
    passwords: redacted by the same names Spark's UI redacts) and passwords inside URIs.
    """
    data = settings.model_dump()
    data["spark"]["conf"] = {
        key: REDACTED if re.search(REDACTION_REGEX, key) else value
        for key, value in data["spark"]["conf"].items()
    }
    text = json.dumps(data, default=str, sort_keys=True)
    return _URI_PASSWORD.sub(rf"\1:{REDACTED}@", text)


@dataclasses.dataclass
class RunTimes:
    """Filled in while a command runs: the wall time of each stage that finished, and the
    as_of once a stage has resolved it, so a failed run still says how far it got."""

    started: float = dataclasses.field(default_factory=time.monotonic)
    stage_seconds: dict = dataclasses.field(default_factory=dict)
    as_of: dt.date | None = None

    def stage_done(self, stage: str, seconds: float, summary: dict | None = None) -> None:
        self.stage_seconds[stage] = seconds
        as_of = (summary or {}).get("as_of")
        if as_of is not None:
            self.note_as_of(as_of)

    def note_as_of(self, as_of: dt.date | str | None) -> None:
        if isinstance(as_of, str):
            as_of = dt.date.fromisoformat(as_of)
        if as_of is not None:
            self.as_of = as_of


@dataclasses.dataclass(frozen=True)
class RunRecord:
    run_id: str
    command: str
    started_at: dt.datetime
    times: RunTimes
    config: str
    custseg_version: str
    error: str | None = None

    def row(self) -> tuple:
        """The record in the column order of ``RUNS``."""
        stages = tuple(self.times.stage_seconds.get(stage) for stage in TIMED_STAGES)
        return (
            self.run_id,
            self.command,
            self.times.as_of,
            self.started_at,
            time.monotonic() - self.times.started,
            *stages,
            "failed" if self.error is not None else "succeeded",
            self.error,
            self.config,
            self.custseg_version,
        )


def record_run(spark: SparkSession, warehouse_root: str, record: RunRecord) -> bool:
    """Appends the record to ``runs``; False (and a warning) when the warehouse refuses
    it, because the caller is reporting a run's outcome, perhaps already a failure."""
    try:
        frame = spark.createDataFrame([record.row()], table_schema(RUNS))
        delta_io.write_table(spark, warehouse_root, RUNS, frame, mode="append")
    except Exception as error:  # noqa: BLE001 - see the docstring
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        log.warning("run %s not recorded in table runs: %s", record.run_id, first)
        return False
    return True
