import datetime as dt
from decimal import Decimal

import deltalake
import pyarrow as pa
from chispa import assert_df_equality
from pyspark.sql import functions as F

from custseg.layer1_core import tables
from custseg.layer1_core.config import Settings, replace
from custseg.layer2_io import delta_io
from custseg.layer2_io.schemas import table_schema
from custseg.layer3_stages.report.current import primary_clusters, segment_since, segments_current

FIRST, EARLIER, LATEST = dt.date(2011, 10, 1), dt.date(2011, 11, 1), dt.date(2011, 12, 1)
KEY_A, KEY_B, KEY_C = "a" * 64, "b" * 64, "c" * 64
RFM_COLUMNS = [
    "customer_key",
    "as_of",
    "segment",
    "previous_segment",
    "r_score",
    "f_score",
    "m_score",
    "recency_days",
    "frequency",
    "monetary",
    "average_order_value",
    "first_purchase_time",
    "last_purchase_time",
]


def purchase(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2011, 10, day, hour)


def rfm_frame(spark):
    a, b, c = KEY_A, KEY_B, KEY_C
    rows = [
        (a, FIRST, "Promising", None, 4, 1, 2, 20, 1, 15.0, 15.0, purchase(3), purchase(3)),
        (b, FIRST, "Champions", None, 5, 5, 5, 3, 20, 900.0, 45.0, purchase(1), purchase(28)),
        (a, EARLIER, "Loyal", "Promising", 4, 4, 3, 12, 5, 180.0, 36.0, purchase(3), purchase(4)),
        (a, LATEST, "Loyal", "Loyal", 4, 4, 3, 12, 6, 200.006, 33.334166, purchase(3), purchase(5)),
        (b, LATEST, "Champions", None, 5, 5, 5, 1, 21, 950.125, 45.244, purchase(1), purchase(30)),
        (c, LATEST, "New Customers", None, 5, 1, 1, 2, 1, 9.5, 9.5, purchase(29, 23), purchase(29)),
    ]
    return spark.createDataFrame(rows, RFM_COLUMNS).withColumn("as_of", F.col("as_of").cast("date"))


def segments_frame(spark):
    rows = [
        (LATEST, "Loyal", "Buy often", "Upsell\nAsk for reviews"),
        (LATEST, "Champions", "The best", "Reward them"),
        (LATEST, "New Customers", "Just arrived", None),
        (EARLIER, "Loyal", "Old text", "Old action"),
    ]
    return spark.createDataFrame(
        rows, "as_of date, segment string, description string, actions string"
    )


def cluster_frames(spark):
    """KEY_A and KEY_B assigned by a model of EARLIER (custseg score), KEY_C by none."""
    clusters = spark.createDataFrame(
        [
            (KEY_A, LATEST, "kmeans", 5, 2, "Frequent regulars", EARLIER),
            (KEY_A, LATEST, "bisecting_kmeans", 4, 0, "Occasional buyers", EARLIER),
            (KEY_B, LATEST, "kmeans", 5, 0, "Recent big spenders", EARLIER),
            (KEY_B, EARLIER, "kmeans", 5, 3, "Lapsed", EARLIER),
        ],
        "customer_key string, as_of date, algorithm string, k int, cluster_id int, "
        "cluster_name string, model_as_of date",
    )
    profiles = spark.createDataFrame(
        [
            (EARLIER, "kmeans", 5, 2, "Bundle offers\nLoyalty points"),
            (EARLIER, "kmeans", 5, 0, "VIP line"),
            (EARLIER, "bisecting_kmeans", 4, 0, "Something else"),
            (LATEST, "kmeans", 5, 2, "Not the assigning model's action"),
        ],
        "as_of date, algorithm string, k int, cluster_id int, actions string",
    )
    return clusters, profiles


