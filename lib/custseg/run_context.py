"""What one invocation knows about itself: its id, start time and the as_of it works at.

The as_of is decided once per run (``resolve_as_of``) and handed to every stage, so all
tables written by one ``custseg run`` carry the same date.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from pyspark.sql import SparkSession

from custseg import delta_io
from custseg.rfm.metrics import last_purchase_micros
from custseg.tables import TRANSACTIONS


class NoPurchasesError(ValueError):
    """No clean purchase to take a default as_of from: ingest first, or set rfm.as_of."""


@dataclasses.dataclass(frozen=True)
class RunContext:
    """Identity and start time of one invocation; made by the CLI, passed down.

    ``as_of`` is None until the run has resolved it; stages that work at a date get a
    context where it is set.
    """

    run_id: str
    started_at: dt.datetime
    as_of: dt.date | None = None

    @classmethod
    def start(cls) -> RunContext:
        return cls(run_id=uuid.uuid4().hex, started_at=dt.datetime.now(dt.timezone.utc))

    def at(self, as_of: dt.date) -> RunContext:
        return dataclasses.replace(self, as_of=as_of)


def day_after_micros(last_purchase_micros: int) -> dt.date:
    """The classic RFM reference date: the day after the last purchase (UTC), so that the
    latest buyers get recency 0. Micros, not a collected timestamp: pyspark would turn a
    timestamp into the driver's local time."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    last = epoch + dt.timedelta(microseconds=last_purchase_micros)
    return last.date() + dt.timedelta(days=1)


def resolve_as_of(spark: SparkSession, warehouse_root: str, configured: dt.date | None) -> dt.date:
    """The run's as_of: ``rfm.as_of`` when configured, else the day after the last clean
    purchase in ``transactions``. The one place that decides it, for every command."""
    if configured is not None:
        return configured
    transactions = delta_io.read_table(spark, warehouse_root, TRANSACTIONS.name)
    last = last_purchase_micros(transactions).first()[0]
    if last is None:
        raise NoPurchasesError(
            "transactions is empty: no purchase to take rfm.as_of from (ingest data first, "
            "or set rfm.as_of)"
        )
    return day_after_micros(last)
