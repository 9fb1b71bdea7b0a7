"""What a run shows on the console, and where everything else goes.

Three modes: ``normal`` prints a few lines per stage (a progress bar on a terminal) and sends
Spark's, the JVM's and custseg's informational logging to one log file per run; ``quiet``
(for schedulers) prints only errors and the final lines; ``verbose`` prints everything on
the console, as custseg did before it had a log file. No pyspark import here: the CLI loads
this module before it knows whether Spark will start at all.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlparse

from custseg.layer2_io.stage_summary import StageSummary

QUIET = "quiet"
NORMAL = "normal"
VERBOSE = "verbose"
POLL_SECONDS = 0.5
_NOISY_LOGGERS = ("py4j", "matplotlib", "PIL")
_LOG_FORMAT = "%(asctime)s custseg %(levelname)s %(message)s"
# The console's level before a log file takes the informational lines (under spark-submit,
# or in a process whose Spark session exists already, there is none: they stay here).
_CONSOLE_LEVELS = {QUIET: logging.ERROR, NORMAL: logging.INFO, VERBOSE: logging.DEBUG}
_OURS = "custseg_handler"  # marks the handlers added here, so a second main() replaces them


def first_line(error: BaseException) -> str:
    """An error as one line, ``Type: message``: Spark errors carry the JVM trace after the
    first line."""
    text = str(error).strip() or type(error).__name__
    return f"{type(error).__name__}: {text.splitlines()[0]}"


def run_log_path(log_dir: str, run_id: str) -> Path:
    """``<logging.dir>/custseg-<run_id>.log``, absolute, so the path printed can be opened
    from any folder. A ``file:`` URI is taken as its path (validation refuses other URIs)."""
    folder = urlparse(log_dir).path if log_dir.startswith("file:") else log_dir
    return Path(folder).expanduser().absolute() / f"custseg-{run_id}.log"


def _replace_handler(kind: type, handler: logging.Handler | None) -> None:
    """Swaps our handler of ``kind`` on the root logger: the CLI's ``main`` runs more than
    once in one process (tests, notebooks) and must not print each line twice."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, None) is kind]:
        root.removeHandler(old)
        old.close()
    if handler is not None:
        setattr(handler, _OURS, kind)
        root.addHandler(handler)


