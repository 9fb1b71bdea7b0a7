"""Table layout and maintenance: the customer tables are written in customer_key order, and
only the tables appended in small batches are compacted (delta_io.write_table, optimize_table
and the report stage's optimize_tables)."""

import dataclasses
import json

import pytest
from chispa import assert_df_equality
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from custseg.layer1_core import tables
from custseg.layer2_io import delta_io
from custseg.layer3_stages.report import stage as report_stage
from tests.report import warehouse_builder as wb
from tests.spark_settings import several_partitions

pytestmark = pytest.mark.slow


def write_in_pieces(spark, settings, spec, rows, pieces):
    """Appends ``rows`` as ``pieces`` small files, the shape many small batches leave behind."""
    frame = wb.frame_of(spark, spec, rows).repartition(pieces)
    delta_io.write_table(spark, settings.warehouse_root, spec, frame, mode="append")


def last_commit(spark, path):
    row = DeltaTable.forPath(spark, path).history(1).first()
    return row["operation"], row["operationParameters"]


def key_range_per_file(spark, path):
    """(min, max) customer_key of each data file, as the Delta log's statistics record them:
    the numbers a reader's data skipping goes by."""
    log = spark.read.json(f"{path}/_delta_log/*.json").where("add is not null")
    stats = log.select(F.col("add.stats").alias("stats"))
    ranges = stats.select(
        F.get_json_object("stats", "$.minValues.customer_key").alias("low"),
        F.get_json_object("stats", "$.maxValues.customer_key").alias("high"),
    )
    return sorted((row["low"], row["high"]) for row in ranges.collect())


@pytest.fixture
def four_write_tasks(spark):
    """A small write spread over four tasks, so that it makes several files."""
    with several_partitions(spark, partitions=4):
        yield


@pytest.mark.parametrize("spec", [tables.CUSTOMER_RFM, tables.SEGMENTS_CURRENT])
def test_customer_tables_are_written_in_disjoint_key_ranges(
    spark, settings, spec, four_write_tasks
):
    rows = wb.rfm_rows(wb.LATEST, range(60), shift=0)
    frame = wb.frame_of(spark, spec, rows).repartition(5)  # every task holds a spread of keys
    delta_io.write_table(spark, settings.warehouse_root, spec, frame)
    path = settings.table_path(spec.name)

    ranges = key_range_per_file(spark, path)
    assert len(ranges) == 4
    assert all(high < next_low for (_, high), (next_low, _) in zip(ranges, ranges[1:]))
    in_file_order = (
        spark.read.format("delta")
        .load(path)
        .select(F.input_file_name().alias("file"), "customer_key")
        .withColumn("read", F.monotonically_increasing_id())
        .collect()
    )
    by_read = sorted(in_file_order, key=lambda row: row["read"])
    for file in {row["file"] for row in in_file_order}:  # and each file in key order
        keys = [row["customer_key"] for row in by_read if row["file"] == file]
        assert keys == sorted(keys), file
    written = delta_io.read_table(spark, settings.warehouse_root, spec.name)
    assert_df_equality(
        written, frame, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True
    )


def test_compaction_merges_small_files(spark, settings):
    spec = dataclasses.replace(tables.SEGMENTS_CURRENT, sorted_by=())  # written as given
    rows = wb.rfm_rows(wb.LATEST, range(25), shift=0)
    write_in_pieces(spark, settings, spec, rows, 5)
    path = settings.table_path(spec.name)

    assert delta_io.optimize_table(spark, path) == {"files_before": 5, "files_after": 1}
    operation, parameters = last_commit(spark, path)
    assert operation == "OPTIMIZE" and json.loads(parameters["zOrderBy"]) == []
    assert delta_io.read_table(spark, settings.warehouse_root, spec.name).count() == 25


def test_report_maintenance_leaves_the_customer_tables_alone(spark, settings):
    spec = tables.CUSTOMER_RFM
    write_in_pieces(spark, settings, spec, wb.rfm_rows(wb.LATEST, range(40), shift=1), 6)
    path = settings.table_path(spec.name)
    version = DeltaTable.forPath(spark, path).history(1).first()["version"]

    assert report_stage.optimize_tables(spark, settings.warehouse_root) == {}
    assert DeltaTable.forPath(spark, path).history(1).first()["version"] == version
