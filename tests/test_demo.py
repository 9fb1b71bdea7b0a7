"""``custseg demo`` from an empty folder outside the repository: key and data are made
there, then the very run ``custseg run`` does writes one as_of into every table."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from custseg.layer1_core import tables

pytestmark = pytest.mark.slow

CUSTSEG = Path(sys.executable).with_name("custseg")
STAGE_LINE = tuple(f"[custseg] {stage}: " for stage in ("ingest", "rfm", "cluster", "report"))


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("empty_demo_folder")
    env = {k: v for k, v in os.environ.items() if k != "CUSTSEG_HASH_KEY"}
    done = subprocess.run(
        [
            str(CUSTSEG),
            "demo",
            "--set",
            "clustering.k_range=[3,5]",
            "--set",
            "spark.shuffle_partitions=2",
            "--set",
            "clustering.partitions=2",
        ],
        capture_output=True,
        text=True,
        cwd=folder,
        env=env,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return folder, done.stdout, done.stderr


def test_demo_prepares_its_inputs_in_the_working_directory(demo_folder):
    folder, stdout, _ = demo_folder
    assert (folder / ".secrets" / "hash.key").stat().st_mode & 0o077 == 0
    assert len(list((folder / "data" / "demo").glob("transactions_*.csv"))) == 12
    assert f"Delta tables: {folder / 'warehouse'}" in stdout.splitlines()
    report = Path(stdout.split("Report: ", 1)[1].split()[0])
    assert report.is_file() and report.is_relative_to(folder / "reports")


def test_the_console_shows_one_readable_line_per_stage_and_the_log_file_the_rest(demo_folder):
    folder, _, stderr = demo_folder
    stages = ("ingest", "rfm", "cluster", "report")
    done = [line for line in stderr.splitlines() if line.startswith(STAGE_LINE)]
    assert [line.split(":")[0] for line in done] == [f"[custseg] {s}" for s in stages], stderr
    assert "{" not in "".join(done) and "done in" not in stderr
    assert re.fullmatch(
        r"\[custseg\] ingest: [\d,]+ lines read, [\d,]+ kept, [\d,]+ quarantined \(.+\)"
        r"(, [\d,]+ repeated lines? dropped)?, 12 files, (\d+ min )?[\d.]+ s",
        done[0],
    ), done[0]
    assert re.match(r"\[custseg\] rfm: as_of 2022-01-01, [\d,]+ customers scored", done[1])
    (log_file,) = (folder / "logs").glob("custseg-*.log")
    logged = log_file.read_text()
    for stage in stages:
        assert re.search(rf"custseg INFO {stage} done in [\d.]+ s: {{", logged), stage
    assert '"quarantined_by_reason": {' in logged and '"score_edges": {' in logged


def test_one_run_writes_one_as_of_into_every_table(spark, demo_folder):
    folder, _, _ = demo_folder
    found = {}
    for name, spec in tables.ALL_TABLES.items():
        if "as_of" not in spec.column_names:
            continue
        path = str(folder / "warehouse" / name)
        if name == "segment_transitions":  # no earlier as_of: never created by a first run
            continue
        rows = spark.read.format("delta").load(path).select("as_of").distinct().collect()
        found[name] = {r["as_of"] for r in rows}
    assert len(found) == 11  # every as_of table but segment_transitions, and the runs record
    dates = set().union(*found.values())
    assert len(dates) == 1, found
    (as_of,) = dates
    last = spark.read.format("delta").load(str(folder / "warehouse" / "transactions"))
    assert as_of.isoformat() == "2022-01-01"  # the day after the last clean purchase (2021-12-31)
    assert last.agg({"purchase_date": "max"}).first()[0].isoformat() == "2021-12-31"
    assert (folder / "warehouse" / "_models" / as_of.isoformat()).is_dir()
    assert (folder / "reports" / as_of.isoformat() / "report.html").is_file()
