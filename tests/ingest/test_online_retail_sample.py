"""The UCI Online Retail export ingests with the shipped example mapping (a killed ingest
and its re-run: tests/test_faults.py)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from custseg.layer1_core.config import load_settings
from custseg.layer2_io import delta_io
from custseg.layer2_io.run_context import RunContext

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
UCI = REPO.parent / "shared" / "data" / "online_retail.csv.gz"
KEY = "recovery-test-key-0123456789abcdef"


def test_uci_online_retail_ingests_with_example_mapping(spark, tmp_path, monkeypatch):
    if not UCI.exists():
        pytest.fail(f"the UCI sample is expected beside the repository at {UCI}")
    sample = tmp_path / "online_retail_sample.csv.gz"
    with (
        gzip.open(UCI, "rt", encoding="utf-8") as source,
        gzip.open(sample, "wt", encoding="utf-8") as target,
    ):
        for number, line in enumerate(source):
            if number > 20000:
                break
            target.write(line)
    monkeypatch.setenv("CUSTSEG_HASH_KEY", KEY)
    settings = load_settings(
        REPO / "conf" / "examples" / "online_retail.yaml",
        [f"warehouse={tmp_path / 'wh'}", f"input.path={sample}", "spark.shuffle_partitions=2"],
    )
    import datetime as dt

    from custseg.layer4_commands import pipeline

    summary = pipeline.run_stage(
        spark, settings, RunContext("uci", dt.datetime(2026, 1, 1)), "ingest"
    ).as_dict()
    assert summary["rows_read"] == 20000
    assert (
        summary["rows_read"]
        == summary["rows_written"] + summary["rows_quarantined"] + summary["duplicates_removed"]
    )
    reasons = summary["quarantined_by_reason"]
    assert reasons["missing_customer_id"] > 1000 and reasons["cancellation"] > 100
    written = delta_io.read_table(spark, settings.warehouse_root, "transactions")
    assert written.where("order_id LIKE 'C%' OR quantity <= 0").count() == 0
    assert written.select("customer_key").distinct().count() == summary["distinct_customers"]
