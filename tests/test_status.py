"""``custseg status`` on small warehouses, and the ``runs`` record each CLI run appends:
stage times, outcome, the first error line, and a config text without secrets.

status reads a local warehouse with delta-rs (``DeltaLogReader``) and any other through
Spark (``SparkTableReader``); the tests hold the two to the same text.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from custseg.layer1_core import tables
from custseg.layer1_core.config import Settings, replace
from custseg.layer2_io import delta_io
from custseg.layer2_io.console import Console
from custseg.layer2_io.delta_log import DeltaLogReader
from custseg.layer2_io.locations import qualify
from custseg.layer2_io.run_context import RunContext
from custseg.layer2_io.spark_reader import SparkTableReader
from custseg.layer4_commands import cli, runner
from custseg.layer4_commands.run_log import REDACTED, RunRecord, RunTimes, config_text, record_run
from custseg.layer4_commands.status import NOT_WRITTEN, readable_size, status_text
from tests.conftest import TEST_HASH_KEY
from tests.report import warehouse_builder as wb

CSV_HEADER = "customer_id,item_id,item_name,unit_price,item_count,purchase_time\n"


@pytest.fixture(scope="module")
def built(spark, tmp_path_factory):
    """The report tests' hand-built warehouse, with kmeans_k4 flagged primary at LATEST."""
    root = tmp_path_factory.mktemp("status")
    settings = replace(
        Settings(),
        **{"warehouse": str(root / "warehouse"), "spark.shuffle_partitions": 2},
    )
    written = wb.build_warehouse(spark, settings)
    selection = [
        {**row, "is_primary": (row["algorithm"], row["k"]) == ("kmeans", 4)}
        for row in written["model_selection"]
    ]
    wb.write_rows(spark, settings, tables.MODEL_SELECTION, selection)
    return settings, written


@pytest.fixture(scope="module")
def purchases(tmp_path_factory):
    """Twelve customers' purchases in the default column layout."""
    folder = tmp_path_factory.mktemp("purchases")
    lines = [
        f"{1000 + c},{item},Item {item},{1.5 + c},{1 + item},2011-{1 + c % 11:02d}-{10 + item} 09:00:00\n"
        for c in range(12)
        for item in range(1 + c % 3)
    ]
    (folder / "2011.csv").write_text(CSV_HEADER + "".join(lines), encoding="utf-8")
    return folder


def _segments_per_as_of(rows):
    segments = defaultdict(set)
    for row in rows:
        segments[row["as_of"]].add(row["segment"])
    return segments


def test_status_counts_customers_per_as_of_and_lists_every_table(spark, built):
    settings, written = built
    text = status_text(DeltaLogReader(settings.warehouse_root))
    assert text == status_text(SparkTableReader(spark, settings.warehouse_root))
    lines = text.splitlines()
    segments = _segments_per_as_of(written["customer_rfm"])
    customers = {d: sum(r["as_of"] == d for r in written["customer_rfm"]) for d in segments}
    assert customers == {wb.EARLIER: 50, wb.LATEST: 55}
    for as_of, primary in ((wb.EARLIER, "-"), (wb.LATEST, "kmeans_k4")):
        expected = [as_of.isoformat(), str(customers[as_of]), str(len(segments[as_of])), primary]
        assert any(line.split(maxsplit=3) == expected for line in lines), text
    assert f"Last ingest runs (ingest_runs): {NOT_WRITTEN}" in lines
    table_lines = {line.split()[0]: line for line in lines[lines.index("Tables") + 2 :]}
    assert set(table_lines) == set(tables.ALL_TABLES)
    assert table_lines["transactions"].split(maxsplit=1)[1] == NOT_WRITTEN
    # version 0 is the table's creation, 1 the first write; model_selection was written twice
    assert re.fullmatch(r"customer_rfm +1 +\d+ +[\d.]+ (B|KB|MB)", table_lines["customer_rfm"])
    assert re.fullmatch(r"model_selection +2 +\d+ +.*", table_lines["model_selection"])


