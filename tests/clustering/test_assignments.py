"""Customers carry their cluster's stable id and name, not the model's cluster index."""

from __future__ import annotations

import math

import pytest
from pyspark.ml.linalg import Vectors

from custseg.layer1_core.config import ClusteringSettings
from custseg.layer3_stages.clustering import features, profiles, statistics
from custseg.layer3_stages.clustering.assignments import ClusterLabels
from custseg.layer3_stages.clustering.features import ScalerStatistics
from custseg.layer3_stages.clustering.models import ModelKey

FEATURES = features.parse_features(["log_recency", "log_frequency", "log_monetary"])
IDENTITY_SCALER = ScalerStatistics(shift=[0.0, 0.0, 0.0], scale=[1.0, 1.0, 1.0])
# (key, segment, recency days, orders, spend, model cluster): the model numbered the big
# spenders 1, so their stable id (0, most revenue) differs from the model's index.
CUSTOMERS = [
    ("a", "Hibernating", 300.0, 1.0, 20.0, 0),
    ("b", "Hibernating", 280.0, 1.0, 30.0, 0),
    ("c", "Champions", 5.0, 20.0, 5000.0, 1),
    ("d", "Champions", 7.0, 30.0, 7000.0, 1),
]


def model_units(row):
    return [math.log1p(v) for v in row[2:5]]


def mean_centre(cluster):
    members = [model_units(row) for row in CUSTOMERS if row[5] == cluster]
    return [sum(values) / len(members) for values in zip(*members)]


@pytest.fixture
def assigned(spark):
    return spark.createDataFrame(
        [(*row, Vectors.dense(model_units(row))) for row in CUSTOMERS],
        ["customer_key", "segment", "recency_days", "frequency", "monetary", "cluster", "features"],
    )


def test_customers_get_the_id_and_name_of_their_cluster_profile(assigned):
    centres = [mean_centre(0), mean_centre(1)]
    population = statistics.population_statistics(assigned, features.profile_columns(FEATURES))
    described = profiles.describe_model(
        assigned,
        centres=centres,
        features=FEATURES,
        scaler=IDENTITY_SCALER,
        population=population,
        threshold=ClusteringSettings().name_threshold,
    )

    labelled = profiles.label_assignments(
        assigned,
        key=ModelKey("kmeans", 2),
        centres=centres,
        labels=profiles.ids_and_names(described),
        is_primary=True,
    )

    by_key = {r["customer_key"]: r for r in labelled.collect()}
    assert {(r["algorithm"], r["k"], r["is_primary"]) for r in by_key.values()} == {
        ("kmeans", 2, True)
    }
    assert (by_key["c"]["cluster_id"], by_key["c"]["cluster_name"]) == (
        0,
        "Recent frequent high spenders",
    )
    assert (by_key["a"]["cluster_id"], by_key["a"]["cluster_name"]) == (
        1,
        "Lapsed rare low spenders",
    )
    assert by_key["c"]["distance_to_centre"] == pytest.approx(
        math.dist(model_units(CUSTOMERS[2]), centres[1])
    )
    crosstab = {
        (r["segment"], r["cluster_name"]): r["customers"]
        for r in profiles.segment_crosstab(labelled).collect()
    }
    assert crosstab == {
        ("Champions", "Recent frequent high spenders"): 2,
        ("Hibernating", "Lapsed rare low spenders"): 2,
    }


def test_labels_from_saved_profile_rows_follow_the_model_index_whatever_their_order():
    rows = [
        {"model_cluster": 2, "cluster_id": 0, "cluster_name": "Champions-like"},
        {"model_cluster": 0, "cluster_id": 2, "cluster_name": "Newcomers"},
        {"model_cluster": 1, "cluster_id": 1, "cluster_name": "Lapsed"},
    ]

    labels = ClusterLabels.from_rows(rows)

    assert list(labels.ids) == [2, 1, 0]
    assert list(labels.names) == ["Newcomers", "Lapsed", "Champions-like"]
