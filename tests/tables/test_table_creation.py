"""A table is created with its constraints and its statistics columns in the creating
commit (no window in which a killed run leaves a table without them), and a table made by
an older custseg, whose constraints came in later commits or which kept Delta's default
statistics, gets what it lacks on its next write."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from custseg.layer1_core import tables
from custseg.layer1_core.tables.spec import DATE
from custseg.layer2_io import delta_io
from custseg.layer2_io.schemas import table_schema
from tests.delta_log import actions_of

WITH_CONSTRAINTS = [spec for spec in tables.ALL_TABLES.values() if spec.constraints]


def _operations(path: Path) -> list[str]:
    return [info["operation"] for info in actions_of(path, "commitInfo")]


def test_some_tables_declare_constraints():
    assert {spec.name for spec in WITH_CONSTRAINTS} >= {"transactions", "runs"}


@pytest.mark.parametrize("spec", WITH_CONSTRAINTS, ids=lambda spec: spec.name)
def test_a_new_table_has_its_constraints_from_its_one_creating_commit(spark, tmp_path, spec):
    path = tmp_path / spec.name

    delta_io.ensure_table(spark, spec, str(path))

    assert _operations(path) == ["CREATE TABLE"]
    properties = delta_io.table_properties(spark, str(path))
    assert {
        key: value for key, value in properties.items() if key.startswith("delta.constraints.")
    } == {delta_io.constraint_property(name): expression for name, expression in spec.constraints}


def _valid_value(column: tables.Column):
    kind = column.sql_type.name
    if kind.startswith("decimal"):
        return Decimal("1.00")
    return {
        "string": "x",
        "bigint": 1,
        "int": 1,
        "double": 1.0,
        "boolean": False,
        "date": dt.date(2011, 1, 1),
        "timestamp": dt.datetime(2011, 1, 1, 10),
    }[kind]


def _valid_row(spark, spec: tables.TableSpec):
    """One row that passes every check of ``spec`` (a key of 64 characters)."""
    values = {column.name: _valid_value(column) for column in spec.columns}
    values[tables.CUSTOMER_KEY] = "a" * 64
    return spark.createDataFrame([tuple(values.values())], table_schema(spec))


def test_a_creating_commit_constraint_refuses_a_violating_row(spark, tmp_path):
    spec = tables.TRANSACTIONS
    path = str(tmp_path / spec.name)
    delta_io.ensure_table(spark, spec, path)
    row = _valid_row(spark, spec)

    delta_io.write_table(spark, str(tmp_path), spec, row, mode="append")
    short_key = row.withColumn(tables.CUSTOMER_KEY, F.lit("short"))
    with pytest.raises(Exception, match="valid_customer_key"):
        delta_io.write_table(spark, str(tmp_path), spec, short_key, mode="append")
    assert spark.read.format("delta").load(path).count() == 1


@pytest.mark.parametrize("spec", WITH_CONSTRAINTS, ids=lambda spec: spec.name)
def test_an_older_table_lacking_a_constraint_gets_it_on_the_next_write(spark, tmp_path, spec):
    """As an older custseg left a table when killed between its creation and its
    ADD CONSTRAINT commits: columns and the first constraint only."""
    path = str(tmp_path / spec.name)
    builder = DeltaTable.createIfNotExists(spark).location(path)
    for column in spec.columns:
        builder = builder.addColumn(column.name, delta_io.column_type(column), column.nullable)
    builder.execute()
    first, expression = spec.constraints[0]
    spark.sql(
        f"ALTER TABLE {delta_io.path_identifier(path)} ADD CONSTRAINT {first} CHECK ({expression})"
    )

    nothing = spark.createDataFrame([], table_schema(spec))
    delta_io.write_table(spark, str(tmp_path), spec, nothing, mode="append")

    properties = delta_io.table_properties(spark, path)
    for name, _ in spec.constraints:  # ADD CONSTRAINT stores the expression re-spaced
        assert delta_io.constraint_property(name) in properties
    added = _operations(Path(path)).count("ADD CONSTRAINT")
    assert added == len(spec.constraints)  # the first by hand, the rest by the write


def test_a_path_with_spaces_is_named_in_sql_as_it_is(spark, tmp_path):
    """Delta's own table builder cannot create a table under a path with a backtick (it
    quotes the path without escaping it), so a space is the oddity tried here; the helper
    escapes backticks all the same."""
    path = str(tmp_path / "odd name here" / tables.RUNS.name)

    delta_io.ensure_table(spark, tables.RUNS, path)

    assert delta_io.constraint_property("valid_outcome") in delta_io.table_properties(spark, path)
    assert delta_io.path_identifier("/a/b`c") == "delta.`/a/b``c`"


WITH_STATS_COLUMNS = [spec for spec in tables.ALL_TABLES.values() if spec.stats_columns]


def _file_statistics(path: Path) -> list[dict]:
    """The statistics of every file added, from the commits' add actions."""
    return [json.loads(add["stats"]) for add in actions_of(path, "add")]


