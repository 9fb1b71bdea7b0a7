"""Faults a nightly job meets, each recovered exactly: a run killed (SIGKILL) in each
stage's Delta writes, a task failing once, runs racing each other.

Every faulted warehouse is compared table by table (``custseg.layer2_io.table_compare``) with the
shared small run (tests/small_run.py), which ran once without any fault. A warehouse
"after ingest" or "after rfm" is the small run's tables of those stages, copied: Delta
tables are folders whose log names their files relatively.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from custseg.layer2_io import delta_io
from custseg.layer2_io.table_compare import unmatched_rows
from custseg.layer4_commands import cli
from tests.small_run import REPO

pytestmark = pytest.mark.slow

INGEST_TABLES = ("transactions", "quarantine", "ingest_files", "ingest_runs", "key_check")
RFM_TABLES = ("customer_rfm", "segment_summary", "score_edges", "segment_transitions")
CLUSTER_TABLES = (
    "customer_clusters",
    "model_selection",
    "model_comparison",
    "cluster_features",
    "cluster_profiles",
    "segment_cluster_crosstab",
)


def _copy_tables(source: Path, target: Path, names: tuple[str, ...]) -> Path:
    for name in names:
        if (source / name).exists():  # segment_transitions needs two as_of
            shutil.copytree(source / name, target / name)
    return target


def _differs(spark, first: Path, second: Path, name: str, dropped: tuple[str, ...]) -> bool:
    """Rows of either side without an equal row on the other; a table absent from both
    warehouses (segment_transitions before a second as_of) is equal."""
    tables = [delta_io.maybe_read_table(spark, str(root), name) for root in (first, second)]
    if None in tables:
        return tables != [None, None]
    return unmatched_rows(*(table.drop(*dropped) for table in tables)) > 0


def assert_same_tables(spark, first: Path, second: Path, names, *dropped: str) -> None:
    """Each named table has equal rows in both warehouses (run ids and times aside)."""
    assert [name for name in names if _differs(spark, first, second, name, dropped)] == []


def _command(small_run, stage: str, warehouse: Path, *more: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "custseg.layer4_commands.cli",
        *small_run.cli(stage, warehouse, *more),
    ]


def _env(**extra: str) -> dict:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **extra}


def _kill_when(command: list[str], commit_markers: list[Path], cwd: Path) -> None:
    """Starts ``command`` and SIGKILLs its process group (driver and JVM) as soon as one of
    ``commit_markers`` exists."""
    process = subprocess.Popen(
        command,
        env=_env(),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    try:
        while not any(m.exists() for m in commit_markers) and time.monotonic() < deadline:
            assert process.poll() is None, "the stage finished before it could be killed"
            time.sleep(0.05)
        assert any(m.exists() for m in commit_markers), "no commit within 10 minutes"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)


def _first_commit(warehouse: Path, table: str) -> Path:
    """The log entry of a table's first write after its creation (version 0)."""
    return warehouse / table / "_delta_log" / f"{1:020d}.json"


def test_ingest_killed_in_its_writes_is_completed_by_its_rerun(spark, small_run, tmp_path):
    """Killed once the transactions table appears (quarantine written, transactions being
    created or written, the file registry not yet): the re-run ingests exactly once."""
    warehouse = tmp_path / "killed"
    _kill_when(
        _command(small_run, "ingest", warehouse),
        [warehouse / "transactions" / "_delta_log"],
        tmp_path,
    )
    assert not (warehouse / "ingest_runs").exists(), "the killed run must not have completed"
    assert cli.main(small_run.cli("ingest", warehouse)) == 0
    assert_same_tables(spark, warehouse, small_run.warehouse, INGEST_TABLES)


