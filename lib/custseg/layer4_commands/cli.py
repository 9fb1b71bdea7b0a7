"""``custseg {ingest,rfm,cluster,report,run,score,demo,keys,export,validate,status} --conf FILE [--set k=v]...``

The one entry point for the console script and for ``jobs/*.py`` under spark-submit.
It parses arguments, loads settings, runs the checks that need no Spark
(``custseg.layer4_commands.preflight``), gets the SparkSession, calls ``pipeline`` and turns failures into
one clear line on stderr and a non-zero exit (the Java stack trace only with
``--verbose``). Everything up to the SparkSession stays free of pyspark imports, so a
problem the checks find is reported within a second or two. Every command that got as far
as starting Spark (but ``status``, which only reads) appends one row to the ``runs`` table,
whether it succeeded or failed.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import functools
import logging
import sys
import time
from collections.abc import Sequence

from custseg.layer2_io import console

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

COMMANDS = (
    "ingest",
    "rfm",
    "cluster",
    "report",
    "run",
    "score",
    "demo",
    "keys",
    "export",
    "validate",
    "status",
)
# The arguments of ``keys`` (option, destination): all of them required there.
KEYS_OPTIONS = (("--in", "source"), ("--id-column", "id_column"), ("--out", "target"))
# The arguments of ``export``; the first two required there.
EXPORT_OPTIONS = (
    ("--segment", "segments"),
    ("--out", "target"),
    ("--cluster", "cluster"),
    ("--as-of", "as_of"),
)
# Each command's own options, refused for every other command.
COMMAND_OPTIONS = {"keys": KEYS_OPTIONS, "export": EXPORT_OPTIONS}
REQUIRED_OPTIONS = {"keys": KEYS_OPTIONS, "export": EXPORT_OPTIONS[:2]}

log = logging.getLogger("custseg")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="custseg", description="Customer segmentation on Spark and Delta Lake."
    )
    parser.add_argument(
        "command",
        choices=COMMANDS,
        help="stage to run; 'run' runs ingest, rfm, cluster, report in order; "
        "'demo' makes a local key and demo data, then runs everything; "
        "'keys' adds customer_key to a file of your own (a CRM export); "
        "'export' writes the customers of some segments to a file (a campaign list); "
        "'validate' checks the config, key, input paths and segment map without Spark; "
        "'status' lists the warehouse's as_of dates, last runs and tables",
    )
    parser.add_argument("--version", action="version", version=f"custseg {package_version()}")
    parser.add_argument("--conf", help="YAML config file (default: built-in defaults)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set rfm.as_of=2011-12-10 (repeatable)",
    )
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument(
        "--verbose",
        action="store_true",
        help="everything on the console: debug logging, Spark's own output, full tracebacks",
    )
    loudness.add_argument(
        "--quiet", action="store_true", help="only errors and the final lines (for schedulers)"
    )
    keys = parser.add_argument_group("keys", "custseg keys --in FILE --id-column NAME --out FILE")
    keys.add_argument("--in", dest="source", metavar="FILE", help="CSV (with header) or Parquet")
    keys.add_argument("--id-column", dest="id_column", metavar="NAME", help="its customer id")
    keys.add_argument(
        "--out", dest="target", metavar="FILE", help=".csv or .parquet to write (keys, export)"
    )
    export = parser.add_argument_group(
        "export",
        "custseg export --segment NAME [--segment NAME]... [--cluster NAME] [--as-of DATE] "
        "--out FILE",
    )
    export.add_argument(
        "--segment", dest="segments", action="append", metavar="NAME", help="(repeatable)"
    )
    export.add_argument("--cluster", metavar="NAME", help="only this cluster of the primary model")
    export.add_argument(
        "--as-of",
        dest="as_of",
        type=_iso_date,
        metavar="DATE",
        help="an earlier as_of (YYYY-MM-DD; default: the latest, segments_current's)",
    )
    return parser


def _iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def package_version() -> str:
    """The installed distribution's version; ``custseg.__version__`` (which setup.py reads
    too) when custseg runs from a source tree or a zip without package metadata."""
    from importlib import metadata

    try:
        return metadata.version("custseg")
    except metadata.PackageNotFoundError:
        from custseg import __version__

        return __version__


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments, with the options of ``keys`` and ``export`` required there and refused
    elsewhere; the file extensions are checked here too, before Spark starts (exit 2 on any)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    own = {option for option, _ in COMMAND_OPTIONS.get(args.command, ())}
    for option, dest in dict(KEYS_OPTIONS + EXPORT_OPTIONS).items():
        if getattr(args, dest) is not None and option not in own:
            owners = [c for c, options in COMMAND_OPTIONS.items() if option in dict(options)]
            parser.error(f"{option}: only for the {' and '.join(owners)} command")
    if args.command not in REQUIRED_OPTIONS:
        return args
    missing = [o for o, dest in REQUIRED_OPTIONS[args.command] if not getattr(args, dest)]
    if missing:
        parser.error(f"{args.command} needs {', '.join(missing)}")
    from custseg.layer1_core.file_formats import READ_FORMATS, WRITE_FORMATS, FileError, file_format

    try:
        if args.command == "keys":
            file_format(args.source, READ_FORMATS, "--in")
        file_format(args.target, WRITE_FORMATS, "--out")
    except FileError as error:
        parser.error(str(error))
    return args


def console_mode(args: argparse.Namespace) -> str:
    if args.verbose:
        return console.VERBOSE
    return console.QUIET if args.quiet else console.NORMAL


def _first_line(error: BaseException) -> str:
    """A one-line message: Spark errors carry the JVM trace after the first line."""
    text = str(error).strip() or type(error).__name__
    first = text.splitlines()[0]
    return f"{type(error).__name__}: {first}"


def load_command_settings(command: str, conf: str | None, overrides: Sequence[str]):
    """The settings of this invocation; ``demo`` without ``--conf`` uses the packaged
    laptop config, so it works from any working directory."""
    from custseg.layer1_core.config import load_packaged_settings, load_settings

    if command == "demo" and conf is None:
        from custseg.layer4_commands.demo import DEMO_CONFIG

        return load_packaged_settings(DEMO_CONFIG, list(overrides))
    return load_settings(conf, list(overrides))


class PreflightFailed(Exception):
    """A check before Spark failed; ``config`` marks a configuration problem (exit 2)."""

    def __init__(self, problem: str, config: bool):
        super().__init__(problem)
        self.config = config


def preflight(settings, command: str) -> None:
    """Stops at the first problem the checks for ``command`` find, before Spark starts."""
    from custseg.layer4_commands.preflight import command_problems

    problems = command_problems(settings, command)
    if problems.all:
        raise PreflightFailed(problems.all[0], config=bool(problems.config))


def validate_command(conf: str | None, overrides: Sequence[str]) -> int:
    """Every problem the checks find, one per line on stderr; never starts Spark."""
    from custseg.layer1_core.config import ConfigError
    from custseg.layer4_commands.preflight import command_problems

    try:
        settings = load_command_settings("validate", conf, overrides)
    except ConfigError as error:
        print(f"custseg validate: {error}", file=sys.stderr)
        return EXIT_USAGE
    problems = command_problems(settings, "validate")
    for problem in problems.all:
        print(f"custseg validate: {problem}", file=sys.stderr)
    if problems.all:
        return EXIT_USAGE if problems.config else EXIT_FAILED
    print(
        f"custseg validate: config OK ({conf or 'built-in defaults'}): hashing key, "
        f"input paths and segment map for rfm.bins={settings.rfm.bins} checked"
    )
    return EXIT_OK


def _session(command: str, settings, shown: console.Console, run_id: str):
    """The SparkSession and the settings with their locations qualified, announced. The
    run's log file exists only when this process starts the JVM (not under spark-submit)."""
    from custseg.layer2_io.locations import display_location, qualified_settings
    from custseg.layer2_io.spark import get_spark, starts_jvm

    if starts_jvm():
        shown.open_log(settings.logging.dir, run_id)
    spark = get_spark(settings, app_name=f"custseg-{command}", log_file=shown.log_file)
    settings = qualified_settings(spark, settings)
    shown.say(f"{command}: warehouse {display_location(settings.warehouse_root)}")
    return spark, settings


