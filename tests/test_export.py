"""``custseg export``: the customers of the segments asked for, with segments_current's
columns, at the latest or an earlier as_of, and a mistyped name refused with the names
that exist."""

from __future__ import annotations

import pandas as pd
import pytest
from pyspark.sql import functions as F

from custseg.layer1_core.config import Settings, replace
from custseg.layer1_core.tables import SEGMENTS_CURRENT
from custseg.layer2_io import delta_io
from custseg.layer3_stages.report.aggregates import at_as_of
from custseg.layer3_stages.report.inputs import primary_model
from custseg.layer3_stages.report.stage import REPORT_SOURCES, write_segments_current
from custseg.layer4_commands import cli
from custseg.layer4_commands.export import ExportError, export_segments
from tests.report import warehouse_builder as wb

COLUMNS = SEGMENTS_CURRENT.column_names


@pytest.fixture(scope="module")
def warehouse(spark, tmp_path_factory):
    """The report's hand-built warehouse at two as_ofs, with segments_current written by
    the report stage's own function for the latest (the primary model chosen as it would)."""
    root = tmp_path_factory.mktemp("export")
    settings = replace(
        Settings(), **{"warehouse": str(root / "warehouse"), "spark.shuffle_partitions": 2}
    )
    written = wb.build_warehouse(spark, settings)
    frames = {
        spec.name: delta_io.maybe_read_table(spark, settings.warehouse_root, spec.name)
        for spec in REPORT_SOURCES
    }
    selection = at_as_of(frames["model_selection"], wb.LATEST).toPandas()
    primary = primary_model(selection, settings.clustering.min_k)
    write_segments_current(spark, settings.warehouse_root, wb.LATEST, frames, primary)
    return settings, written


def _current(spark, settings):
    return delta_io.read_table(spark, settings.warehouse_root, "segments_current")


def _keys(frame) -> set[str]:
    """Keys of a filtered Spark frame: a test-sized set, compared with the file's."""
    return {row["customer_key"] for row in frame.select("customer_key").collect()}


