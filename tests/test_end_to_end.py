"""`custseg run` on generated data, then every table read back by Spark and by delta-rs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from deltalake import DeltaTable

from custseg.layer1_core import tables
from custseg.layer1_core.config import load_settings
from custseg.layer2_io import delta_io
from custseg.layer4_commands import cli
from custseg.layer4_commands.demo import generate_transactions

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def finished_run(spark, tmp_path_factory):
    """One full pipeline run on a small generated data set, shared by this module's tests."""
    root = tmp_path_factory.mktemp("e2e")
    generate_transactions(root / "raw", customers=600, months=6, seed=3)
    key_file = root / "hash.key"
    key_file.write_text("end-to-end-test-key-0123456789\n")
    overrides = [
        f"warehouse={root / 'warehouse'}",
        f"input.path={root / 'raw'}",
        f"pseudonym.key_file={key_file}",
        "pseudonym.key_env=CUSTSEG_E2E_UNSET_KEY",
        f"report.path={root / 'reports'}",
        "clustering.k_range=[2,5]",
        "spark.shuffle_partitions=2",
        "clustering.partitions=2",
    ]
    flags = [arg for override in overrides for arg in ("--set", override)]
    conf = ["--conf", str(REPO / "lib" / "custseg" / "defaults" / "local.yaml")]
    # an earlier as_of first, so the full run also has segment transitions to write
    assert cli.main(["ingest", *conf, *flags]) == 0
    assert cli.main(["rfm", *conf, *flags, "--set", "rfm.as_of=2021-04-01"]) == 0
    assert cli.main(["run", *conf, *flags]) == 0
    return load_settings(REPO / "lib" / "custseg" / "defaults" / "local.yaml", overrides)


def test_every_table_is_written_and_readable_without_spark(spark, finished_run):
    for name, spec in tables.ALL_TABLES.items():
        if name == tables.CUSTOMER_PROFILES.name:  # written only with input.profiles
            continue
        path = finished_run.table_path(name)
        assert delta_io.table_exists(spark, path), f"{name} was not written"
        spark_rows = spark.read.format("delta").load(path).count()
        arrow = DeltaTable(path).to_pyarrow_table()
        assert arrow.num_rows == spark_rows, name
        assert arrow.column_names == spec.column_names, name
    # ingest_runs carries only one clean run, transactions has rows
    assert spark.read.format("delta").load(finished_run.table_path("transactions")).count() > 1000


def test_reconciliation_holds_for_the_run(spark, finished_run):
    runs = (
        spark.read.format("delta")
        .load(finished_run.table_path("ingest_runs"))
        .orderBy("started_at")
        .collect()
    )
    assert [r["files_read"] == [] for r in runs] == [
        False,
        True,
    ]  # the second ingest found nothing new
    run = runs[0]
    assert (
        run["rows_read"]
        == run["rows_written"] + run["rows_quarantined"] + run["duplicates_removed"]
    )
    written = spark.read.format("delta").load(finished_run.table_path("transactions")).count()
    quarantined = spark.read.format("delta").load(finished_run.table_path("quarantine")).count()
    assert (run["rows_written"], run["rows_quarantined"]) == (written, quarantined)


def test_customer_rfm_contract_columns(spark, finished_run):
    all_dates = spark.read.format("delta").load(finished_run.table_path("customer_rfm"))
    dates = sorted(r["as_of"].isoformat() for r in all_dates.select("as_of").distinct().collect())
    assert len(dates) == 2 and dates[0] == "2021-04-01"
    latest = dates[1]  # the day after the last purchase
    frame = all_dates.where(f"as_of = '{latest}'")
    for column in (
        "customer_key",
        "as_of",
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "segment",
    ):
        assert column in frame.columns
    customers = frame.select("customer_key").distinct().count()
    assert customers == frame.count()
    clusters = (
        spark.read.format("delta")
        .load(finished_run.table_path("customer_clusters"))
        .where(f"as_of = '{latest}'")
    )
    assert set(clusters.select("algorithm").distinct().toPandas()["algorithm"]) == {
        "kmeans",
        "bisecting_kmeans",
    }
    assert clusters.where("k = 4 AND algorithm = 'kmeans'").count() == customers


def test_cli_reports_bad_config_in_one_line_and_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rfm:\n  bins: five\n")
    result = subprocess.run(
        [sys.executable, "-m", "custseg.layer4_commands.cli", "rfm", "--conf", str(bad)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("custseg rfm failed: ConfigError: config key 'rfm.bins'")
    assert "Traceback" not in result.stderr


def test_cli_missing_input_names_the_path(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "custseg.layer4_commands.cli",
            "ingest",
            "--set",
            f"input.path={tmp_path / 'nowhere'}",
            "--set",
            f"warehouse={tmp_path / 'wh'}",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        env={**__import__("os").environ, "CUSTSEG_HASH_KEY": "cli-test-key-0123456789"},
    )
    assert result.returncode == 1
    assert "nowhere" in result.stderr.splitlines()[-1]
    assert "at org.apache" not in result.stderr


def test_spark_submit_runs_the_ingest_job(spark, tmp_path):
    """jobs/*.py under spark-submit (local master) through scripts/submit.sh, called from
    outside the repository with a relative warehouse (taken from the caller's folder)."""
    raw = tmp_path / "raw"
    generate_transactions(raw, customers=200, months=2, seed=5)
    result = subprocess.run(
        [
            "bash",
            str(REPO / "scripts" / "submit.sh"),
            "--master",
            "local[2]",
            "--conf",
            "spark.ui.enabled=false",
            str(REPO / "jobs" / "ingest.py"),
            "--conf",
            str(REPO / "lib" / "custseg" / "defaults" / "local.yaml"),
            "--set",
            "warehouse=wh",
            "--set",
            f"input.path={raw}",
            "--set",
            "pseudonym.key_file=null",
            "--verbose",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
        env={
            **__import__("os").environ,
            "CUSTSEG_HASH_KEY": "submit-test-key-0123456789",
        },
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "submit-test-key" not in result.stdout + result.stderr  # debug logs included
    run = spark.read.format("delta").load(str(tmp_path / "wh" / "ingest_runs")).first()
    assert run["rows_read"] > 1000
    assert (
        run["rows_read"]
        == run["rows_written"] + run["rows_quarantined"] + run["duplicates_removed"]
    )