@pytest.mark.parametrize(
    ("stage", "given", "first_table", "written"),
    [
        ("rfm", INGEST_TABLES, "customer_rfm", RFM_TABLES),
        ("cluster", INGEST_TABLES + RFM_TABLES, "model_selection", CLUSTER_TABLES),
    ],
)
def test_a_stage_killed_between_two_commits_is_completed_by_its_rerun(
    spark, small_run, tmp_path, stage, given, first_table, written
):
    """SIGKILL right after the stage's first table committed: every table reads at a
    committed version, and the stage run again writes the tables of a run never killed."""
    warehouse = _copy_tables(small_run.warehouse, tmp_path / "killed", given)
    _kill_when(
        _command(small_run, stage, warehouse), [_first_commit(warehouse, first_table)], tmp_path
    )
    for name in written:
        path = warehouse / name
        assert not path.exists() or delta_io.table_exists(spark, str(path)), name
    assert cli.main(small_run.cli(stage, warehouse)) == 0
    assert_same_tables(spark, warehouse, small_run.warehouse, given + written)


def _failed_tasks(events: Path) -> list[dict]:
    """Task ends of the run's event log (Spark 4 writes a folder) that were not successes."""
    ends = [
        json.loads(line)
        for log in sorted(p for p in events.rglob("events_*") if p.is_file())
        for line in log.read_text().splitlines()
        if '"SparkListenerTaskEnd"' in line
    ]
    return [e for e in ends if e["Task End Reason"]["Reason"] != "Success"]


def test_a_task_failing_once_is_retried_and_the_tables_are_exact(spark, small_run, tmp_path):
    """``local[2,4]`` allows four attempts per task. The first Python worker of the run
    (the keyed hash of the ids) dies before its task, once; the run must still write
    exactly the tables of the run without the fault."""
    marker, warehouse, events = tmp_path / "crashed", tmp_path / "retried", tmp_path / "events"
    events.mkdir()
    conf = {
        "spark.python.daemon.module": "tests.fault_injection",
        "spark.eventLog.enabled": "true",
        "spark.eventLog.compress": "false",
        "spark.eventLog.dir": f"file://{events}",
    }
    result = subprocess.run(
        _command(
            small_run,
            "ingest",
            warehouse,
            "spark.master=local[2,4]",
            f"spark.conf={json.dumps(conf)}",
        ),
        env=_env(CUSTSEG_CRASH_ONCE_MARKER=str(marker)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert marker.exists(), "no Python worker ran, so nothing was injected"
    assert len(_failed_tasks(events)) == 1, "the crash must fail exactly one task attempt"
    assert_same_tables(spark, warehouse, small_run.warehouse, INGEST_TABLES)


def _not_info(stderr: str) -> str:
    """The lines of a run's stderr that say what went wrong (Spark's INFO lines drown them)."""
    return "\n".join(line for line in stderr.splitlines() if " INFO " not in line)[-4000:]


def test_racing_runs_of_different_and_equal_as_of_all_land(spark, small_run, tmp_path):
    """Three rfm runs at once on one warehouse, two of them for the same as_of. Delta lets
    one commit per table version through; the others write again on the new version
    (``delta_io.write_table``), so all three end well and each as_of slice equals the slice
    a lone run writes. Which earlier as_of a racing run compares with depends on which
    commit it saw first, so ``previous_segment`` and segment_transitions are left out."""
    raced = _copy_tables(small_run.warehouse, tmp_path / "raced", INGEST_TABLES)
    alone = _copy_tables(small_run.warehouse, tmp_path / "alone", INGEST_TABLES)
    dates = ["2021-03-01", "2021-04-01", "2021-04-01"]
    processes = [
        subprocess.Popen(
            _command(small_run, "rfm", raced, f"rfm.as_of={as_of}"),
            env=_env(),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for as_of in dates
    ]
    errors = [process.communicate(timeout=900)[1] for process in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], [_not_info(e) for e in errors]
    for as_of in sorted(set(dates)):
        assert cli.main(small_run.cli("rfm", alone, f"rfm.as_of={as_of}")) == 0
    names = ("customer_rfm", "segment_summary", "score_edges")
    assert_same_tables(spark, raced, alone, names, "previous_segment")
    # the three runs raced to create the runs table too: the winner's commit holds its check
    assert "delta.constraints.valid_outcome" in delta_io.table_properties(spark, f"{raced}/runs")