def run_keys(
    conf: str | None,
    overrides: Sequence[str],
    source: str,
    id_column: str,
    target: str,
    shown: console.Console,
) -> dict:
    """``keys``: one line on stdout says what was written; the key is never printed."""

    from custseg.layer2_io.locations import display_location
    from custseg.layer4_commands.keys import key_file

    settings = load_command_settings("keys", conf, overrides)
    preflight(settings, "keys")
    from custseg.layer2_io.run_context import RunContext
    from custseg.layer4_commands.run_log import RunTimes

    context, times = RunContext.start(), RunTimes()
    spark, settings = _session("keys", settings, shown, context.run_id)
    result = _recorded(
        "keys",
        (spark, settings, context, times),
        functools.partial(key_file, spark, settings, source, id_column, target),
    )
    print(
        f"custseg keys: {result.rows} row(s) written to {display_location(result.output)}, "
        f"{result.without_key} without a usable customer id (customer_key empty)"
    )
    return dataclasses.asdict(result)


def run_export(
    conf: str | None,
    overrides: Sequence[str],
    segments: Sequence[str],
    target: str,
    cluster: str | None,
    as_of: dt.date | None,
    shown: console.Console,
) -> dict:
    """``export``: one line on stdout says how many customers were written, of what."""
    from custseg.layer2_io.locations import display_location
    from custseg.layer2_io.run_context import RunContext
    from custseg.layer4_commands.export import export_segments

    settings = load_command_settings("export", conf, overrides)
    preflight(settings, "export")
    spark, settings = _session("export", settings, shown, RunContext.start().run_id)
    result = export_segments(spark, settings, segments, target, cluster=cluster, as_of=as_of)
    of_cluster = f", cluster {result.cluster}" if result.cluster else ""
    print(
        f"custseg export: {result.rows} customer(s) written to "
        f"{display_location(result.output)} (as_of {result.as_of.isoformat()}, "
        f"segments {', '.join(result.segments)}{of_cluster})"
    )
    return dataclasses.asdict(result)


