"""Tables whose writes hold a few rows (``TableSpec.single_file``) get one data file per
write and partition value, whatever the number of tasks the rows come from; the rows are
exactly those written. The file layout is read from the Delta log with delta-rs."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from chispa import assert_df_equality
from deltalake import DeltaTable

from custseg.layer1_core import tables
from custseg.layer1_core.tables import AS_OF
from custseg.layer2_io import delta_io
from tests.delta_log import commit_actions, table_commits
from tests.report import warehouse_builder as wb

pytestmark = pytest.mark.slow

SINGLE_FILE = (
    tables.INGEST_FILES,
    tables.SCORE_EDGES,
    tables.MODEL_SELECTION,
    tables.CLUSTER_PROFILES,
)
DAYS = (dt.date(2011, 11, 1), dt.date(2011, 12, 1))


def test_the_tiny_tables_are_declared_single_file():
    assert {spec.name for spec in tables.ALL_TABLES.values() if spec.single_file} == {
        spec.name for spec in SINGLE_FILE
    }


def test_single_file_and_sorted_by_exclude_each_other():
    with pytest.raises(ValueError, match="single_file and sorted_by"):
        dataclasses.replace(tables.CUSTOMER_RFM, single_file=True)


def _value(column: tables.Column, number: int):
    name = column.sql_type.name
    if column.name == AS_OF:
        return DAYS[number % 2]
    if name == "string":
        return f"{column.name}-{number}"
    if name in ("int", "bigint"):
        return number
    if name == "double":
        return number + 0.25
    if name == "boolean":
        return number % 3 == 0
    if name.startswith("decimal"):
        return Decimal(number).scaleb(-2)
    raise AssertionError(f"no test value for {column.name} {name}")


def _rows(spec: tables.TableSpec, count: int) -> list[dict]:
    return [{c.name: _value(c, n) for c in spec.columns} for n in range(count)]


def _files_per_commit(path: str) -> dict[int, list[str]]:
    """The data files each commit added, from the JSON commits of the Delta log."""
    added = {}
    for commit in table_commits(path):
        actions = commit_actions(commit.read_text(encoding="utf-8"))
        added[int(commit.stem)] = [a["add"]["path"] for a in actions if "add" in a]
    return added


@pytest.mark.parametrize("spec", SINGLE_FILE, ids=lambda spec: spec.name)
def test_a_write_of_a_tiny_table_makes_one_file_per_partition_value(spark, settings, spec):
    rows = _rows(spec, 24)
    frame = wb.frame_of(spark, spec, rows).repartition(6)  # rows come from six tasks
    assert frame.rdd.getNumPartitions() == 6
    delta_io.write_table(spark, settings.warehouse_root, spec, frame)
    path = settings.table_path(spec.name)

    values = len(DAYS) if spec.partition_by else 1
    table = DeltaTable(path)
    assert len(table.file_uris()) == values
    if spec.partition_by:
        partitions = table.get_add_actions(flatten=True).column(f"partition.{AS_OF}").to_pylist()
        assert sorted(partitions) == list(DAYS)
    writes = {version: files for version, files in _files_per_commit(path).items() if files}
    assert [len(files) for files in writes.values()] == [values]

    written = delta_io.read_table(spark, settings.warehouse_root, spec.name)
    assert_df_equality(
        written, frame, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True
    )

    if spec.partition_by:  # a slice replaced later: one more file, for its one value
        later = [{**row, AS_OF: DAYS[1]} for row in _rows(spec, 9)]
        replacement = wb.frame_of(spark, spec, later).repartition(3)
        slice_ = delta_io.AsOfSlice(DAYS[1])
        delta_io.write_table(
            spark, settings.warehouse_root, spec, replacement, replace_where=slice_.predicate
        )
        last = max(_files_per_commit(path).items())
        assert len(last[1]) == 1
        assert len(DeltaTable(path).file_uris()) == 2
