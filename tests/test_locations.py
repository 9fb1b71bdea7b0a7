"""Warehouse and report locations qualified once through Hadoop's FileSystem."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from custseg.layer1_core.config import Settings, replace
from custseg.layer2_io import delta_io
from custseg.layer2_io.locations import (
    LocationError,
    display_location,
    publish_folder,
    qualified_settings,
    qualify,
)
from custseg.layer2_io.run_context import RunContext
from custseg.layer4_commands import pipeline
from custseg.layer4_commands.demo import generate_transactions


def test_plain_paths_and_file_uris_get_one_spelling(spark, tmp_path):
    expected = f"file:{tmp_path}/wh"
    assert qualify(spark, str(tmp_path / "wh")) == expected
    assert qualify(spark, f"file://{tmp_path}/wh/") == expected
    assert qualify(spark, f"file:{tmp_path}/wh") == expected
    assert qualify(spark, expected) == expected  # idempotent


def test_a_relative_path_is_taken_from_the_working_directory(spark):
    # the JVM's working directory is the one the session started in: this test's cwd
    assert qualify(spark, "some/relative/wh") == f"file:{Path.cwd()}/some/relative/wh"


def test_a_scheme_without_a_file_system_is_one_clear_error(spark):
    with pytest.raises(LocationError, match=r"^warehouse nosuchfs://bucket/wh: no Hadoop"):
        qualify(spark, "nosuchfs://bucket/wh", "warehouse")
    with pytest.raises(LocationError, match="report.path is empty"):
        qualify(spark, " ", "report.path")


def test_settings_keep_a_qualified_warehouse(spark, tmp_path):
    settings = replace(
        Settings(), **{"warehouse": f"file://{tmp_path}/wh", "report.path": "reports"}
    )
    qualified = qualified_settings(spark, settings)
    assert qualified.warehouse_root == f"file:{tmp_path}/wh"
    assert qualified.table_path("transactions") == f"file:{tmp_path}/wh/transactions"
    assert qualified.report.path == f"file:{Path.cwd()}/reports"
    assert qualified_settings(spark, qualified) == qualified


def test_stages_write_and_register_tables_under_a_file_uri_warehouse(spark, settings, tmp_path):
    generate_transactions(tmp_path / "raw", customers=40, months=2, seed=2)
    uri_settings = replace(
        settings,
        **{"warehouse": f"file://{tmp_path}/uri-wh", "input.path": str(tmp_path / "raw")},
    )
    summary = pipeline.run_stage(spark, uri_settings, RunContext.start(), "ingest")
    assert summary.rows_written > 0
    registered = delta_io.register_in_catalog(spark, f"file:{tmp_path}/uri-wh", ["transactions"])
    assert registered == ["transactions"]
    rows = spark.table("custseg.transactions").count()
    assert rows == summary.rows_written


def test_publish_copies_a_folder_and_removes_stale_figures_only(spark, tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    (local / "report.html").write_text("<html>new</html>")
    (local / "a.png").write_bytes(b"png-a")
    target = tmp_path / "published"
    target.mkdir()
    (target / "old.png").write_bytes(b"stale")
    (target / "notes.txt").write_text("kept")
    written = publish_folder(spark, local, f"file://{target}")
    assert written == [f"file:{target}/a.png", f"file:{target}/report.html"]
    assert sorted(os.listdir(target)) == ["a.png", "notes.txt", "report.html"]
    assert (target / "report.html").read_text() == "<html>new</html>"
    assert display_location(written[1]) == f"{target}/report.html"
    assert display_location("hdfs://nn:8020/r/report.html") == "hdfs://nn:8020/r/report.html"