def current_at(spark, as_of, with_clusters=True):
    cluster_rows = None
    if with_clusters:
        cluster_rows = primary_clusters(*cluster_frames(spark), ("kmeans", 5), as_of)
    frame = segments_current(rfm_frame(spark), segments_frame(spark), cluster_rows, as_of)
    return delta_io.conform(frame, tables.SEGMENTS_CURRENT).orderBy("customer_key")


def test_one_flat_row_per_customer_with_meaning_money_dates_and_primary_cluster(spark):
    cents = Decimal
    expected = spark.createDataFrame(
        [
            (KEY_A, LATEST, "Loyal", "Buy often", "Upsell", "Loyal", EARLIER, 4, 4, 3, 12, 6,
             cents("200.01"), cents("33.33"), dt.date(2011, 10, 3), dt.date(2011, 10, 5),
             "kmeans_k5", 2, "Frequent regulars", "Bundle offers"),
            (KEY_B, LATEST, "Champions", "The best", "Reward them", None, FIRST, 5, 5, 5, 1, 21,
             cents("950.13"), cents("45.24"), dt.date(2011, 10, 1), dt.date(2011, 10, 30),
             "kmeans_k5", 0, "Recent big spenders", "VIP line"),
            (KEY_C, LATEST, "New Customers", "Just arrived", None, None, LATEST, 5, 1, 1, 2, 1,
             cents("9.50"), cents("9.50"), dt.date(2011, 10, 29), dt.date(2011, 10, 29),
             None, None, None, None),
        ],
        table_schema(tables.SEGMENTS_CURRENT),
    )  # fmt: skip
    assert_df_equality(current_at(spark, LATEST), expected, ignore_nullable=True)


def test_the_segment_run_starts_after_the_last_as_of_in_another_segment(spark):
    """KEY_A moved to Loyal at EARLIER; KEY_B, absent at EARLIER, kept Champions since FIRST."""
    since = segment_since(rfm_frame(spark), LATEST).orderBy("customer_key")
    assert [tuple(r) for r in since.collect()] == [
        (KEY_A, EARLIER),
        (KEY_B, FIRST),
        (KEY_C, LATEST),
    ]


def test_an_earlier_as_of_gives_that_day_s_picture(spark):
    rows = current_at(spark, EARLIER).collect()
    assert [(r.customer_key, r.segment_since, r.cluster_name) for r in rows] == [
        (KEY_A, EARLIER, None)
    ]
    assert (rows[0].segment_description, rows[0].segment_action) == ("Old text", "Old action")


def test_without_any_clustering_the_cluster_columns_are_null(spark):
    rows = current_at(spark, LATEST, with_clusters=False).collect()
    assert {(r.cluster_model, r.cluster_id, r.cluster_name, r.cluster_action) for r in rows} == {
        (None, None, None, None)
    }


def test_a_table_written_by_an_older_custseg_gets_the_flat_schema_in_one_commit(spark, tmp_path):
    """The older segments_current had a map column and float money."""
    settings = replace(Settings(), warehouse=str(tmp_path / "warehouse"))
    path = settings.table_path(tables.SEGMENTS_CURRENT.name)
    old = spark.createDataFrame(
        [(KEY_A, LATEST, 180.0, {"kmeans_k5": "Frequent regulars"})],
        "customer_key string, as_of date, monetary double, clusters map<string,string>",
    )
    old.write.format("delta").save(path)

    delta_io.write_table(
        spark,
        settings.warehouse_root,
        tables.SEGMENTS_CURRENT,
        current_at(spark, LATEST),
        mode="overwrite",
        replace_schema=True,
    )

    table = deltalake.DeltaTable(path)
    schema = table.to_pyarrow_table().schema
    assert schema.names == tables.SEGMENTS_CURRENT.column_names
    assert not any(pa.types.is_nested(field.type) for field in schema)
    assert schema.field("spend").type == pa.decimal128(18, 2)
    comments = {f.name: (f.metadata or {}).get("comment") for f in table.schema().fields}
    assert comments == {c.name: c.comment for c in tables.SEGMENTS_CURRENT.columns}
    assert table.version() == 1 and table.to_pyarrow_table().num_rows == 3
