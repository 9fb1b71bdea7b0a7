"""``custseg <command> [options]``: the one entry point for the console script and for
``jobs/*.py`` under spark-submit.

Each command is an argparse subcommand with its own options and ``--help``; ``--conf``,
``--set``, ``--verbose``/``--quiet`` and ``--version`` are shared by all of them (and also
accepted before the command). ``run_command`` is the one runner of every command that starts
Spark: it loads the settings, runs the checks that need no Spark
(``custseg.layer4_commands.preflight``) and hands over to ``runner``, which starts the
session, does the command's work and appends the command's row to the ``runs`` table,
whether it succeeded or failed (all but ``status``, which writes nothing). Failures become one
clear line on stderr and a non-zero exit (the Java stack trace only with ``--verbose``).

Everything up to the Spark side stays free of pyspark imports, so ``--help``, ``validate`` and
a problem the checks find are answered within a second or two; so is ``status`` on a
warehouse on the local disk, which reads the Delta logs with delta-rs and starts no JVM.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from collections.abc import Sequence

from custseg.layer1_core.config import (
    ConfigError,
    Settings,
    load_packaged_settings,
    load_settings,
)
from custseg.layer1_core.file_formats import READ_FORMATS, WRITE_FORMATS, FileError, file_format
from custseg.layer2_io import console
from custseg.layer4_commands.preflight import command_problems
from custseg.layer4_commands.version import package_version

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

# Each command and the line ``custseg --help`` shows for it.
COMMANDS = {
    "ingest": "read new or changed input files into transactions (and the profile export)",
    "rfm": "score every customer's recency, frequency and monetary value at the as_of",
    "cluster": "fit the k sweep at the as_of, keep and name the clusters",
    "report": "write segments_current and the HTML report for the as_of",
    "run": "ingest, rfm, cluster and report in order, at one as_of",
    "score": "assign the as_of's customers to the saved models without refitting",
    "demo": "make a local key and demo data when missing, then run everything",
    "keys": "add customer_key to a file of your own (a CRM export)",
    "export": "write the customers of some segments to one file (a campaign list)",
    "validate": "check the config, key, input paths and segment map without Spark",
    "status": "list the warehouse's as_of dates, last runs and tables",
}
# ``demo`` without ``--conf`` runs on the packaged laptop config, from any working directory.
DEMO_CONFIG = "local.yaml"
# The checks before Spark of a command that are another command's: ``demo`` is checked as
# ``run`` once it has made its key and data.
CHECKED_AS = {"demo": "run"}
# The options of the top-level parser (before the command) are kept apart from the
# subcommand's own under this prefix, then merged: see ``_merge_shared``.
_TOP = "top_"

log = logging.getLogger("custseg")


def _iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _file_name(formats: dict[str, str]):
    """An argparse type: a file name whose extension is one of ``formats``, checked before
    Spark starts."""

    def checked(path: str) -> str:
        try:
            file_format(path, formats, "")
        except FileError as error:
            raise argparse.ArgumentTypeError(str(error).strip()) from None
        return path

    return checked


def shared_options(prefix: str = "") -> argparse.ArgumentParser:
    """The options every command takes, as a parent parser; ``prefix`` names their
    destinations (the top-level parser's copy)."""
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--version", action="version", version=f"custseg {package_version()}")
    shared.add_argument(
        "--conf", dest=f"{prefix}conf", metavar="FILE", help="YAML config file (default: built-in)"
    )
    shared.add_argument(
        "--set",
        dest=f"{prefix}overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set rfm.as_of=2011-12-10 (repeatable)",
    )
    loudness = shared.add_mutually_exclusive_group()
    loudness.add_argument(
        "--verbose",
        dest=f"{prefix}verbose",
        action="store_true",
        help="everything on the console: debug logging, Spark's own output, full tracebacks",
    )
    loudness.add_argument(
        "--quiet",
        dest=f"{prefix}quiet",
        action="store_true",
        help="only errors and the final lines (for schedulers)",
    )
    return shared


def _add_keys_options(command: argparse.ArgumentParser) -> None:
    options = command.add_argument_group("keys options")
    options.add_argument(
        "--in",
        dest="source",
        required=True,
        type=_file_name(READ_FORMATS),
        metavar="FILE",
        help="the file to key: CSV (with a header) or Parquet",
    )
    options.add_argument(
        "--id-column", dest="id_column", required=True, metavar="NAME", help="its customer id"
    )
    _add_out_option(options, "the .csv or .parquet to write: the file plus customer_key")


def _add_out_option(options, help_text: str) -> None:
    """``--out``, the file keys and export write; its extension names the format."""
    options.add_argument(
        "--out",
        dest="target",
        required=True,
        type=_file_name(WRITE_FORMATS),
        metavar="FILE",
        help=help_text,
    )


def _add_export_options(command: argparse.ArgumentParser) -> None:
    options = command.add_argument_group("export options")
    options.add_argument(
        "--segment",
        dest="segments",
        action="append",
        required=True,
        metavar="NAME",
        help="a segment to export (repeatable)",
    )
    _add_out_option(options, "the .csv or .parquet to write")
    options.add_argument("--cluster", metavar="NAME", help="only this cluster of the primary model")
    options.add_argument(
        "--as-of",
        dest="as_of",
        type=_iso_date,
        metavar="DATE",
        help="an earlier as_of (YYYY-MM-DD; default: the latest, segments_current's)",
    )


OWN_OPTIONS = {"keys": _add_keys_options, "export": _add_export_options}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="custseg",
        description="Customer segmentation on Spark and Delta Lake. "
        "'custseg <command> --help' lists a command's options.",
        parents=[shared_options(_TOP)],
    )
    commands = parser.add_subparsers(dest="command", metavar="command", required=True)
    shared = shared_options()
    for name, text in COMMANDS.items():
        command = commands.add_parser(name, help=text, description=text, parents=[shared])
        if name in OWN_OPTIONS:
            OWN_OPTIONS[name](command)
    return parser


