"""Compaction and Z-order of the customer tables (tables.optimize_table via the report stage)."""

import json

import pytest
from chispa import assert_df_equality
from delta.tables import DeltaTable

from custseg import delta_io, tables
from custseg.report import stage as report_stage
from tests.report import warehouse_builder as wb

pytestmark = pytest.mark.slow


def write_in_pieces(spark, settings, spec, rows, pieces):
    """Appends ``rows`` as ``pieces`` small files, the shape many small batches leave behind."""
    frame = wb.frame_of(spark, spec, rows).repartition(pieces)
    delta_io.write_table(spark, settings.warehouse_root, spec, frame, mode="append")


def last_commit(spark, path):
    row = DeltaTable.forPath(spark, path).history(1).first()
    return row["operation"], row["operationParameters"]


def test_z_order_compacts_only_the_partition_of_the_run(spark, settings):
    spec = tables.CUSTOMER_RFM
    write_in_pieces(spark, settings, spec, wb.rfm_rows(wb.EARLIER, range(30), shift=0), 3)
    write_in_pieces(spark, settings, spec, wb.rfm_rows(wb.LATEST, range(40), shift=1), 6)
    path = settings.table_path(spec.name)
    before = delta_io.read_table(spark, settings.warehouse_root, spec.name)
    before_rows = before.orderBy("as_of", "customer_key").collect()

    stats = report_stage.optimize_tables(spark, settings.warehouse_root, wb.LATEST)

    assert stats == {"customer_rfm": {"files_before": 9, "files_after": 4}}
    operation, parameters = last_commit(spark, path)
    assert operation == "OPTIMIZE" and json.loads(parameters["zOrderBy"]) == ["customer_key"]
    assert "as_of" in parameters["predicate"]
    after = delta_io.read_table(spark, settings.warehouse_root, spec.name).orderBy(
        "as_of", "customer_key"
    )
    assert_df_equality(after, spark.createDataFrame(before_rows, before.schema))


def test_compaction_without_z_order_merges_small_files(spark, settings):
    spec = tables.SEGMENTS_CURRENT
    rows = wb.rfm_rows(wb.LATEST, range(25), shift=0)
    write_in_pieces(spark, settings, spec, rows, 5)
    path = settings.table_path(spec.name)

    assert delta_io.optimize_table(spark, path) == {"files_before": 5, "files_after": 1}
    operation, parameters = last_commit(spark, path)
    assert operation == "OPTIMIZE" and json.loads(parameters["zOrderBy"]) == []
    assert delta_io.read_table(spark, settings.warehouse_root, spec.name).count() == 25