def test_the_big_tables_keep_statistics_for_their_layout_columns_only():
    named = {spec.name: spec.stats_columns for spec in WITH_STATS_COLUMNS}
    assert named == {
        "transactions": ("purchase_time", "purchase_date", "source_file"),
        "customer_rfm": (tables.CUSTOMER_KEY,),
        "customer_clusters": (tables.CUSTOMER_KEY,),
        "segments_current": (tables.CUSTOMER_KEY,),
    }


@pytest.mark.parametrize(
    "stats_columns", [("no_such_column",), (tables.AS_OF,)], ids=["unknown", "partition"]
)
def test_a_spec_cannot_name_statistics_delta_would_not_keep(stats_columns):
    with pytest.raises(ValueError, match="no statistics for column"):
        tables.TableSpec(
            "t",
            "a table",
            (tables.Column(tables.AS_OF, DATE, "day"),),
            partition_by=(tables.AS_OF,),
            stats_columns=stats_columns,
        )


def test_a_write_keeps_minimum_and_maximum_of_the_named_columns_only(spark, tmp_path):
    spec = tables.TRANSACTIONS
    row = _valid_row(spark, spec)

    delta_io.write_table(spark, str(tmp_path), spec, row, mode="append")

    (stats,) = _file_statistics(tmp_path / spec.name)
    assert stats["numRecords"] == 1
    assert set(stats["minValues"]) == set(stats["maxValues"]) == set(spec.stats_columns)
    assert stats["minValues"]["source_file"] == "x"


def test_an_older_table_gets_its_statistics_columns_on_the_next_write(spark, tmp_path):
    """A table created before its spec named statistics columns keeps Delta's default
    until its next write sets the property, in a commit of its own."""
    spec = tables.CUSTOMER_RFM
    path = tmp_path / spec.name
    builder = DeltaTable.createIfNotExists(spark).location(str(path))
    for column in spec.columns:
        builder = builder.addColumn(column.name, delta_io.column_type(column), column.nullable)
    builder.partitionedBy(*spec.partition_by).execute()

    nothing = spark.createDataFrame([], table_schema(spec))
    delta_io.write_table(spark, str(tmp_path), spec, nothing, mode="append")

    properties = delta_io.table_properties(spark, str(path))
    assert properties[tables.STATS_COLUMNS_PROPERTY] == tables.CUSTOMER_KEY
    assert _operations(path).count("SET TBLPROPERTIES") == 1
    delta_io.write_table(spark, str(tmp_path), spec, nothing, mode="append")
    assert _operations(path).count("SET TBLPROPERTIES") == 1  # set once


def test_a_schema_replacing_write_stays_one_commit_and_the_next_sets_the_statistics(
    spark, tmp_path
):
    """segments_current is rewritten whole; when its schema is outdated the write replaces
    it in one commit, which cannot carry the property (Delta ignores it as a write option
    there), so the next write sets it."""
    spec = tables.SEGMENTS_CURRENT
    path = tmp_path / spec.name
    builder = DeltaTable.createIfNotExists(spark).location(str(path))
    for column in spec.columns[:-1]:  # as an older custseg wrote it: a column fewer
        builder = builder.addColumn(column.name, delta_io.column_type(column), column.nullable)
    builder.execute()
    nothing = spark.createDataFrame([], table_schema(spec))

    delta_io.write_table(spark, str(tmp_path), spec, nothing, replace_schema=True)
    assert spark.read.format("delta").load(str(path)).columns == spec.column_names
    assert len(_operations(path)) == 2  # the creation, the one upgrading write
    delta_io.write_table(spark, str(tmp_path), spec, nothing, replace_schema=True)

    properties = delta_io.table_properties(spark, str(path))
    assert properties[tables.STATS_COLUMNS_PROPERTY] == tables.CUSTOMER_KEY
