import datetime as dt

from chispa import assert_df_equality
from pyspark.sql import functions as F

from custseg import delta_io, tables
from custseg.report.current import segments_current

EARLIER, LATEST = dt.date(2011, 11, 1), dt.date(2011, 12, 1)
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
]


def rfm_frame(spark):
    return spark.createDataFrame(
        [
            (KEY_A, EARLIER, "Promising", None, 4, 1, 2, 20, 1, 15.0),
            (KEY_B, EARLIER, "Champions", None, 5, 5, 5, 3, 20, 900.0),
            (KEY_A, LATEST, "Loyal Customers", "Promising", 4, 4, 3, 12, 5, 180.0),
            (KEY_C, LATEST, "New Customers", None, 5, 1, 1, 2, 1, 9.5),
        ],
        RFM_COLUMNS,
    ).withColumn("as_of", F.col("as_of").cast("date"))


def clusters_frame(spark):
    rows = [
        (KEY_A, LATEST, "kmeans", 5, "Frequent regulars"),
        (KEY_A, LATEST, "bisecting_kmeans", 4, "Occasional buyers"),
        (KEY_A, EARLIER, "kmeans", 5, "New small baskets"),
        (KEY_B, EARLIER, "kmeans", 5, "Recent big spenders"),
    ]
    return spark.createDataFrame(rows, ["customer_key", "as_of", "algorithm", "k", "cluster_name"])


def expected(spark, rows):
    return spark.createDataFrame(rows, tables.SEGMENTS_CURRENT.schema)


def current_at(spark, as_of, clusters):
    """Sorted by customer: chispa cannot sort rows by a map column itself."""
    return delta_io.conform(
        segments_current(rfm_frame(spark), clusters, as_of), tables.SEGMENTS_CURRENT
    ).orderBy("customer_key")


def test_one_row_per_customer_of_the_as_of_with_previous_segment_and_cluster_names(spark):
    assert_df_equality(
        current_at(spark, LATEST, clusters_frame(spark)),
        expected(
            spark,
            [
                (
                    KEY_A,
                    LATEST,
                    "Loyal Customers",
                    "Promising",
                    4,
                    4,
                    3,
                    12,
                    5,
                    180.0,
                    {"bisecting_kmeans_k4": "Occasional buyers", "kmeans_k5": "Frequent regulars"},
                ),
                (KEY_C, LATEST, "New Customers", None, 5, 1, 1, 2, 1, 9.5, None),
            ],
        ),
        ignore_nullable=True,
    )


def test_an_earlier_as_of_gives_that_day_s_picture(spark):
    assert_df_equality(
        current_at(spark, EARLIER, clusters_frame(spark)),
        expected(
            spark,
            [
                (
                    KEY_A,
                    EARLIER,
                    "Promising",
                    None,
                    4,
                    1,
                    2,
                    20,
                    1,
                    15.0,
                    {"kmeans_k5": "New small baskets"},
                ),
                (
                    KEY_B,
                    EARLIER,
                    "Champions",
                    None,
                    5,
                    5,
                    5,
                    3,
                    20,
                    900.0,
                    {"kmeans_k5": "Recent big spenders"},
                ),
            ],
        ),
        ignore_nullable=True,
    )


def test_without_any_clustering_the_clusters_column_is_null(spark):
    result = current_at(spark, LATEST, None)
    assert [(r.customer_key, r.clusters) for r in result.collect()] == [
        (KEY_A, None),
        (KEY_C, None),
    ]
