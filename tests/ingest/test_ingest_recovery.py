"""A killed ingest leaves committed tables, and the re-run completes them exactly once;
the UCI Online Retail export ingests with the shipped example mapping."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from chispa import assert_df_equality

from custseg import delta_io
from custseg.config import load_settings
from custseg.demo import generate_transactions
from custseg.run_context import RunContext

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
UCI = REPO.parent / "shared" / "data" / "online_retail.csv.gz"
KEY = "recovery-test-key-0123456789abcdef"


def _ingest_command(warehouse: Path, raw: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "custseg.cli",
        "ingest",
        "--conf",
        str(REPO / "lib" / "custseg" / "defaults" / "local.yaml"),
        "--set",
        f"warehouse={warehouse}",
        "--set",
        f"input.path={raw}",
        "--set",
        "pseudonym.key_file=null",
        "--set",
        "spark.shuffle_partitions=2",
    ]


def _env() -> dict:
    return {**os.environ, "CUSTSEG_HASH_KEY": KEY}


def test_killed_run_then_rerun_equals_a_clean_run(spark, tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    generate_transactions(raw, customers=500, months=3, seed=11)
    killed, clean = tmp_path / "killed", tmp_path / "clean"

    process = subprocess.Popen(
        _ingest_command(killed, raw),
        env=_env(),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    marker = killed / "transactions" / "_delta_log"
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert process.poll() is None, "ingest finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert not (killed / "ingest_runs").exists(), "the killed run must not have completed"

    for warehouse in (killed, clean):
        result = subprocess.run(
            _ingest_command(warehouse, raw),
            env=_env(),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 0, result.stderr[-2000:]

    def table(warehouse: Path, name: str):
        return spark.read.format("delta").load(str(warehouse / name)).drop("ingest_run_id")

    for name in ("transactions", "quarantine"):
        assert_df_equality(
            table(killed, name), table(clean, name), ignore_row_order=True, ignore_nullable=True
        )
    runs = spark.read.format("delta").load(str(killed / "ingest_runs")).collect()
    assert len(runs) == 1 and runs[0]["rows_read"] == (
        runs[0]["rows_written"] + runs[0]["rows_quarantined"] + runs[0]["duplicates_removed"]
    )


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

    from custseg import pipeline

    summary = pipeline.run_stage(
        spark, settings, RunContext("uci", dt.datetime(2026, 1, 1)), "ingest"
    )
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