# The error line of a run stopped with Ctrl-C (outcome failed).
INTERRUPTED = "interrupted (Ctrl-C)"


def _recorded(command: str, run: tuple, work):
    """``work()``, with one row appended to ``runs`` when it ends, succeeded or failed; the
    run's own error is raised again (recording never replaces it). ``run`` is (spark,
    settings, context, times) of the invocation."""
    from custseg.layer4_commands import run_log

    spark, settings, context, times = run

    def record(error: str | None) -> None:
        config = run_log.config_text(settings)
        record = run_log.RunRecord(
            context.run_id, command, context.started_at, times, config, package_version(), error
        )
        run_log.record_run(spark, settings.warehouse_root, record)

    try:
        result = work()
    except KeyboardInterrupt:
        # pyspark cancels the running jobs on Ctrl-C and its JVM ignores SIGINT, so the
        # session still takes this last write (a second Ctrl-C abandons it)
        record(INTERRUPTED)
        raise
    except Exception as error:
        record(_first_line(error))
        raise
    record(None)
    return result


def _run_one(spark, settings, context, times, command: str, shown: console.Console) -> dict:
    """One stage; its as_of is resolved first, so that a failed stage still records it."""
    from custseg.layer4_commands import pipeline

    context = pipeline.command_context(spark, settings, context, command)
    times.note_as_of(context.as_of)
    shown.stage_started(command, spark.sparkContext.statusTracker())
    started = time.monotonic()
    summary = pipeline.run_stage(spark, settings, context, command)
    times.stage_done(command, time.monotonic() - started, summary)
    shown.stage_done(command, summary)
    return summary


