"""The run's as_of: decided in one place, the same way for ``run`` and single stages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from custseg.layer1_core import tables
from custseg.layer1_core.config import replace
from custseg.layer2_io import delta_io
from custseg.layer2_io.run_context import RunContext
from custseg.layer2_io.schemas import table_schema
from custseg.layer4_commands import pipeline
from custseg.layer4_commands.as_of import NoPurchasesError, day_after_micros, resolve_as_of


def _transactions(spark, settings, times):
    rows = [
        {
            "customer_key": "a" * 64,
            "order_id": None,
            "item_id": "1",
            "item_name": "x",
            "quantity": 1,
            "unit_price": Decimal("1"),
            "amount": Decimal("1"),
            "is_return": False,
            "purchase_time": moment,
            "purchase_date": moment.date(),
            "purchase_month": moment.strftime("%Y-%m"),
            "source_file": "f.csv",
            "ingest_run_id": "r",
        }
        for moment in times
    ]
    frame = spark.createDataFrame(rows, table_schema(tables.TRANSACTIONS))
    delta_io.write_table(spark, settings.warehouse_root, tables.TRANSACTIONS, frame)


def test_day_after_the_last_purchase_in_utc():
    last = dt.datetime(2011, 12, 9, 23, 59, 59, tzinfo=dt.timezone.utc)
    micros = int(last.timestamp()) * 1_000_000
    assert day_after_micros(micros) == dt.date(2011, 12, 10)


def test_configured_as_of_wins_without_reading_any_table(spark, settings):
    configured = replace(settings, **{"rfm.as_of": "2011-06-01"})
    assert resolve_as_of(spark, configured.warehouse_root, configured.rfm.as_of) == dt.date(
        2011, 6, 1
    )


def test_default_is_the_day_after_the_last_clean_purchase(spark, settings):
    _transactions(spark, settings, [dt.datetime(2011, 3, 1, 10), dt.datetime(2011, 12, 9, 23, 30)])
    assert resolve_as_of(spark, settings.warehouse_root, None) == dt.date(2011, 12, 10)
    context = pipeline.with_as_of(spark, settings, RunContext.start())
    assert context.as_of == dt.date(2011, 12, 10)
    fixed = RunContext.start().at(dt.date(2011, 1, 1))
    assert pipeline.with_as_of(spark, settings, fixed) is fixed  # decided once, kept


def test_empty_transactions_name_the_way_out(spark, settings):
    _transactions(spark, settings, [])
    with pytest.raises(NoPurchasesError, match="set rfm.as_of"):
        resolve_as_of(spark, settings.warehouse_root, None)
