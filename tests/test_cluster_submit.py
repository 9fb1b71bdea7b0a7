"""The whole pipeline submitted to a real Spark standalone cluster through scripts/submit.sh.

A master and two one-core workers run on 127.0.0.1 from the installed pyspark. The submitted
run uses a ``file://`` warehouse; its tables must equal those of a local-mode run of the
same data and config, its tasks must have run on both executors and none on the driver, and
its cluster stage, submitted again, must write the same tables when one worker is killed
while it runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyspark
import pytest

from custseg.layer2_io.table_compare import compare_warehouses, unmatched_rows
from tests.small_run import LOCAL_CONFIG, SMALL_RUN_KEY

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SPARK_HOME = Path(pyspark.__file__).resolve().parent
CLUSTER_ENV = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class StandaloneCluster:
    """A master and one-core workers, each in its own process group (a worker's executors
    are its children, so killing the group kills them too)."""

    def __init__(self, folder: Path, workers: int):
        self.folder, self.port, self.ui_port = folder, free_port(), free_port()
        self.master = self._start(
            "master",
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--webui-port",
            str(self.ui_port),
        )
        self.workers = [
            self._start(
                f"worker{i}",
                "org.apache.spark.deploy.worker.Worker",
                "--host",
                "127.0.0.1",
                "--cores",
                "1",
                "--memory",
                "1536m",
                "--webui-port",
                str(free_port()),
                "--work-dir",
                str(folder / f"worker{i}"),
                self.url,
            )
            for i in range(workers)
        ]
        self._wait_for_workers(workers)

    @property
    def url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def _start(self, name: str, main_class: str, *args: str) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("w")
        command = [str(SPARK_HOME / "bin" / "spark-class"), main_class, *args]
        return subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=CLUSTER_ENV, start_new_session=True
        )

    def alive_workers(self) -> int:
        url = f"http://127.0.0.1:{self.ui_port}/json/"
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(json.load(response)["aliveworkers"])

    def _wait_for_workers(self, expected: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.alive_workers() == expected:
                    return
            except OSError:
                pass
            time.sleep(1)
        raise RuntimeError(f"standalone cluster did not get {expected} workers; see {self.folder}")

    def kill_worker(self, index: int) -> None:
        os.killpg(self.workers[index].pid, signal.SIGKILL)

    def stop(self) -> None:
        for process in [*self.workers, self.master]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    running = StandaloneCluster(tmp_path_factory.mktemp("standalone"), workers=2)
    try:
        yield running
    finally:
        running.stop()


def _flags(overrides: list[str]) -> list[str]:
    return [arg for override in overrides for arg in ("--set", override)]


def submit(
    cluster: StandaloneCluster, small_run, name: str, job: str = "jobs/pipeline.py"
) -> subprocess.Popen:
    """Submits ``job`` on the warehouse ``<root>/submitted``; the event log goes to
    ``<root>/<name>-events``."""
    root, overrides = small_run.root, small_run.overrides
    events = root / f"{name}-events"
    events.mkdir()
    options = [
        "--master",
        cluster.url,
        "--total-executor-cores",
        "2",
        "--executor-cores",
        "1",
        "--executor-memory",
        "1g",
        "--driver-memory",
        "1g",
        "--conf",
        f"spark.pyspark.python={sys.executable}",  # the workers share this host
        "--conf",
        "spark.eventLog.enabled=true",
        "--conf",
        "spark.eventLog.compress=false",
        "--conf",
        f"spark.eventLog.dir=file://{events}",
        "--conf",
        "spark.ui.enabled=false",
        # tiny data: schedule at once on the free executor rather than wait 3 s for locality
        "--conf",
        "spark.locality.wait=0",
    ]
    job_args = _flags(
        [
            *overrides,
            f"warehouse=file://{root / 'submitted'}",
            f"report.path=file://{root / 'submitted-report'}",
        ]
    )
    command = [
        "bash",
        "scripts/submit.sh",
        *options,
        job,
        "--conf",
        str(LOCAL_CONFIG),
        *job_args,
    ]
    return subprocess.Popen(
        command,
        cwd=REPO,
        env=CLUSTER_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def events_of(folder: Path) -> list[dict]:
    """Every event of the run's (uncompressed) event log: Spark 4 writes a folder of files."""
    files = sorted(path for path in folder.rglob("events_*") if path.is_file())
    return [json.loads(line) for log in files for line in log.read_text().splitlines() if line]


