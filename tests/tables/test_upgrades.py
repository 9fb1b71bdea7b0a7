"""Tables an older custseg wrote (arrays, maps, money as double) rewritten in the flat schema,
in one commit each, and left alone once current."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import deltalake
import pyarrow as pa
import pytest

from custseg.layer1_core import tables
from custseg.layer2_io import delta_io
from custseg.layer2_io import table_upgrades as upgrades
from custseg.layer2_io.table_views import with_feature_maps
from custseg.layer3_stages.clustering.stability import PreviousCluster, previous_clusters
from custseg.layer4_commands import pipeline

EARLIER, LATEST = dt.date(2021, 11, 30), dt.date(2021, 12, 31)

OLD_SEGMENT_SUMMARY = (
    "as_of date, segment string, segment_order int, r_scores string, f_scores string, "
    "customers bigint, customer_share double, revenue double, revenue_share double, "
    "mean_recency_days double, median_recency_days double, mean_frequency double, "
    "median_frequency double, mean_monetary double, median_monetary double, "
    "description string, actions array<string>"
)
OLD_CLUSTER_PROFILES = (
    "as_of date, algorithm string, k int, cluster_id int, cluster_name string, "
    "customers bigint, customer_share double, revenue_share double, "
    "feature_means map<string,double>, feature_medians map<string,double>, "
    "centre map<string,double>, actions array<string>, match_distance double, "
    "model_cluster int, feature_z_scores map<string,double>, is_primary boolean"
)
MEANS = {"recency_days": 12.5, "frequency": 4.0, "monetary": 1234.567}
CENTRE = {"recency_days": 10.0, "frequency": 3.5, "monetary": 900.0}
SHIFTED = {c: v + 1 for c, v in CENTRE.items()}


def write_old(spark, root, name, rows, schema) -> str:
    path = tables.table_location(root, name)
    spark.createDataFrame(rows, schema).write.format("delta").partitionBy("as_of").save(path)
    return path


def assert_flat_in_one_commit(path, spec, version):
    """The declared schema with its comments and partitions, one commit after ``version``."""
    table = deltalake.DeltaTable(path)
    assert table.version() == version + 1
    assert [f.name for f in table.schema().fields] == spec.column_names
    assert not any(pa.types.is_nested(f.type) for f in table.to_pyarrow_table().schema)
    comments = {f.name: (f.metadata or {}).get("comment") for f in table.schema().fields}
    assert comments == {c.name: c.comment for c in spec.columns}
    assert table.metadata().partition_columns == ["as_of"]


def test_old_segment_summary_gets_actions_as_text_and_money_in_cents(spark, tmp_path):
    root = str(tmp_path / "warehouse")
    rows = [
        (LATEST, "Champions", 0, "5", "4-5", 3, 0.75, 1234.567, 0.9, 5.0, 4.0, 9.0, 8.0,
         411.5225, 400.004, "The best", ["Reward them", "Ask for reviews"]),
        (EARLIER, "Lost", 9, "1", "1", 1, 0.25, 0.125, 0.1, 300.0, 300.0, 1.0, 1.0,
         0.125, 0.125, "Gone", []),
    ]  # fmt: skip
    path = write_old(spark, root, "segment_summary", rows, OLD_SEGMENT_SUMMARY)

    assert upgrades.upgrade_segment_summary(spark, root) is True

    assert_flat_in_one_commit(path, tables.SEGMENT_SUMMARY, version=0)
    got = {r["segment"]: r for r in delta_io.read_table(spark, root, "segment_summary").collect()}
    champions, lost = got["Champions"], got["Lost"]
    assert champions["actions"] == "Reward them\nAsk for reviews" and lost["actions"] is None
    assert [champions[c] for c in ("revenue", "mean_monetary", "median_monetary")] == [
        Decimal("1234.57"),
        Decimal("411.52"),
        Decimal("400.00"),
    ]
    assert (lost["revenue"], lost["as_of"], lost["revenue_share"]) == (
        Decimal("0.13"),
        EARLIER,
        0.1,
    )

    assert upgrades.upgrade_segment_summary(spark, root) is False  # current: no commit
    assert deltalake.DeltaTable(path).version() == 1


def old_profile_rows() -> list[tuple]:
    """Two runs of kmeans k=2; cluster 1 of the later run got no customers."""
    return [
        (EARLIER, "kmeans", 2, 0, "Big", 5, 0.5, 0.8, MEANS, MEANS, CENTRE, ["Call", "Mail"],
         None, 1, {"recency_days": -0.5, "frequency": 1.0, "monetary": 1.5}, None),
        (EARLIER, "kmeans", 2, 1, "Small", 5, 0.5, 0.2, MEANS, MEANS, SHIFTED, ["Mail"],
         None, 0, {"recency_days": 0.5}, None),
        (LATEST, "kmeans", 2, 0, "Big", 10, 1.0, 1.0, MEANS, MEANS, CENTRE, ["Call"],
         0.1, 0, {"monetary": 1.5}, True),
        (LATEST, "kmeans", 2, 1, "Empty", 0, 0.0, 0.0, {}, {}, SHIFTED, [],
         0.2, 1, {}, True),
    ]  # fmt: skip


def test_old_cluster_profiles_move_their_maps_to_cluster_features(spark, tmp_path):
    root = str(tmp_path / "warehouse")
    path = write_old(spark, root, "cluster_profiles", old_profile_rows(), OLD_CLUSTER_PROFILES)

    assert upgrades.upgrade_tables(spark, root) == ["cluster_profiles"]

    assert_flat_in_one_commit(path, tables.CLUSTER_PROFILES, version=0)
    profiles = delta_io.read_table(spark, root, "cluster_profiles")
    flat = {
        (r["as_of"], r["cluster_id"]): (
            r["actions"],
            r["mean_recency_days"],
            r["mean_frequency"],
            r["mean_monetary"],
        )
        for r in profiles.collect()
    }
    assert flat == {
        (EARLIER, 0): ("Call\nMail", 12.5, 4.0, Decimal("1234.57")),
        (EARLIER, 1): ("Mail", 12.5, 4.0, Decimal("1234.57")),
        (LATEST, 0): ("Call", 12.5, 4.0, Decimal("1234.57")),
        (LATEST, 1): (None, None, None, None),
    }
    features = delta_io.read_table(spark, root, "cluster_features")
    rows = {
        (r["as_of"], r["cluster_id"], r["feature"]): (r["mean"], r["centre"], r["z_score"])
        for r in features.where("algorithm = 'kmeans' AND k = 2").collect()
    }
    assert len(rows) == features.count() == 4 * 3
    assert rows[(EARLIER, 0, "monetary")] == (1234.567, 900.0, 1.5)
    assert rows[(EARLIER, 1, "frequency")] == (4.0, 4.5, None)
    assert rows[(LATEST, 1, "recency_days")] == (None, 11.0, None)
    # the next run matches its clusters to the latest earlier run's centres, as before
    previous = previous_clusters(with_feature_maps(profiles, features), dt.date(2022, 1, 31))
    assert previous == {
        ("kmeans", 2): [PreviousCluster(0, "Big", CENTRE), PreviousCluster(1, "Empty", SHIFTED)]
    }

    features_path = tables.table_location(root, "cluster_features")
    features_version = deltalake.DeltaTable(features_path).version()
    assert upgrades.upgrade_tables(spark, root) == []  # current: no commit to either table
    assert deltalake.DeltaTable(path).version() == 1
    assert deltalake.DeltaTable(features_path).version() == features_version


def test_no_table_no_upgrade(spark, tmp_path):
    root = str(tmp_path / "warehouse")
    assert upgrades.upgrade_tables(spark, root) == []
    assert not (tmp_path / "warehouse").exists()


@pytest.mark.parametrize(
    ("command", "upgraded"),
    [
        ("ingest", ()),
        ("rfm", ("segment_summary",)),
        ("cluster", ("cluster_profiles",)),
        ("score", ("cluster_profiles",)),
        ("report", ("segment_summary", "cluster_profiles")),
    ],
)
def test_every_command_upgrades_the_tables_it_reads_or_writes(command, upgraded):
    assert pipeline.COMMANDS[command].upgrades == upgraded