def configure_logging(mode: str, stream: TextIO | None = None) -> None:
    """custseg's own logging on the console at the mode's level."""
    logging.getLogger().setLevel(logging.DEBUG if mode == VERBOSE else logging.INFO)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setLevel(_CONSOLE_LEVELS[mode])
    handler.setFormatter(logging.Formatter(_LOG_FORMAT, datefmt="%H:%M:%S"))
    _replace_handler(logging.StreamHandler, handler)
    for noisy in _NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def attach_log_file(path: Path | None) -> None:
    """custseg's informational logging to the run's log file, which the JVM appends to as
    well (both write with O_APPEND, so lines do not overwrite each other); the console keeps
    warnings and errors. ``None`` detaches the file again."""
    handler = None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setLevel(logging.INFO)
        handler.setFormatter(logging.Formatter(_LOG_FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
    _replace_handler(logging.FileHandler, handler)
    for console in logging.getLogger().handlers:
        if getattr(console, _OURS, None) is logging.StreamHandler and path is not None:
            console.setLevel(max(console.level, logging.WARNING))


def task_counts(tracker: Any) -> tuple[int, int]:
    """(completed, total) tasks of the stages running now, from Spark's status tracker.

    A stage can finish between the two calls (its info is then None): it is skipped.
    """
    done = total = 0
    for stage_id in tracker.getActiveStageIds():
        info = tracker.getStageInfo(stage_id)
        if info is not None:
            done += info.numCompletedTasks
            total += info.numTasks
    return done, total


class TaskPoller:
    """Samples ``task_counts`` every ``interval`` seconds from a daemon thread.

    Spark reports progress only when asked, so someone has to ask while the stage's own
    thread is blocked in a job. A daemon thread never keeps the process alive, and a failed
    sample (the JVM shutting down) ends the polling rather than the run.
    """

    def __init__(
        self, tracker: Any, on_sample: Callable[[int, int], None], interval: float = POLL_SECONDS
    ):
        self._tracker = tracker
        self._on_sample = on_sample
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="custseg-progress", daemon=True)

    def start(self) -> TaskPoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._on_sample(*task_counts(self._tracker))
            except Exception:  # noqa: BLE001 - progress must never fail the run
                logging.getLogger("custseg").debug("progress polling stopped", exc_info=True)
                return


def step(logger: logging.Logger, text: str, detail: str = "") -> None:
    """A stage's step ("write transactions"): a log line (``text`` and ``detail``), and
    ``text`` as the bar's text on a terminal."""
    logger.info("%s%s", text, detail, extra={"progress": text})


class _StepHandler(logging.Handler):
    """Hands a record's ``progress`` text (``extra={"progress": ...}``) to the bar, so a
    stage reports its own steps through the log line it writes anyway."""

    def __init__(self, on_step: Callable[[str], None]):
        super().__init__(logging.INFO)
        self._on_step = on_step

    def emit(self, record: logging.LogRecord) -> None:
        step = getattr(record, "progress", None)
        if step:
            self._on_step(step)


class _Bar:
    """One stage's bar: tasks done/total of the running Spark stages, elapsed time, and the
    stage's latest step. Fed from two threads (poller, stage), hence the lock."""

    _FORMAT = "{desc}: {bar:24} {n}/{total} tasks {elapsed}{postfix}"

    def __init__(self, stage: str, stream: TextIO):
        from tqdm import tqdm

        self._lock = threading.Lock()
        self._bar = tqdm(
            total=0, desc=stage, file=stream, leave=False, bar_format=self._FORMAT, mininterval=0
        )

    def tasks(self, done: int, total: int) -> None:
        with self._lock:
            self._bar.total = total
            self._bar.n = min(done, total)
            self._bar.refresh()

    def step(self, text: str) -> None:
        with self._lock:
            self._bar.set_postfix_str(text, refresh=True)

    def close(self) -> None:
        with self._lock:
            self._bar.close()


class Console:
    """The run's console: start and done lines per stage, a bar while a stage runs on a
    terminal, the log file's path at the start and again after a failure.

    Bars only on a terminal in normal mode: in CI, a scheduler's log or a pipe, redrawn
    lines would be noise, so those get the start and done lines alone.
    """

    def __init__(self, mode: str = NORMAL, stream: TextIO | None = None):
        self.mode = mode
        self.stream = stream or sys.stderr
        self.log_file: Path | None = None
        self._stage: tuple[str, float] | None = None
        self._live: list[Any] = []  # poller, bar and step handler of the running stage

    @property
    def draws_bars(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return self.mode == NORMAL and bool(isatty and isatty())

    def say(self, text: str) -> None:
        """One ``[custseg]`` line, unless quiet."""
        if self.mode != QUIET:
            print(f"[custseg] {text}", file=self.stream, flush=True)

    def open_log(self, log_dir: str, run_id: str) -> Path | None:
        """The run's log file, announced; none with --verbose (everything stays on the
        console there)."""
        if self.mode == VERBOSE:
            return None
        self.log_file = run_log_path(log_dir, run_id)
        attach_log_file(self.log_file)
        self.say(f"log: {self.log_file}")
        return self.log_file

    def stage_started(self, name: str, tracker: Any = None) -> None:
        self.stop_progress()
        self._stage = (name, time.monotonic())
        if not self.draws_bars:
            self.say(f"{name} started")
            return
        bar = _Bar(name, self.stream)
        handler = _StepHandler(bar.step)
        logging.getLogger("custseg").addHandler(handler)
        self._live = [handler, bar]
        if tracker is not None:
            self._live.insert(0, TaskPoller(tracker, bar.tasks).start())

    def stage_done(self, name: str, summary: StageSummary, seconds: float | None = None) -> None:
        """The stage's readable line, ``[custseg] ingest: 235,616 lines read, ..., 50 s``;
        the whole summary goes to the log (the log file, when the run has one). ``seconds``
        is the stage's wall time as the caller measured it (default: since its start line)."""
        self.stop_progress()
        started = self._stage[1] if self._stage else time.monotonic()
        self._stage = None
        if seconds is None:
            seconds = time.monotonic() - started
        self.say(summary.line(seconds))
        full = json.dumps(summary.as_dict(), default=str, sort_keys=True)
        logging.getLogger("custseg").info("%s done in %.1f s: %s", name, seconds, full)

    def failed(self, line: str) -> None:
        """The failure's one line, always printed (quiet too), and where the details are."""
        self.stop_progress()
        print(line, file=self.stream, flush=True)
        if self.log_file is not None:
            print(f"[custseg] log: {self.log_file}", file=self.stream, flush=True)

    def close(self) -> None:
        """Progress stopped and the log file detached: the run is over."""
        self.stop_progress()
        if self.log_file is not None:
            attach_log_file(None)

    def stop_progress(self) -> None:
        """Stops the poller before the bar closes, so no sample redraws a closed bar."""
        for part in self._live:
            if isinstance(part, TaskPoller):
                part.stop()
            elif isinstance(part, logging.Handler):
                logging.getLogger("custseg").removeHandler(part)
            else:
                part.close()
        self._live = []
