"""Faults a nightly job meets, each recovered exactly: a task that fails once, a run killed
between two tables' commits of the rfm and cluster stages, and runs racing each other.

The ingest stage's own kill test is in tests/ingest/test_ingest_recovery.py. Every check
compares whole warehouses with ``custseg.tables.compare`` against runs without the fault.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from custseg import delta_io, pipeline
from custseg.config import load_settings
from custseg.demo import generate_transactions
from custseg.run_context import RunContext
from custseg.tables.compare import compare_warehouses, unmatched_rows

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
LOCAL_CONFIG = REPO / "lib" / "custseg" / "defaults" / "local.yaml"
KEY = "fault-test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    generate_transactions(root / "raw", customers=250, months=3, seed=11)
    overrides = [
        f"input.path={root / 'raw'}",
        "pseudonym.key_file=null",
        "rfm.as_of=2021-04-01",
        "clustering.k_range=[2,3]",
        "clustering.k=[3]",
        "clustering.partitions=2",
        "spark.shuffle_partitions=2",
    ]
    return root, overrides


def _settings(overrides: list[str], warehouse: Path, *more: str):
    return load_settings(LOCAL_CONFIG, [*overrides, f"warehouse={warehouse}", *more])


def _run_in_process(spark, settings, stages: tuple[str, ...]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CUSTSEG_HASH_KEY", KEY)
        for stage in stages:
            pipeline.run_stage(
                spark, settings, RunContext(f"ref-{stage}", dt.datetime(2026, 1, 1)), stage
            )


@pytest.fixture(scope="module")
def reference(spark, inputs):
    """ingest, rfm and cluster without any fault."""
    root, overrides = inputs
    warehouse = root / "reference"
    _run_in_process(spark, _settings(overrides, warehouse), ("ingest", "rfm", "cluster"))
    return warehouse


def _command(stage: str, overrides: list[str], warehouse: Path, *more: str) -> list[str]:
    flags = [f"warehouse={warehouse}", f"report.path={warehouse.parent / 'report'}", *more]
    sets = [arg for item in [*overrides, *flags] for arg in ("--set", item)]
    return [sys.executable, "-m", "custseg.cli", stage, "--conf", str(LOCAL_CONFIG), *sets]


def _env(**extra: str) -> dict:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "CUSTSEG_HASH_KEY": KEY, "PYTHONPATH": path, **extra}


def assert_same_warehouses(spark, first: Path, second: Path) -> None:
    results = compare_warehouses(spark, str(first), str(second))
    assert [r.name for r in results if not r.same] == []
    assert {"transactions", "customer_rfm", "customer_clusters"} <= {r.name for r in results}


def test_a_task_failing_once_is_retried_and_the_tables_are_exact(
    spark, inputs, reference, tmp_path
):
    """local[2,4] allows four attempts per task; the first Python task of the run (the
    keyed hash of the ids) dies with its worker, and the run must still be exact."""
    root, overrides = inputs
    marker, warehouse = tmp_path / "crashed", tmp_path / "retried"
    worker = json.dumps({"spark.python.daemon.module": "tests.fault_injection"})
    result = subprocess.run(
        _command("ingest", overrides, warehouse, "spark.master=local[2,4]", f"spark.conf={worker}"),
        env=_env(CUSTSEG_CRASH_ONCE_MARKER=str(marker)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert marker.exists(), "no Python worker ran, so nothing was injected"
    # Spark saw the attempt fail (and the run succeeded, so it ran the task again)
    assert "Python worker exited unexpectedly" in result.stderr
    _run_in_process(spark, _settings(overrides, warehouse), ("rfm", "cluster"))
    assert_same_warehouses(spark, warehouse, reference)


def _kill_after_first_commit(command: list[str], tables: list[Path], cwd: Path) -> None:
    """Starts ``command`` and kills its whole process group (driver and JVM) as soon as one
    of ``tables`` has its first data commit, i.e. between that table's commit and the next."""
    process = subprocess.Popen(
        command,
        env=_env(),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    markers = [table / "_delta_log" / f"{1:020d}.json" for table in tables]
    deadline = time.monotonic() + 600
    try:
        while not any(m.exists() for m in markers) and time.monotonic() < deadline:
            assert process.poll() is None, "the stage finished before it could be killed"
            time.sleep(0.05)
        assert any(m.exists() for m in markers), "no commit within 10 minutes"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)


@pytest.mark.parametrize(
    ("stage", "first_tables", "before", "after"),
    [
        ("rfm", ["customer_rfm"], ("ingest",), ("rfm", "cluster")),
        ("cluster", ["model_selection"], ("ingest", "rfm"), ("cluster",)),
    ],
)
def test_a_stage_killed_between_two_commits_is_completed_by_its_rerun(
    spark, inputs, reference, tmp_path, stage, first_tables, before, after
):
    """SIGKILL right after the stage's first table committed: every table is left at a
    committed version (Delta reads them), and running the stage again gives the tables of
    a run that was never killed."""
    root, overrides = inputs
    warehouse = tmp_path / "killed"
    settings = _settings(overrides, warehouse)
    _run_in_process(spark, settings, before)
    _kill_after_first_commit(
        _command(stage, overrides, warehouse), [warehouse / t for t in first_tables], tmp_path
    )
    for name in first_tables:
        assert delta_io.table_exists(spark, str(warehouse / name))
    _run_in_process(spark, settings, after)
    assert_same_warehouses(spark, warehouse, reference)


def test_concurrent_runs_of_different_and_equal_as_of_all_land(spark, inputs, tmp_path):
    """Three rfm runs at once, two of them for the same as_of: Delta lets one commit per
    table version through; the others write again on the new version (delta_io), so every
    run ends well and each as_of slice equals the slice a lone run writes. (Which earlier
    as_of a racing run's segment_transitions compare with depends on which commit it saw
    first, so that table is left out.)"""
    root, overrides = inputs
    warehouse, alone = tmp_path / "raced", tmp_path / "alone"
    for target in (warehouse, alone):
        _run_in_process(spark, _settings(overrides, target), ("ingest",))
    dates = ["2021-03-01", "2021-04-01", "2021-04-01"]
    processes = [
        subprocess.Popen(
            _command("rfm", overrides, warehouse, f"rfm.as_of={as_of}"),
            env=_env(),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for as_of in dates
    ]
    errors = [process.communicate(timeout=900)[1] for process in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], [e[-2000:] for e in errors]
    for as_of in sorted(set(dates)):
        _run_in_process(spark, _settings(overrides, alone, f"rfm.as_of={as_of}"), ("rfm",))
    for name in ("customer_rfm", "segment_summary", "score_edges"):
        raced = delta_io.read_table(spark, str(warehouse), name)
        lone = delta_io.read_table(spark, str(alone), name)
        assert raced.count() == lone.count() and unmatched_rows(raced, lone) == 0, name