def _run_all(spark, settings, context, times, shown: console.Console) -> dict:
    """Every stage; each one's wall time is measured here (not every summary has one)."""
    from custseg.layer2_io.locations import display_location
    from custseg.layer4_commands import pipeline

    tracker = spark.sparkContext.statusTracker()
    started = time.monotonic()

    def starting(stage: str) -> None:
        nonlocal started
        started = time.monotonic()
        shown.stage_started(stage, tracker)

    def progress(stage: str, summary: dict) -> None:
        times.stage_done(stage, time.monotonic() - started, summary)
        shown.stage_done(stage, summary)

    summaries = pipeline.run_all(spark, settings, context, on_start=starting, on_stage=progress)
    print(f"Delta tables: {display_location(settings.warehouse_root)}")
    print(f"Report: {summaries['report'].get('report_path')}")
    return summaries


def run_command(
    command: str, conf: str | None, overrides: Sequence[str], shown: console.Console
) -> dict:
    """``demo`` prepares its key and data, then is exactly ``run`` (recorded as ``demo``)."""
    settings = load_command_settings(command, conf, overrides)
    stages = command
    if command == "demo":
        from custseg.layer4_commands.demo import prepare_demo

        prepare_demo(settings)
        stages = "run"
    preflight(settings, stages)
    from custseg.layer2_io.run_context import RunContext
    from custseg.layer4_commands.run_log import RunTimes

    context, times = RunContext.start(), RunTimes()
    spark, settings = _session(stages, settings, shown, context.run_id)
    run = (spark, settings, context, times)
    if stages == "run":
        work = functools.partial(_run_all, *run, shown)
    else:
        work = functools.partial(_run_one, *run, stages, shown)
    return _recorded(command, run, work)


def run_status(conf: str | None, overrides: Sequence[str], shown: console.Console) -> None:
    """``status``: reads small aggregates of the tables (never customer rows), needs no
    key and writes nothing, so it is safe next to a running job."""
    from custseg.layer2_io.run_context import RunContext
    from custseg.layer4_commands.status import status_text

    settings = load_command_settings("status", conf, overrides)
    spark, settings = _session("status", settings, shown, RunContext.start().run_id)
    print(status_text(spark, settings.warehouse_root), end="")


def _dispatch(args: argparse.Namespace, shown: console.Console) -> None:
    if args.command == "keys":
        run_keys(args.conf, args.overrides, args.source, args.id_column, args.target, shown)
    elif args.command == "export":
        run_export(
            args.conf,
            args.overrides,
            args.segments,
            args.target,
            args.cluster,
            args.as_of,
            shown,
        )
    elif args.command == "status":
        run_status(args.conf, args.overrides, shown)
    else:
        run_command(args.command, args.conf, args.overrides, shown)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    mode = console_mode(args)
    console.configure_logging(mode)
    if args.command == "validate":
        return validate_command(args.conf, args.overrides)
    shown = console.Console(mode)
    try:
        _dispatch(args, shown)
    except PreflightFailed as failure:
        shown.failed(f"custseg {args.command} failed: {failure}")
        return EXIT_USAGE if failure.config else EXIT_FAILED
    except KeyboardInterrupt:
        shown.failed("custseg: interrupted")
        return EXIT_FAILED
    except Exception as error:  # noqa: BLE001 - the CLI's job is to turn any failure into one line
        shown.stop_progress()
        # With a log file the trace goes there (the console handler shows errors only
        # with --verbose); without one, --verbose prints it as before.
        if args.verbose or shown.log_file is not None:
            log.log(
                logging.ERROR if args.verbose else logging.INFO,
                "custseg %s failed",
                args.command,
                exc_info=True,
            )
        shown.failed(f"custseg {args.command} failed: {_first_line(error)}")
        from custseg.layer1_core.config import ConfigError

        return EXIT_USAGE if isinstance(error, ConfigError) else EXIT_FAILED
    finally:
        shown.close()
    return EXIT_OK


def job_main(stage: str, argv: Sequence[str] | None = None) -> int:
    """For ``jobs/<stage>.py``: the stage is fixed, the rest of argv is as for the CLI."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return main([stage, *argv])


if __name__ == "__main__":
    sys.exit(main())
