"""Checks before Spark: a missing key, input or segment map is one line within seconds.

The commands run in a fresh interpreter, as a user runs them, so that the test sees
whether anything on the way imported pyspark.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import custseg
from custseg.layer1_core.config import load_settings
from custseg.layer4_commands.preflight import command_problems, local_path, path_problems
from tests.conftest import TEST_HASH_KEY

LIB = Path(__file__).resolve().parents[1] / "lib"
KEY_ENV = "CUSTSEG_TEST_PREFLIGHT_KEY"
# Calls main() and then says on stderr whether pyspark was imported on the way.
RUN_MAIN = (
    "import sys; from custseg.layer4_commands.cli import main; rc = main(sys.argv[1:]); "
    "print('pyspark imported:', 'pyspark' in sys.modules, file=sys.stderr); sys.exit(rc)"
)
BROKEN_MAP = """\
bins: 5
segments:
  - {name: Everyone, r: "1-5", f: "1-4"}
"""


def _config(tmp_path: Path, *lines: str) -> Path:
    """A config whose key comes from KEY_ENV (set or not per test) and a missing key file."""
    base = [
        "pseudonym:",
        f"  key_env: {KEY_ENV}",
        f"  key_file: {tmp_path / 'missing.key'}",
    ]
    path = tmp_path / "conf.yaml"
    path.write_text("\n".join(base + list(lines)) + "\n")
    return path


def _cli(tmp_path: Path, *args: str, key: str | None = None) -> tuple[int, list[str], str, float]:
    """(exit code, stderr lines without the pyspark note, stdout, seconds); asserts that no
    pyspark module was imported."""
    env = {k: v for k, v in os.environ.items() if k not in (KEY_ENV, "CUSTSEG_HASH_KEY")}
    env["PYTHONPATH"] = str(LIB)
    if key is not None:
        env[KEY_ENV] = key
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", RUN_MAIN, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    seconds = time.monotonic() - started
    lines = done.stderr.strip().splitlines()
    assert lines[-1] == "pyspark imported: False", done.stderr
    return done.returncode, lines[:-1], done.stdout, seconds


def test_missing_key_file_is_one_line_within_seconds_and_without_pyspark(tmp_path):
    conf = _config(tmp_path, f"input: {{path: {tmp_path}}}")
    code, lines, _, seconds = _cli(tmp_path, "ingest", "--conf", str(conf))
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith("custseg ingest failed: hash key file")
    assert "pseudonym.key_file" in lines[0]
    assert seconds < 3


def test_short_key_is_refused_without_showing_it(tmp_path):
    conf = _config(tmp_path, f"input: {{path: {tmp_path}}}")
    code, lines, _, _ = _cli(tmp_path, "run", "--conf", str(conf), key="short-secret")
    assert code == 1 and "shorter than 16 bytes" in lines[0]
    assert "short-secret" not in "\n".join(lines)


def test_missing_input_path_names_input_path(tmp_path):
    conf = _config(tmp_path, "input: {path: exports/2024-*.csv}")
    code, lines, _, _ = _cli(tmp_path, "run", "--conf", str(conf), key=TEST_HASH_KEY)
    assert code == 1
    assert lines == [
        "custseg run failed: input.path exports/2024-*.csv does not exist "
        "(no file, folder or glob match)"
    ]


def test_bad_segment_map_is_a_config_problem_naming_the_file(tmp_path):
    segments = tmp_path / "segments.yaml"
    segments.write_text(BROKEN_MAP)
    conf = _config(tmp_path, f"rfm: {{segments_file: {segments}}}")
    code, lines, _, _ = _cli(tmp_path, "rfm", "--conf", str(conf))
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith(f"custseg rfm failed: segment map {segments}")
    assert "cells covered by no segment: R=5,F=5" in lines[0]


def test_validate_lists_every_problem_at_once(tmp_path):
    conf = _config(
        tmp_path,
        "input:",
        "  path: no/such/folder",
        "  profiles: {path: no/such/profiles.csv}",
    )
    code, lines, stdout, _ = _cli(tmp_path, "validate", "--conf", str(conf))
    assert code == 1 and stdout == ""
    assert [line.split(" ", 3)[2] for line in lines] == [
        "hash",
        "input.path",
        "input.profiles.path",
    ]
    assert all(line.startswith("custseg validate: ") for line in lines)


def test_validate_exits_2_when_one_problem_is_the_config(tmp_path):
    conf = _config(tmp_path, "input: {path: no/such/folder}")
    code, lines, _, _ = _cli(tmp_path, "validate", "--conf", str(conf), "--set", "rfm.bins=4")
    assert code == 2
    assert len(lines) == 3 and "rfm.bins is 4" in lines[0]
    assert "pseudonym.key_file" in lines[1] and "input.path no/such/folder" in lines[2]
    code, lines, _, _ = _cli(tmp_path, "validate", "--conf", str(conf), "--set", "rfm.bins=1")
    assert code == 2 and lines == [
        "custseg validate: config key 'rfm.bins' must be at least 2, got 1"
    ]


def test_validate_says_config_ok_when_all_checks_pass(tmp_path):
    (tmp_path / "data").mkdir()
    conf = _config(tmp_path, "input: {path: data}")
    code, lines, stdout, _ = _cli(tmp_path, "validate", "--conf", str(conf), key=TEST_HASH_KEY)
    assert (code, lines) == (0, [])
    assert stdout.startswith("custseg validate: config OK") and stdout.count("\n") == 1


def test_version_prints_the_package_version(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "custseg.layer4_commands.cli", "--version"],
        env={**os.environ, "PYTHONPATH": str(LIB)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout == f"custseg {custseg.__version__}\n"


def test_only_local_paths_are_checked(tmp_path):
    assert local_path("hdfs://nn/data/*.csv") is None
    assert local_path("s3a://bucket/data") is None
    assert local_path(f"file://{tmp_path}") == str(tmp_path)
    assert local_path("data/x.csv", plain_is_local=False) is None
    assert path_problems("s3a://bucket/missing", "input.path") == []
    assert path_problems(f"file://{tmp_path}/missing", "input.path") != []


def test_globs_and_literal_names_are_matched_as_ingest_reads_them(tmp_path):
    (tmp_path / "sales[2010].csv").write_text("x\n")
    (tmp_path / "a_2024.csv").write_text("x\n")
    assert path_problems(str(tmp_path / "sales[2010].csv"), "input.path") == []
    assert path_problems(str(tmp_path / "*_2024.csv"), "input.path") == []
    assert path_problems(str(tmp_path / "*_2023.csv"), "input.path") != []
    # Python's glob has no {a,b}: such a pattern only needs its folder to exist
    assert path_problems(str(tmp_path / "{a,b}_2024.csv"), "input.path") == []
    assert path_problems(str(tmp_path / "gone" / "{a,b}.csv"), "input.path") != []


def test_plain_paths_on_a_cluster_are_left_to_spark(tmp_path):
    conf = _config(tmp_path, "input: {path: /no/such/folder}", "spark: {master: yarn}")
    assert command_problems(load_settings(conf), "ingest").other == [
        f"hash key file {tmp_path / 'missing.key'} does not exist (pseudonym.key_file) "
        f"and the environment variable {KEY_ENV} is unset"
    ]
    assert command_problems(load_settings(conf), "cluster") == ([], [])
