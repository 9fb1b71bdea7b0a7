"""The as_of a run works at, decided once per run and handed to every stage.

Without ``rfm.as_of`` it is the day after the last clean purchase; reading that takes the
rfm stage's own reading of ``transactions``, so the decision lives above the stages.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import SparkSession

from custseg.layer1_core.tables import TRANSACTIONS
from custseg.layer2_io import delta_io
from custseg.layer3_stages.rfm.metrics import last_purchase_micros


class NoPurchasesError(ValueError):
    """No clean purchase to take a default as_of from: ingest first, or set rfm.as_of."""


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
