"""The Spark side of the CLI's one runner: every command that starts Spark goes through ``run``.

``run`` starts the session (and the run's log file when this process starts the JVM),
announces the warehouse, does the command's work and appends one row to the ``runs`` table
when the work ends: succeeded, failed with its error line, or interrupted with Ctrl-C. Only
``status`` is not recorded: it only reads, and a row per look would push the real runs out
of its own "last runs" list. It comes here only for a warehouse delta-rs is not given (not
on the local disk, ``custseg.layer2_io.delta_log``); a local one is answered without Spark.
The CLI reaches this module once the checks before Spark have passed (``cli.run_command``).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable

from pyspark.sql import SparkSession

from custseg.layer1_core.config import Settings
from custseg.layer2_io import console
from custseg.layer2_io.locations import display_location, qualified_settings
from custseg.layer2_io.run_context import RunContext
from custseg.layer2_io.spark import get_spark, starts_jvm
from custseg.layer2_io.spark_reader import SparkTableReader
from custseg.layer2_io.stage_summary import StageSummary
from custseg.layer4_commands import pipeline, run_log
from custseg.layer4_commands.export import export_segments
from custseg.layer4_commands.keys import key_file
from custseg.layer4_commands.status import status_text
from custseg.layer4_commands.version import package_version

# The error line of a run stopped with Ctrl-C (outcome failed).
INTERRUPTED = "interrupted (Ctrl-C)"
# ``demo`` prepares its key and data (before the checks), then is exactly ``run``: its session
# and console lines are run's; its ``runs`` row says demo.
RUNS_AS = {"demo": "run"}
# Commands that write nothing, so no ``runs`` row either.
NOT_RECORDED = frozenset({"status"})


@dataclasses.dataclass(frozen=True)
class Invocation:
    """One command on its way: what it is recorded as (``command``), what it runs
    (``work``: a stage, ``run``, ``keys``, ...), and what it runs with."""

    command: str
    work: str
    spark: SparkSession
    settings: Settings
    context: RunContext
    times: run_log.RunTimes
    shown: console.Console


def start_session(
    work: str, settings: Settings, shown: console.Console, run_id: str
) -> tuple[SparkSession, Settings]:
    """The SparkSession and the settings with their locations qualified, announced. The
    run's log file exists only when this process starts the JVM (not under spark-submit)."""
    if starts_jvm():
        shown.open_log(settings.logging.dir, run_id)
    spark = get_spark(settings, app_name=f"custseg-{work}", log_file=shown.log_file)
    settings = qualified_settings(spark, settings)
    shown.say(f"{work}: warehouse {display_location(settings.warehouse_root)}")
    return spark, settings


def run(args: argparse.Namespace, settings: Settings, shown: console.Console) -> None:
    """``args.command`` with checked ``settings``: session, work, ``runs`` row."""
    command = args.command
    work = RUNS_AS.get(command, command)
    context, times = RunContext.start(), run_log.RunTimes()
    spark, settings = start_session(work, settings, shown, context.run_id)
    invocation = Invocation(command, work, spark, settings, context, times, shown)
    do = WORK[work]
    if command in NOT_RECORDED:
        do(invocation, args)
    else:
        recorded(invocation, lambda: do(invocation, args))


def recorded(run: Invocation, work: Callable[[], object]) -> object:
    """``work()``, with one row appended to ``runs`` when it ends, succeeded or failed; the
    run's own error is raised again (recording never replaces it)."""

    def record(error: str | None) -> None:
        config = run_log.config_text(run.settings)
        row = run_log.RunRecord(
            run.context.run_id,
            run.command,
            run.context.started_at,
            run.times,
            config,
            package_version(),
            error,
        )
        run_log.record_run(run.spark, run.settings.warehouse_root, row)

    try:
        result = work()
    except KeyboardInterrupt:
        # pyspark cancels the running jobs on Ctrl-C and its JVM ignores SIGINT, so the
        # session still takes this last write (a second Ctrl-C abandons it)
        record(INTERRUPTED)
        raise
    except Exception as error:
        record(console.first_line(error))
        raise
    record(None)
    return result


def _stage_done(run: Invocation, stage: str, seconds: float, summary: StageSummary) -> None:
    """The stage's time and as_of for the ``runs`` row, its line on the console."""
    run.times.stage_done(stage, seconds, summary.as_dict())
    run.shown.stage_done(stage, summary, seconds)


def one_stage(run: Invocation, args: argparse.Namespace) -> None:
    """One stage; its as_of is resolved first, so that a failed stage still records it."""
    context = pipeline.command_context(run.spark, run.settings, run.context, run.work)
    run.times.note_as_of(context.as_of)
    run.shown.stage_started(run.work, run.spark.sparkContext.statusTracker())
    started = time.monotonic()
    summary = pipeline.run_stage(run.spark, run.settings, context, run.work)
    _stage_done(run, run.work, time.monotonic() - started, summary)


def all_stages(run: Invocation, args: argparse.Namespace) -> None:
    """Every stage; each one's wall time is measured here (not every summary has one)."""
    tracker = run.spark.sparkContext.statusTracker()
    started = time.monotonic()

    def starting(stage: str) -> None:
        nonlocal started
        started = time.monotonic()
        run.shown.stage_started(stage, tracker)

    def finished(stage: str, summary: StageSummary) -> None:
        _stage_done(run, stage, time.monotonic() - started, summary)

    summaries = pipeline.run_all(
        run.spark, run.settings, run.context, on_start=starting, on_stage=finished
    )
    print(f"Delta tables: {display_location(run.settings.warehouse_root)}")
    print(f"Report: {summaries['report'].report_path}")


def keys(run: Invocation, args: argparse.Namespace) -> None:
    """``keys``: one line on stdout says what was written; the key is never printed."""
    result = key_file(run.spark, run.settings, args.source, args.id_column, args.target)
    print(
        f"custseg keys: {result.rows} row(s) written to {display_location(result.output)}, "
        f"{result.without_key} without a usable customer id (customer_key empty)"
    )


def export(run: Invocation, args: argparse.Namespace) -> None:
    """``export``: one line on stdout says how many customers were written, of what."""
    result = export_segments(
        run.spark, run.settings, args.segments, args.target, cluster=args.cluster, as_of=args.as_of
    )
    run.times.note_as_of(result.as_of)
    of_cluster = f", cluster {result.cluster}" if result.cluster else ""
    print(
        f"custseg export: {result.rows} customer(s) written to "
        f"{display_location(result.output)} (as_of {result.as_of.isoformat()}, "
        f"segments {', '.join(result.segments)}{of_cluster})"
    )


def status(run: Invocation, args: argparse.Namespace) -> None:
    """``status`` of a warehouse only Spark reaches: reads small aggregates of the tables
    (never customer rows), needs no key and writes nothing, so it is safe next to a
    running job."""
    tables = SparkTableReader(run.spark, run.settings.warehouse_root)
    print(status_text(tables), end="")


# What each command does once its session is up (``demo`` runs as ``run``).
WORK: dict[str, Callable[[Invocation, argparse.Namespace], None]] = {
    **dict.fromkeys(pipeline.COMMANDS, one_stage),
    "run": all_stages,
    "keys": keys,
    "export": export,
    "status": status,
}
