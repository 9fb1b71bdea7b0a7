"""The CLI's subcommands: each lists only its own options (and the shared ones) under
``--help``, options of another command are usage errors, and the shared options work before
or after the command, as ``jobs/*.py`` pass them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from custseg.layer4_commands import cli, runner

LIB = Path(__file__).resolve().parents[1] / "lib"
SHARED = ("--conf", "--set", "--verbose", "--quiet", "--version")
OWN = {
    "keys": ("--in", "--id-column", "--out"),
    "export": ("--segment", "--out", "--cluster", "--as-of"),
}
EVERY_OWN = {option for options in OWN.values() for option in options}


def _help(command: str, capsys) -> str:
    with pytest.raises(SystemExit) as done:
        cli.main([command, "--help"])
    assert done.value.code == cli.EXIT_OK
    return capsys.readouterr().out


def _options(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_every_command_has_its_own_help_with_only_its_options(command, capsys):
    text = _help(command, capsys)
    assert text.startswith(f"usage: custseg {command} ")
    assert cli.COMMANDS[command] in text
    assert _options(text) == {"--help", *SHARED, *OWN.get(command, ())}


def test_export_help_lists_export_options_and_no_other_commands(capsys):
    text = _help("export", capsys)
    assert "export options:" in text
    for foreign in ("--in", "--id-column"):
        assert foreign not in _options(text)


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == cli.EXIT_OK
    text = capsys.readouterr().out
    for command, line in cli.COMMANDS.items():
        assert re.search(rf"^ +{command} +{re.escape(line.split()[0])}", text, re.M), command
    assert not _options(text) & EVERY_OWN


@pytest.mark.parametrize(
    "argv",
    [
        ["ingest", "--in", "crm.csv"],
        ["rfm", "--segment", "At Risk"],
        ["export", "--segment", "At Risk", "--out", "a.csv", "--id-column", "Id"],
        ["keys", "--in", "crm.csv", "--id-column", "Id"],  # --out missing
        ["export", "--out", "a.csv"],  # --segment missing
        ["export", "--segment", "At Risk", "--out", "a.xlsx"],
        ["keys", "--in", "crm.txt", "--id-column", "Id", "--out", "k.csv"],
        ["--verbose", "ingest", "--quiet"],
        [],
        ["nonsense"],
    ],
)
def test_usage_errors_exit_2_before_anything_runs(argv, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(argv)
    assert done.value.code == cli.EXIT_USAGE
    assert "error:" in capsys.readouterr().err


def test_shared_options_are_taken_before_and_after_the_command():
    args = cli.parse_arguments(
        [
            "--conf",
            "a.yaml",
            "--set",
            "rfm.bins=4",
            "--quiet",
            "rfm",
            "--set",
            "rfm.as_of=2021-01-01",
        ]
    )
    assert (args.command, args.conf, args.quiet, args.verbose) == ("rfm", "a.yaml", True, False)
    assert args.overrides == ["rfm.bins=4", "rfm.as_of=2021-01-01"]
    later = cli.parse_arguments(["--conf", "a.yaml", "cluster", "--conf", "b.yaml"])
    assert (later.conf, later.overrides) == ("b.yaml", [])
    assert not any(name.startswith("top_") for name in vars(later))


def test_command_options_reach_the_runner():
    args = cli.parse_arguments(
        [
            "export",
            "--segment",
            "A",
            "--segment",
            "B",
            "--out",
            "x.parquet",
            "--as-of",
            "2011-12-01",
        ]
    )
    assert (args.segments, args.target, args.cluster, args.as_of.isoformat()) == (
        ["A", "B"],
        "x.parquet",
        None,
        "2011-12-01",
    )
    keys = cli.parse_arguments(["keys", "--in", "c.csv.gz", "--id-column", "No", "--out", "k.csv"])
    assert (keys.source, keys.id_column, keys.target) == ("c.csv.gz", "No", "k.csv")


def test_every_command_but_validate_has_its_work_and_only_status_goes_unrecorded():
    assert set(cli.COMMANDS) - {"validate"} == set(runner.WORK) | set(runner.RUNS_AS)
    assert set(runner.NOT_RECORDED) == {"status"}


def test_job_main_puts_the_stage_first(monkeypatch):
    seen = []
    monkeypatch.setattr(cli, "main", lambda argv: seen.append(argv) or 0)
    assert cli.job_main("cluster", ["--conf", "c.yaml"]) == 0
    assert seen == [["cluster", "--conf", "c.yaml"]]


def test_help_imports_no_pyspark():
    code = (
        "import sys\n"
        "from custseg.layer4_commands.cli import main\n"
        "try:\n"
        "    main(['export', '--help'])\n"
        "except SystemExit as done:\n"
        "    print('exit', done.code, 'pyspark' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(LIB)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stderr.strip() == "exit 0 False", done.stderr
    assert "--segment" in done.stdout
