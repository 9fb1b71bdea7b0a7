"""The report stage end to end on a small hand-built warehouse (two runs, four models)."""

import datetime as dt
import html
from collections import Counter
from decimal import Decimal
from pathlib import Path

import deltalake
import polars as pl
import pytest

from custseg.layer1_core import tables
from custseg.layer1_core.config import Settings, replace
from custseg.layer2_io import delta_io
from custseg.layer2_io.run_context import RunContext
from custseg.layer4_commands import pipeline
from tests.report import browser
from tests.report import warehouse_builder as wb
from tests.report.test_browser import assert_seen_complete
from tests.report.test_document import ALL_FIGURES, embedded_images

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stage(spark, tmp_path_factory):
    """One report run shared by the tests below: building the warehouse is the slow part."""
    root = tmp_path_factory.mktemp("report_stage")
    settings = replace(
        Settings(),
        **{
            "warehouse": str(root / "warehouse"),
            "report.path": str(root / "reports"),
            "spark.shuffle_partitions": 2,
            "clustering.partitions": 2,
            "report.sample_size": 30,
            "rfm.as_of": wb.LATEST.isoformat(),  # the warehouse is built without transactions
        },
    )
    written = wb.build_warehouse(spark, settings)
    # The catalog lives as long as the session: drop names other tests registered elsewhere.
    for name in tables.ALL_TABLES:
        spark.sql(f"DROP TABLE IF EXISTS {tables.DATABASE}.{name}")
    summary = pipeline.run_stage(
        spark, settings, RunContext("run-7", dt.datetime(2024, 1, 2)), "report"
    ).as_dict()
    return settings, written, summary


def latest_rows(written):
    return [r for r in written["customer_rfm"] if r["as_of"] == wb.LATEST]


def test_summary_names_the_report_its_figures_and_the_table_work(stage):
    settings, written, summary = stage
    folder = Path(settings.report.path) / "2011-12-01"
    assert summary["as_of"] == "2011-12-01"
    assert summary["report_path"] == str(folder / "report.html")
    assert {Path(p).name for p in summary["figures"]} == ALL_FIGURES
    assert all(Path(p).parent == folder and Path(p).is_file() for p in summary["figures"])
    assert summary["segments_current_rows"] == len(latest_rows(written)) == 55
    assert summary["optimize"] == {}  # no transactions here; customer tables are not rewritten
    assert set(summary["registered_tables"]) == set(written) | {"segments_current"}


def test_page_embeds_the_stage_figures_and_fills_every_section(stage):
    _, written, summary = stage
    page = Path(summary["report_path"]).read_text(encoding="utf-8")
    images = embedded_images(page)
    assert images == {Path(p).name: Path(p).read_bytes() for p in summary["figures"]}
    assert 'class="note"' not in page
    assert "custseg run run-7" in page
    # the builder writes no is_primary, as a warehouse of an older custseg: the report
    # applies the rule itself and says so
    assert "The recommended model is KMeans, k=4 (the best of the algorithms&#x27; picks" in page
    assert f"<b>{len(latest_rows(written))}</b>customers scored" in page
    for segment in {r["segment"] for r in latest_rows(written)}:
        assert f"<li>{html.escape(f'Contact {segment} customers')}</li>" in page


def test_report_opens_in_a_browser_with_every_figure(stage, tmp_path):
    _, _, summary = stage
    seen = browser.inspect_page(Path(summary["report_path"]), tmp_path)
    assert_seen_complete(seen, ALL_FIGURES)


def test_segments_current_holds_the_latest_picture_of_every_customer(spark, stage):
    """Flat: the segment's meaning and first action, money in cents, how long the customer
    has been in its segment, and the primary model's cluster (kmeans k=4: the fixture's
    model_selection predates is_primary, so the report's rule picks its chosen model)."""
    settings, written, _ = stage

    def expected(r):
        cluster_id = wb.cluster_id_of(r, 4, "kmeans")
        name = wb.CLUSTER_NAMES[cluster_id]
        return (
            r["segment"],
            f"What {r['segment']} customers have in common",
            f"Contact {r['segment']} customers",
            r["previous_segment"],
            wb.EARLIER if r["previous_segment"] == r["segment"] else wb.LATEST,
            Decimal(str(r["monetary"])).quantize(Decimal("0.01")),
            ("kmeans_k4", cluster_id, name, f"Offer for {name}"),
        )

    actual = {
        r["customer_key"]: (
            r["segment"],
            r["segment_description"],
            r["segment_action"],
            r["previous_segment"],
            r["segment_since"],
            r["spend"],
            (r["cluster_model"], r["cluster_id"], r["cluster_name"], r["cluster_action"]),
        )
        for r in delta_io.read_table(spark, settings.warehouse_root, "segments_current").collect()
    }
    assert actual == {r["customer_key"]: expected(r) for r in latest_rows(written)}
    moved = [r for r in latest_rows(written) if r["previous_segment"] not in (None, r["segment"])]
    stayed = [r for r in latest_rows(written) if r["previous_segment"] == r["segment"]]
    assert moved and stayed, "the fixture should move some customers and keep others"


def test_tables_are_queryable_by_name_in_the_catalog(spark, stage):
    _, written, _ = stage
    by_sql = spark.sql(
        "SELECT segment, count(*) AS customers FROM custseg.customer_rfm "
        "WHERE as_of = DATE'2011-12-01' GROUP BY segment"
    ).collect()
    assert dict((r.segment, r.customers) for r in by_sql) == Counter(
        r["segment"] for r in latest_rows(written)
    )
    assert spark.sql("SELECT count(*) FROM custseg.segments_current").first()[0] == 55


def _plain(value):
    """Arrow maps arrive in polars as lists of key/value structs; Spark gives dicts."""
    if (
        isinstance(value, list)
        and value
        and isinstance(value[0], dict)
        and set(value[0]) == {"key", "value"}
    ):
        return {item["key"]: item["value"] for item in value}
    return value


@pytest.mark.parametrize(
    "name",
    [
        "segments_current",
        "customer_rfm",
        "segment_summary",
        "segment_transitions",
        "customer_clusters",
        "model_selection",
        "model_comparison",
        "cluster_profiles",
        "cluster_features",
        "segment_cluster_crosstab",
    ],
)
def test_delta_rs_and_polars_read_what_spark_wrote(spark, stage, name):
    settings, _, _ = stage
    spec = tables.ALL_TABLES[name]
    table = deltalake.DeltaTable(settings.table_path(name))
    assert table.protocol().min_reader_version == 1  # no deletion vectors or column mapping
    assert [f.name for f in table.schema().fields] == spec.column_names
    frame = pl.from_arrow(table.to_pyarrow_table())
    by_polars = sorted(
        (tuple(_plain(v) for v in row.values()) for row in frame.to_dicts()), key=repr
    )
    by_spark = sorted(
        (
            tuple(row.asDict().values())
            for row in delta_io.read_table(spark, settings.warehouse_root, name)
            .select(spec.column_names)
            .collect()
        ),
        key=repr,
    )
    assert by_polars == by_spark


def test_segments_current_carries_its_comments_for_bi_tools(stage):
    settings, _, _ = stage
    table = deltalake.DeltaTable(settings.table_path("segments_current"))
    assert table.metadata().description == tables.SEGMENTS_CURRENT.comment
    comments = {f.name: f.metadata.get("comment") for f in table.schema().fields}
    assert comments == {c.name: c.comment for c in tables.SEGMENTS_CURRENT.columns}