def task_executors(events: list[dict]) -> dict[str, int]:
    """Tasks per executor id."""
    counts: dict[str, int] = {}
    for event in events:
        if event.get("Event") == "SparkListenerTaskEnd":
            executor = event["Task Info"]["Executor ID"]
            counts[executor] = counts.get(executor, 0) + 1
    return counts


def assert_same_as_local_mode(spark, small_run, submitted: str) -> None:
    """Every table of the submitted warehouse equals the local run's."""
    results = compare_warehouses(
        spark,
        f"file://{small_run.warehouse}",
        f"file://{small_run.root / submitted}",
        relative=1e-9,
    )
    assert len(results) >= 13, [r.name for r in results]
    assert [r.name for r in results if not r.same] == []


@pytest.fixture(scope="module")
def submitted_run(cluster, small_run) -> str:
    """The whole pipeline submitted to the cluster; returns its output."""
    process = submit(cluster, small_run, "submitted")
    try:
        output, _ = process.communicate(timeout=900)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output[-4000:]
    return output


def test_submitted_pipeline_runs_on_both_executors_and_equals_local_mode(
    spark, small_run, submitted_run
):
    root = small_run.root
    assert SMALL_RUN_KEY not in submitted_run
    executors = task_executors(events_of(root / "submitted-events"))
    assert "driver" not in executors
    assert len(executors) == 2 and min(executors.values()) > 0, executors
    assert_same_as_local_mode(spark, small_run, "submitted")
    assert (root / "submitted-report" / "2021-04-01" / "report.html").is_file()


def test_the_cluster_stage_survives_a_worker_killed_while_it_runs(
    spark, cluster, small_run, submitted_run
):
    """The cluster stage submitted again on the same warehouse (it rewrites its as_of),
    one worker killed once the stage has started: the tables must come out the same."""
    root = small_run.root
    process = submit(cluster, small_run, "worker-killed", job="jobs/cluster.py")
    lines, killed = [], False
    try:
        for line in process.stdout:
            lines.append(line)
            if not killed and "[custseg] cluster: warehouse" in line:
                time.sleep(10)  # into the fits
                cluster.kill_worker(1)
                killed = True
        process.wait(timeout=900)
    finally:
        if process.poll() is None:
            process.kill()
    assert killed, "".join(lines)[-4000:]
    assert process.returncode == 0, "".join(lines)[-4000:]
    removed = [
        event
        for event in events_of(root / "worker-killed-events")
        if event.get("Event") == "SparkListenerExecutorRemoved"
    ]
    assert removed, "no executor was lost: the kill came too late"
    assert_same_as_local_mode(spark, small_run, "submitted")


def test_the_score_stage_runs_on_the_cluster(spark, cluster, small_run, submitted_run):
    """jobs/score.py: the saved models of the submitted run assign the same customers to the
    same clusters as the cluster stage did (the last stage not yet submitted above)."""
    root = small_run.root
    warehouse = f"file://{root / 'submitted'}"
    before = spark.read.format("delta").load(f"{warehouse}/customer_clusters").localCheckpoint()
    process = submit(cluster, small_run, "scored", job="jobs/score.py")
    try:
        output, _ = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output[-4000:]
    assert "[custseg] score: as_of " in output  # its readable line
    after = spark.read.format("delta").load(f"{warehouse}/customer_clusters")
    assert before.count() > 0
    assert unmatched_rows(before, after) == 0