def _merge_shared(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The shared options given before the command joined with those after it: a later
    ``--conf`` wins, ``--set`` adds up, and ``--verbose`` with ``--quiet`` is refused."""
    top = {name: vars(args).pop(_TOP + name) for name in ("conf", "overrides", "verbose", "quiet")}
    args.conf = args.conf if args.conf is not None else top["conf"]
    args.overrides = [*top["overrides"], *args.overrides]
    args.verbose = args.verbose or top["verbose"]
    args.quiet = args.quiet or top["quiet"]
    if args.verbose and args.quiet:
        parser.error("argument --quiet: not allowed with argument --verbose")


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments; usage errors (an option of another command, a missing or misnamed
    file) exit 2 here, before Spark starts."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _merge_shared(parser, args)
    return args


def console_mode(args: argparse.Namespace) -> str:
    if args.verbose:
        return console.VERBOSE
    return console.QUIET if args.quiet else console.NORMAL


def load_command_settings(command: str, conf: str | None, overrides: Sequence[str]) -> Settings:
    """The settings of this invocation; ``demo`` without ``--conf`` uses the packaged
    laptop config, so it works from any working directory."""
    if command == "demo" and conf is None:
        return load_packaged_settings(DEMO_CONFIG, list(overrides))
    return load_settings(conf, list(overrides))


class PreflightFailed(Exception):
    """A check before Spark failed; ``config`` marks a configuration problem (exit 2)."""

    def __init__(self, problem: str, config: bool):
        super().__init__(problem)
        self.config = config


def preflight(settings: Settings, command: str) -> None:
    """Stops at the first problem the checks for ``command`` find, before Spark starts."""
    problems = command_problems(settings, CHECKED_AS.get(command, command))
    if problems.all:
        raise PreflightFailed(problems.all[0], config=bool(problems.config))


def validate_command(conf: str | None, overrides: Sequence[str]) -> int:
    """Every problem the checks find, one per line on stderr; never starts Spark."""
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


def run_command(args: argparse.Namespace, shown: console.Console) -> None:
    """The one runner of every command but ``validate``: settings, the checks before Spark,
    then the Spark side (session, the command's work, its ``runs`` row). ``status`` of a
    warehouse on the local disk is answered here, without Spark.

    The only imports not at the top of a module are the three below: the demo data
    generator (pandas), delta-rs and the Spark side (pyspark) take a while to import, and
    ``custseg --help``, ``validate`` and a command its checks refuse answer without them.
    """
    settings = load_command_settings(args.command, args.conf, args.overrides)
    if args.command == "demo":
        from custseg.layer4_commands.demo import prepare_demo

        prepare_demo(settings)
    preflight(settings, args.command)
    if args.command == "status":
        from custseg.layer4_commands.status import status_without_spark

        if status_without_spark(settings, shown):
            return
    from custseg.layer4_commands import runner

    runner.run(args, settings, shown)


def _failed(args: argparse.Namespace, shown: console.Console, error: Exception) -> int:
    """The failure's one line (and its trace in the log file, or with --verbose); exit 2
    for a configuration error."""
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
    shown.failed(f"custseg {args.command} failed: {console.first_line(error)}")
    return EXIT_USAGE if isinstance(error, ConfigError) else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    mode = console_mode(args)
    console.configure_logging(mode)
    if args.command == "validate":
        return validate_command(args.conf, args.overrides)
    shown = console.Console(mode)
    try:
        run_command(args, shown)
    except PreflightFailed as failure:
        shown.failed(f"custseg {args.command} failed: {failure}")
        return EXIT_USAGE if failure.config else EXIT_FAILED
    except KeyboardInterrupt:
        shown.failed("custseg: interrupted")
        return EXIT_FAILED
    except Exception as error:  # noqa: BLE001 - the CLI's job is to turn any failure into one line
        return _failed(args, shown, error)
    finally:
        shown.close()
    return EXIT_OK


def job_main(stage: str, argv: Sequence[str] | None = None) -> int:
    """For ``jobs/<stage>.py``: the stage is fixed, the rest of argv is as for the CLI."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return main([stage, *argv])


if __name__ == "__main__":
    sys.exit(main())
