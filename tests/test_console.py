"""The console: log file routing, quiet and non-terminal output, and the progress poller."""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest

from custseg.layer1_core.config import ConfigError, Settings, replace
from custseg.layer2_io import console
from custseg.layer2_io.stage_summary import StageSummary, duration, largest, plural

LIB = Path(__file__).resolve().parents[1] / "lib"


@pytest.fixture
def root_logging():
    """The root logger as it was: these tests add the CLI's handlers and take them away."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    console.attach_log_file(None)
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_path_is_absolute_and_local(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert console.run_log_path("logs", "abc") == tmp_path / "logs" / "custseg-abc.log"
    assert console.run_log_path("file:///var/log/x", "abc") == Path("/var/log/x/custseg-abc.log")


def test_log_dir_on_a_cluster_file_system_is_a_config_error():
    assert Settings().logging.dir == "logs"
    with pytest.raises(ConfigError, match="logging.dir"):
        replace(Settings(), **{"logging.dir": "hdfs://nn/logs"})


@dataclasses.dataclass(frozen=True)
class _Scored(StageSummary):
    """A stage summary as the stages write theirs."""

    STAGE: ClassVar[str] = "rfm"
    OPTIONAL: ClassVar[tuple[str, ...]] = ("note",)

    customers: int
    segments: dict
    note: str | None = None

    def parts(self) -> list[str]:
        return [plural(self.customers, "customer"), f"{len(self.segments)} segments"]


SCORED = _Scored(customers=12345, segments={"Champions": 2, "Lost": 10})


def test_without_a_terminal_only_start_and_done_lines_are_printed():
    out = io.StringIO()
    shown = console.Console(console.NORMAL, out)
    assert not shown.draws_bars
    shown.stage_started("rfm")
    logging.getLogger("custseg").info("fit 1/2 kmeans k=2", extra={"progress": "fit 1/2"})
    shown.stage_done("rfm", SCORED, 46.8)
    lines = out.getvalue().splitlines()
    assert lines == ["[custseg] rfm started", "[custseg] rfm: 12,345 customers, 2 segments, 47 s"]


def test_the_readable_line_goes_to_the_console_and_the_whole_summary_to_the_log_file(
    tmp_path, root_logging
):
    out = io.StringIO()
    console.configure_logging(console.NORMAL, out)
    shown = console.Console(console.NORMAL, out)
    shown.open_log(str(tmp_path), "run0")
    shown.stage_started("rfm")
    shown.stage_done("rfm", SCORED, 125.2)
    shown.close()
    assert (
        out.getvalue().splitlines()[-1] == "[custseg] rfm: 12,345 customers, 2 segments, 2 min 5 s"
    )
    assert "Champions" not in out.getvalue()
    logged = (tmp_path / "custseg-run0.log").read_text()
    assert (
        'rfm done in 125.2 s: {"customers": 12345, "segments": {"Champions": 2, "Lost": 10}}'
        in logged
    )


def test_a_summary_as_a_dict_keeps_every_field_and_drops_optional_ones_left_none():
    assert SCORED.as_dict() == {"customers": 12345, "segments": {"Champions": 2, "Lost": 10}}
    noted = dataclasses.replace(SCORED, note="first run")
    assert noted.as_dict()["note"] == "first run"
    with pytest.raises(dataclasses.FrozenInstanceError):
        SCORED.customers = 1
    assert [duration(s) for s in (0.04, 9.96, 10.4, 59.4, 60, 3725)] == [
        "0.0 s",
        "10 s",
        "10 s",
        "59 s",
        "1 min 0 s",
        "62 min 5 s",
    ]
    assert largest({"b": 2, "a": 2, "c": 9, "d": 1}, shown=3) == "c 9, a 2, b 2, ..."


def test_quiet_prints_only_the_failure_and_where_the_log_is(tmp_path, root_logging):
    out = io.StringIO()
    console.configure_logging(console.QUIET, out)
    shown = console.Console(console.QUIET, out)
    shown.open_log(str(tmp_path), "run1")
    shown.stage_started("ingest")
    logging.getLogger("custseg").warning("a warning for the log file only")
    shown.stage_done("ingest", SCORED)
    shown.failed("custseg ingest failed: boom")
    assert out.getvalue().splitlines() == [
        "custseg ingest failed: boom",
        f"[custseg] log: {tmp_path / 'custseg-run1.log'}",
    ]
    shown.close()
    assert "a warning for the log file only" in (tmp_path / "custseg-run1.log").read_text()


def test_with_a_log_file_info_lines_leave_the_console(tmp_path, root_logging):
    out = io.StringIO()
    console.configure_logging(console.NORMAL, out)
    logging.getLogger("custseg").info("before the log file")
    shown = console.Console(console.NORMAL, out)
    shown.open_log(str(tmp_path), "run2")
    logging.getLogger("custseg").info("details")
    logging.getLogger("custseg").warning("look at this")
    shown.close()
    printed = out.getvalue()
    assert "before the log file" in printed and "look at this" in printed
    assert "details" not in printed
    assert printed.count("[custseg] log: ") == 1
    written = (tmp_path / "custseg-run2.log").read_text()
    assert "details" in written and "look at this" in written


def test_verbose_keeps_everything_on_the_console(tmp_path):
    shown = console.Console(console.VERBOSE, io.StringIO())
    assert shown.open_log(str(tmp_path), "run3") is None
    assert not list(tmp_path.iterdir())


def test_on_a_terminal_the_bar_shows_tasks_and_the_stage_steps(root_logging):
    console.configure_logging(console.NORMAL, io.StringIO())
    out = _Terminal()
    shown = console.Console(console.NORMAL, out)
    assert shown.draws_bars
    shown.stage_started("cluster")
    bar = shown._live[-1]
    bar.tasks(3, 8)
    logging.getLogger("custseg").info("fit", extra={"progress": "fit 7/18 kmeans k=8"})
    drawn = out.getvalue()
    console.step(logging.getLogger("custseg"), "write customer_clusters")
    stepped = out.getvalue()
    shown.stage_done("cluster", SCORED, 3.0)
    assert "cluster: " in drawn and "3/8 tasks" in drawn and "fit 7/18 kmeans k=8" in drawn
    assert "write customer_clusters" in stepped[len(drawn) :]
    assert out.getvalue().rstrip().splitlines()[-1] == "[custseg] " + SCORED.line(3.0)
    assert not shown._live


def test_the_poller_sees_the_tasks_of_a_running_job(spark):
    seen: list[tuple[int, int]] = []
    poller = console.TaskPoller(
        spark.sparkContext.statusTracker(), lambda *s: seen.append(s), interval=0.05
    )
    job = threading.Thread(
        target=lambda: (
            spark.sparkContext.parallelize(range(6), 6).map(lambda x: time.sleep(0.4) or x).count()
        )
    )
    poller.start()
    job.start()
    job.join(timeout=60)
    poller.stop()
    assert any(total == 6 for _, total in seen), seen
    assert all(0 <= done <= total for done, total in seen)


# Starts a JVM of its own with its output sent to a log file, and runs one job.
_LOGGED_SESSION = """
import sys
from pathlib import Path
from custseg.layer1_core.config import Settings, replace
from custseg.layer2_io.spark import get_spark
settings = replace(Settings(), **{"spark.master": "local[1]", "spark.driver_memory": "1g"})
spark = get_spark(settings, log_file=Path(sys.argv[1]))
print(spark.range(100).count())
"""


@pytest.mark.slow
def test_the_jvm_writes_to_the_log_file_not_the_console(tmp_path):
    log_file = tmp_path / "logs" / "custseg-x.log"
    done = subprocess.run(
        [sys.executable, "-c", _LOGGED_SESSION, str(log_file)],
        env={**os.environ, "PYTHONPATH": str(LIB)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "100"
    assert done.stderr.strip() == ""
    assert "log4j" in log_file.read_text()