def _read_csv(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_one_segment_is_exactly_that_segments_customers_as_one_sorted_csv(
    spark, warehouse, tmp_path
):
    settings, _ = warehouse
    out = tmp_path / "lists" / "at_risk.csv"
    result = export_segments(spark, settings, ["At Risk"], str(out))
    expected = _keys(_current(spark, settings).where(F.col("segment") == "At Risk"))
    back = _read_csv(out)
    assert list(back.columns) == COLUMNS
    assert set(back["customer_key"]) == expected and len(back) == result.rows == len(expected) > 0
    assert list(back["customer_key"]) == sorted(expected)
    assert set(back["segment"]) == {"At Risk"} and set(back["as_of"]) == {"2011-12-01"}
    assert (result.as_of, result.segments, result.cluster) == (wb.LATEST, ("At Risk",), None)
    assert sorted(out.parent.iterdir()) == [out]  # one file, no staging folder or .crc left


def test_two_segments_and_a_cluster_as_parquet(spark, warehouse, tmp_path):
    settings, _ = warehouse
    asked = ["At Risk", "Can't Lose", "At Risk"]
    current = _current(spark, settings).where(F.col("segment").isin(asked))
    out = tmp_path / "win_back.parquet"
    result = export_segments(spark, settings, asked, str(out))
    back = pd.read_parquet(out)
    assert list(back.columns) == COLUMNS and len(back) == result.rows
    assert set(back["customer_key"]) == _keys(current)
    assert set(back["segment"]) == {"At Risk", "Can't Lose"}
    assert result.segments == ("At Risk", "Can't Lose")
    name = back["cluster_name"].iloc[0]
    result = export_segments(spark, settings, asked, str(out), cluster=name)
    back = pd.read_parquet(out)  # overwritten in place
    assert set(back["customer_key"]) == _keys(current.where(F.col("cluster_name") == name))
    assert set(back["cluster_name"]) == {name} and set(back["cluster_model"]) == {"kmeans_k4"}
    assert 0 < result.rows == len(back) < len(current.collect())


def test_an_earlier_as_of_is_rebuilt_from_the_history_tables(spark, warehouse, tmp_path):
    settings, written = warehouse
    out = tmp_path / "earlier.csv"
    result = export_segments(spark, settings, ["At Risk"], str(out), as_of=wb.EARLIER)
    expected = {
        r["customer_key"]
        for r in written["customer_rfm"]
        if r["as_of"] == wb.EARLIER and r["segment"] == "At Risk"
    }
    back = _read_csv(out)
    assert list(back.columns) == COLUMNS
    assert set(back["customer_key"]) == expected and result.rows == len(expected) > 0
    assert set(back["as_of"]) == {"2011-11-01"} and result.as_of == wb.EARLIER
    assert set(back["cluster_model"]) == {""}  # no model was selected at that as_of
    with pytest.raises(ExportError, match="no cluster model at as_of 2011-11-01"):
        export_segments(spark, settings, ["At Risk"], str(out), cluster="x", as_of=wb.EARLIER)


def test_unknown_names_and_dates_are_refused_with_what_exists(spark, warehouse, tmp_path):
    settings, written = warehouse
    out = tmp_path / "none.csv"
    known = ", ".join(
        sorted({r["segment"] for r in written["customer_rfm"] if r["as_of"] == wb.LATEST})
    )
    with pytest.raises(ExportError) as error:
        export_segments(spark, settings, ["At Risk", "At Rsik"], str(out))
    assert str(error.value) == f"unknown segment 'At Rsik' at as_of 2011-12-01; known: {known}"
    with pytest.raises(ExportError, match=r"unknown cluster 'Big' .*known: Frequent regulars, "):
        export_segments(spark, settings, ["At Risk"], str(out), cluster="Big")
    with pytest.raises(ExportError, match="scored as_ofs: 2011-11-01, 2011-12-01$"):
        export_segments(spark, settings, ["At Risk"], str(out), as_of=wb.EARLIER.replace(day=2))
    assert not out.exists()


def test_cli_prints_one_line_checks_its_options_before_spark_and_records_its_runs(
    spark, warehouse, tmp_path, capsys
):
    settings, _ = warehouse
    out = tmp_path / "at_risk.csv"
    wh = ["--set", f"warehouse={settings.warehouse}"]
    args = ["--segment", "At Risk", "--segment", "Can't Lose", "--cluster", "Occasional buyers"]
    assert cli.main(["export", *args, "--out", str(out), *wh]) == cli.EXIT_OK
    rows = len(_read_csv(out))
    assert capsys.readouterr().out.strip().splitlines() == [
        f"custseg export: {rows} customer(s) written to {out} (as_of 2011-12-01, "
        "segments At Risk, Can't Lose, cluster Occasional buyers)"
    ]
    for usage in (
        ["export", *args, "--out", str(tmp_path / "list.xlsx"), *wh],
        ["export", "--out", str(out), *wh],
        ["export", *args, "--out", str(out), "--as-of", "2011-13-01", *wh],
        ["rfm", "--segment", "At Risk", *wh],
        ["export", *args, "--out", str(out), "--in", "crm.csv", *wh],
    ):
        with pytest.raises(SystemExit) as error:
            cli.main(usage)
        assert error.value.code == cli.EXIT_USAGE
    capsys.readouterr()
    assert cli.main(["export", "--segment", "Nobody", "--out", str(out), *wh]) == cli.EXIT_FAILED
    assert "unknown segment 'Nobody'" in capsys.readouterr().err
    runs = delta_io.read_table(spark, settings.warehouse_root, "runs").orderBy("started_at")
    done, refused = runs.collect()  # the usage errors above never started Spark
    assert (done["command"], done["outcome"], done["as_of"]) == ("export", "succeeded", wb.LATEST)
    assert done["error"] is None and done["seconds_total"] > 0
    assert (refused["command"], refused["outcome"]) == ("export", "failed")
    assert refused["error"].startswith("ExportError: unknown segment 'Nobody'")