LIB = Path(__file__).resolve().parents[1] / "lib"

# ``custseg status`` in a fresh interpreter where importing pyspark, py4j or delta-spark
# fails: the JVM can only be started through them. Prints the blocked imports on stderr.
STATUS_WITHOUT_PYSPARK = """
import importlib.abc
import sys


class NoPyspark(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pyspark", "py4j", "delta"):
            print(f"blocked import: {name}", file=sys.stderr)
            raise ImportError(f"pyspark is blocked here: {name}")
        return None


sys.meta_path.insert(0, NoPyspark())
sys.path.insert(0, sys.argv[1])
from custseg.layer4_commands.cli import main

sys.exit(main(["status", "--set", "warehouse=" + sys.argv[2]]))
"""


def _status_without_pyspark(warehouse: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", STATUS_WITHOUT_PYSPARK, str(LIB), warehouse],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_status_of_a_local_warehouse_starts_no_jvm(spark, built):
    """The whole command, as a user runs it, on a plain path and on a file: URI: it never
    imports pyspark (so never starts a JVM) and prints what Spark reads."""
    settings, _ = built
    expected = status_text(SparkTableReader(spark, settings.warehouse_root))
    for warehouse in (settings.warehouse_root, f"file://{settings.warehouse_root}"):
        result = _status_without_pyspark(warehouse)
        assert result.returncode == 0, result.stderr
        assert "blocked import" not in result.stderr
        assert result.stdout == expected


def test_status_of_a_warehouse_only_spark_reaches_goes_through_spark():
    """The check above can fail: a warehouse delta-rs is not given (s3a://) takes the
    Spark path, which the blocker stops at its first pyspark import."""
    result = _status_without_pyspark("s3a://custseg-test-bucket/warehouse")
    assert result.returncode == cli.EXIT_FAILED
    assert "blocked import: pyspark" in result.stderr, result.stderr


def test_readable_size():
    assert [readable_size(n) for n in (0, 1023, 1024, 5 * 1024**2 + 1)] == [
        "0 B",
        "1023 B",
        "1.0 KB",
        "5.0 MB",
    ]


def test_config_text_keeps_key_names_and_drops_secrets(tmp_path):
    settings = replace(
        Settings(),
        **{
            "pseudonym.key_file": str(tmp_path / "hash.key"),
            "input.path": "jdbc:postgresql://reader:pa55word@db:5432/shop",
            "spark.conf": {
                "spark.hadoop.fs.s3a.secret.key": "s3cr3t",
                "spark.hadoop.fs.s3a.access.key": "AKIAEXAMPLE",
                "spark.executorEnv.CUSTSEG_HASH_KEY": TEST_HASH_KEY,
                "spark.sql.shuffle.partitions": "4",
            },
        },
    )
    text = config_text(settings)
    for secret in ("s3cr3t", "AKIAEXAMPLE", TEST_HASH_KEY, "pa55word"):
        assert secret not in text
    config = json.loads(text)
    assert config["pseudonym"] == {
        "key_env": "CUSTSEG_HASH_KEY",
        "key_file": str(tmp_path / "hash.key"),
    }
    assert config["spark"]["conf"]["spark.sql.shuffle.partitions"] == "4"
    assert config["spark"]["conf"]["spark.hadoop.fs.s3a.secret.key"] == REDACTED
    assert config["input"]["path"].startswith("jdbc:postgresql://reader:")


def _runs(spark, settings):
    return (
        delta_io.read_table(spark, settings.warehouse_root, "runs").orderBy("started_at").collect()
    )


def test_cli_runs_append_one_record_each(spark, purchases, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CUSTSEG_HASH_KEY", TEST_HASH_KEY)
    flags = [
        *("--set", f"warehouse={tmp_path / 'warehouse'}"),
        *("--set", f"input.path={purchases}"),
        *("--set", "spark.shuffle_partitions=2"),
    ]
    assert cli.main(["ingest", *flags]) == cli.EXIT_OK
    assert cli.main(["rfm", *flags, "--set", "rfm.as_of=2011-12-01"]) == cli.EXIT_OK
    settings = replace(Settings(), warehouse=str(tmp_path / "warehouse"))
    ingest, rfm = _runs(spark, settings)
    assert (ingest["command"], ingest["outcome"], ingest["as_of"], ingest["error"]) == (
        "ingest",
        "succeeded",
        None,
        None,
    )
    assert ingest["ingest_seconds"] > 0 and ingest["rfm_seconds"] is None
    assert (rfm["command"], rfm["outcome"], rfm["as_of"].isoformat()) == (
        "rfm",
        "succeeded",
        "2011-12-01",
    )
    assert rfm["rfm_seconds"] > 0 and rfm["ingest_seconds"] is None
    assert rfm["seconds_total"] >= rfm["rfm_seconds"]
    assert rfm["custseg_version"] == cli.package_version()
    for record in (ingest, rfm):
        assert TEST_HASH_KEY not in record["config"]
        assert json.loads(record["config"])["warehouse"].endswith("warehouse")
    ingest_run_id = delta_io.read_table(spark, settings.warehouse_root, "ingest_runs").first()[0]
    assert ingest_run_id == ingest["run_id"]

    capsys.readouterr()
    assert cli.main(["status", *flags]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert re.search(rf"{ingest_run_id} +1 +0 +{sum(1 + c % 3 for c in range(12))} ", out), out
    assert re.search(r"rfm +2011-12-01 +succeeded +[\d.]+ +" + rfm["run_id"], out), out
    assert re.search(r"ingest +- +succeeded", out), out
    assert "2011-12-01  12 " in out
    # read with delta-rs, the same text as through Spark (status before delta-rs)
    spark_root = qualify(spark, settings.warehouse_root)
    assert out == status_text(SparkTableReader(spark, spark_root))


def test_a_failed_run_records_its_error_line(spark, built, monkeypatch, capsys):
    settings, _ = built
    flags = ["--set", f"warehouse={settings.warehouse}", "--set", "rfm.as_of=2011-12-01"]
    assert cli.main(["rfm", *flags]) == cli.EXIT_FAILED  # no transactions in this warehouse
    error = capsys.readouterr().err
    (record,) = _runs(spark, settings)
    assert (record["command"], record["outcome"], record["as_of"]) == ("rfm", "failed", wb.LATEST)
    assert record["error"].startswith("TableNotFoundError: table 'transactions' not found")
    assert f"custseg rfm failed: {record['error']}" in error
    assert record["rfm_seconds"] is None and record["seconds_total"] > 0


def test_an_unwritable_warehouse_keeps_the_runs_own_error(spark, tmp_path, capsys, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the warehouse should be", encoding="utf-8")
    record = RunRecord("r-1", "rfm", dt.datetime(2026, 1, 1), RunTimes(), "{}", "0")
    assert record_run(spark, str(blocked), record) is False
    flags = ["--set", f"warehouse={blocked}", "--set", "rfm.as_of=2011-12-01"]
    assert cli.main(["rfm", *flags]) == cli.EXIT_FAILED
    error = capsys.readouterr().err
    assert "custseg rfm failed: TableNotFoundError: table 'transactions'" in error
    assert "not recorded in table runs" in caplog.text


def test_a_run_stopped_with_ctrl_c_is_recorded_as_interrupted(spark, settings):
    def stopped_by_the_user():
        raise KeyboardInterrupt

    run = runner.Invocation(
        "cluster", "cluster", spark, settings, RunContext.start(), RunTimes(), Console()
    )
    with pytest.raises(KeyboardInterrupt):
        runner.recorded(run, stopped_by_the_user)
    (record,) = _runs(spark, settings)
    assert (record["command"], record["outcome"]) == ("cluster", "failed")
    assert record["error"] == runner.INTERRUPTED
