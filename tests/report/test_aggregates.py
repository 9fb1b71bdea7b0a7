import datetime as dt
import math

import numpy as np
import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from sklearn.decomposition import PCA as SkPCA
from sklearn.preprocessing import StandardScaler as SkScaler

from custseg.layer3_stages.report import aggregates
from custseg.layer3_stages.report.errors import ReportError

AS_OF = dt.date(2011, 12, 1)
FEATURES = ["log_recency", "log_frequency", "log_monetary"]


def rfm(spark, rows):
    """rows: (customer_key, recency_days, frequency, monetary, r_score, f_score, segment)."""
    return spark.createDataFrame(
        [(k, AS_OF, r, f, m, rs, fs, seg) for k, r, f, m, rs, fs, seg in rows],
        "customer_key string, as_of date, recency_days int, frequency long, monetary double, "
        "r_score int, f_score int, segment string",
    )


def customers(n):
    """n customers whose spend grows with frequency, so the features are correlated."""
    return [
        (
            f"{i:064d}",
            3 + (i * 37) % 300,
            1 + i % 12,
            15.0 + 40.0 * (1 + i % 12) + (i * 13) % 50,
            1 + i % 5,
            1 + (i // 5) % 5,
            "Champions" if i % 2 else "At Risk",
        )
        for i in range(n)
    ]


def test_rf_grid_counts_customers_per_cell_with_the_cell_segment(spark):
    frame = rfm(
        spark,
        [
            ("a", 1, 9, 10.0, 5, 5, "Champions"),
            ("b", 2, 8, 10.0, 5, 5, "Champions"),
            ("c", 90, 1, 10.0, 1, 1, "Hibernating"),
            ("d", 40, 2, 10.0, 3, 2, "About to Sleep"),
        ],
    )
    expected = spark.createDataFrame(
        [(1, 1, 1, "Hibernating"), (3, 2, 1, "About to Sleep"), (5, 5, 2, "Champions")],
        "r_score int, f_score int, customers long, segment string",
    )
    assert_df_equality(aggregates.rf_grid_counts(frame), expected, ignore_nullable=True)


def test_histograms_use_equal_bins_in_original_units_with_median(spark):
    frame = rfm(spark, [(str(i), i, 1 + i, 10.0, 1, 1, "x") for i in range(10)])
    result = aggregates.metric_histograms(frame, 5).toPandas()
    recency = result[result.metric == "recency_days"].sort_values("bin")
    assert list(recency.customers) == [
        2,
        2,
        2,
        2,
        2,
    ]  # 0-1.8, 1.8-3.6, ... and the max in the last bin
    assert list(recency.lower) == pytest.approx([0.0, 1.8, 3.6, 5.4, 7.2])
    assert list(recency.upper) == pytest.approx([1.8, 3.6, 5.4, 7.2, 9.0])
    assert (
        not recency.log_scale.any() and recency["median"].iloc[0] == 4.0
    )  # approximate median: a member value
    frequency = result[result.metric == "frequency"].sort_values("bin")
    assert frequency.log_scale.all() and frequency.customers.sum() == 10
    assert frequency.lower.iloc[0] == pytest.approx(1.0) and frequency.upper.iloc[
        -1
    ] == pytest.approx(10.0)
    edges = np.expm1(np.linspace(math.log1p(1), math.log1p(10), 6))
    assert list(frequency.upper) == pytest.approx(list(edges[1:][frequency.bin.to_numpy()]))
    monetary = result[result.metric == "monetary"]
    assert monetary[["bin", "customers"]].values.tolist() == [[0, 10]]  # all equal: one bar


def test_projection_is_a_bounded_deterministic_sample_labelled_per_model(spark):
    rows = customers(40)
    frame = rfm(spark, rows)
    clusters = spark.createDataFrame(
        [
            (r[0], algorithm, k, i % k, f"cluster {i % k}")
            for i, r in enumerate(rows)
            for algorithm, k in (("kmeans", 4), ("bisecting_kmeans", 5))
        ],
        "customer_key string, algorithm string, k int, cluster_id int, cluster_name string",
    )
    sample, explained = aggregates.projection_sample(frame, clusters, FEATURES, 15)
    first = sample.toPandas()
    assert first.groupby(["algorithm", "k"]).size().to_dict() == {
        ("bisecting_kmeans", 5): 15,
        ("kmeans", 4): 15,
    }

    def points(model):
        return sorted(map(tuple, first[first.algorithm == model][["pc1", "pc2"]].round(9).values))

    assert points("kmeans") == points("bisecting_kmeans")  # the same customers in every panel
    again, _ = aggregates.projection_sample(frame, clusters, FEATURES, 15)
    assert again.toPandas().equals(first)

    features = np.log1p(np.array([[r[1], r[2], r[3]] for r in rows], dtype=float))
    reference = SkPCA(n_components=2).fit(SkScaler().fit_transform(features))
    assert explained == pytest.approx(list(reference.explained_variance_ratio_), abs=1e-6)

    # the chosen customers are the 15 smallest hashes, projected with the fit on all 40
    # (MLlib scales by the sample standard deviation; components agree up to sign)
    hashed = spark.createDataFrame([(r[0],) for r in rows], "customer_key string")
    chosen = hashed.orderBy(F.xxhash64("customer_key"), "customer_key").limit(15).toPandas()
    standardised = (features - features.mean(axis=0)) / features.std(axis=0, ddof=1)
    expected = standardised @ reference.components_.T
    position = {r[0]: i for i, r in enumerate(rows)}
    wanted = sorted(tuple(np.abs(expected[position[key]])) for key in chosen.customer_key)
    panel = first[first.algorithm == "kmeans"]
    got = sorted((abs(a), abs(b)) for a, b in zip(panel.pc1, panel.pc2))
    assert np.allclose(got, wanted, rtol=0, atol=1e-9)


def test_projection_needs_two_features(spark):
    frame = rfm(spark, customers(3))
    assert issubclass(ReportError, ValueError)
    with pytest.raises(ReportError, match="two"):
        aggregates.projection_sample(frame, frame, ["log_recency"], 10)


def test_cluster_split_counts_customers_per_pair_of_clusters_of_one_algorithm(spark):
    assignments = spark.createDataFrame(
        [
            (customer, algorithm, k, cluster, f"{algorithm} {k}/{cluster}")
            for customer, k4, k5 in [("a", 0, 0), ("b", 0, 0), ("c", 1, 1), ("d", 1, 2)]
            for algorithm in ("kmeans", "bisecting_kmeans")
            for k, cluster in ((4, k4), (5, k5 if algorithm == "kmeans" else 0), (3, 0))
        ],
        "customer_key string, algorithm string, k int, cluster_id int, cluster_name string",
    )
    expected = spark.createDataFrame(
        [
            ("kmeans", 0, "kmeans 4/0", 0, "kmeans 5/0", 2),
            ("kmeans", 1, "kmeans 4/1", 1, "kmeans 5/1", 1),
            ("kmeans", 1, "kmeans 4/1", 2, "kmeans 5/2", 1),
        ],
        "algorithm string, from_cluster_id int, from_cluster_name string, to_cluster_id int, "
        "to_cluster_name string, customers long",
    )
    split = aggregates.cluster_split(assignments, "kmeans", 4, 5)
    assert_df_equality(split, expected, ignore_row_order=True, ignore_nullable=True)
    assert aggregates.cluster_split(assignments, "kmeans", 4, 6).count() == 0
