"""Cluster statistics, names decided by the profile (never by the cluster number), actions."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from custseg.layer1_core.config import ClusteringSettings
from custseg.layer3_stages.clustering import features, naming, profiles, statistics
from custseg.layer3_stages.clustering.features import ScalerStatistics
from custseg.layer3_stages.clustering.models import ModelKey
from custseg.layer3_stages.clustering.naming import Levels
from custseg.layer3_stages.clustering.stability import PreviousCluster
from custseg.layer3_stages.clustering.statistics import ClusterStatistics, PopulationStatistics

FEATURES = features.parse_features(["log_recency", "log_frequency", "log_monetary"])
IDENTITY_SCALER = ScalerStatistics(shift=[0.0, 0.0, 0.0], scale=[1.0, 1.0, 1.0])
THRESHOLD = ClusteringSettings().name_threshold
# The plain means are the customer-weighted means of CLUSTERS below.
POPULATION = PopulationStatistics(
    customers=1000,
    revenue=100_000.0,
    means={"recency_days": 160.1, "frequency": 2.84, "monetary": 375.6},
    log_means={"recency_days": 4.0, "frequency": 1.0, "monetary": 5.0},
    log_stds={"recency_days": 1.0, "frequency": 0.5, "monetary": 1.0},
)


def stats(customers, revenue, logs):
    """``logs``: the cluster's mean log1p recency, frequency and monetary."""
    log_means = dict(zip(["recency_days", "frequency", "monetary"], logs))
    means = {c: math.expm1(v) for c, v in log_means.items()}
    return ClusterStatistics(customers, revenue, means, means, log_means)


# (statistics, centre in model units = log values) of four clearly different groups
CLUSTERS = [
    (stats(100, 50_000.0, (1.5, 2.5, 7.5)), [1.5, 2.5, 7.5]),
    (stats(150, 30_000.0, (5.5, 2.0, 7.0)), [5.5, 2.0, 7.0]),
    (stats(300, 12_000.0, (2.0, 0.7, 4.0)), [2.0, 0.7, 4.0]),
    (stats(450, 8_000.0, (5.6, 0.7, 3.5)), [5.6, 0.7, 3.5]),
]
EXPECTED_NAMES = [
    "Recent frequent high spenders",
    "Lapsed big spenders",
    "Recent newcomers",
    "Lapsed rare low spenders",
]


def describe(order, previous=(), clusters=CLUSTERS):
    """Profiles when original cluster i is numbered order[i] by the model."""
    numbered_stats = {order[i]: s for i, (s, _) in enumerate(clusters)}
    centres = [None] * len(clusters)
    for i, (_, centre) in enumerate(clusters):
        centres[order[i]] = centre
    return profiles.describe(
        numbered_stats,
        centres=centres,
        features=FEATURES,
        scaler=IDENTITY_SCALER,
        population=POPULATION,
        previous=previous,
        threshold=THRESHOLD,
    )


def by_size(described):
    return {p.customers: (p.cluster_id, p.cluster_name, p.actions) for p in described}


def test_names_come_from_the_profile_relative_to_the_population():
    described = by_size(describe([0, 1, 2, 3]))

    assert [described[s.customers][1] for s, _ in CLUSTERS] == EXPECTED_NAMES


@pytest.mark.parametrize("order", list(itertools.permutations(range(4)))[1::5])
def test_names_ids_and_actions_follow_the_profile_when_numbering_is_permuted(order):
    assert by_size(describe(list(order))) == by_size(describe([0, 1, 2, 3]))


def test_first_run_ids_go_by_revenue():
    described = by_size(describe([3, 1, 0, 2]))

    assert [described[s.customers][0] for s, _ in CLUSTERS] == [0, 1, 2, 3]


def test_two_clusters_with_one_name_are_told_apart_by_their_profiles_not_by_number():
    """The twins differ most in frequency (0.2 standard deviations against 0.1), and the
    plain means agree, so that is what their names say."""
    twins = [
        (stats(100, 900.0, (2.0, 0.7, 4.0)), [2.0, 0.7, 4.0]),
        (stats(100, 1_500.0, (1.9, 0.6, 4.1)), [1.9, 0.6, 4.1]),
        CLUSTERS[0],
    ]
    for order in ([0, 1, 2], [2, 1, 0], [1, 0, 2]):
        described = {p.revenue_share: p for p in describe(order, clusters=twins)}
        assert described[0.009].cluster_name == "Recent newcomers, more frequent"
        assert described[0.015].cluster_name == "Recent newcomers, less frequent"
        assert described[0.009].actions[:2] == described[0.015].actions[:2]
        assert described[0.009].actions[2] != described[0.015].actions[2]


def test_previous_ids_and_names_carry_over_to_moved_centres():
    first = describe([0, 1, 2, 3])
    previous = [PreviousCluster(p.cluster_id + 10, p.cluster_name, dict(p.centre)) for p in first]
    shifted = [(s, [v + 0.05 for v in centre]) for s, centre in CLUSTERS]

    second = describe([2, 0, 3, 1], previous=previous, clusters=shifted)

    assert {p.customers: (p.cluster_id, p.cluster_name) for p in second} == {
        p.customers: (p.cluster_id + 10, p.cluster_name) for p in first
    }
    assert [p.match_distance for p in second] == pytest.approx([math.sqrt(3) * 0.05] * 4)


def test_a_carried_id_gets_a_new_name_when_the_profile_no_longer_fits():
    first = describe([0, 1, 2, 3])
    previous = [
        PreviousCluster(
            p.cluster_id,
            "Lapsed big spenders" if p.customers == 300 else p.cluster_name,
            dict(p.centre),
        )
        for p in first
    ]

    second = by_size(describe([0, 1, 2, 3], previous=previous))

    assert second[300][1] == "Recent newcomers"
    assert second[300][0] == by_size(first)[300][0]


ALL_LEVELS = [
    Levels(r, f, m)
    for r in ("recent", "mid", "lapsed")
    for f in ("high", "mid", "low")
    for m in ("high", "mid", "low")
]


def test_each_name_always_comes_with_the_same_actions():
    actions_by_name: dict[str, set] = {}
    for level in ALL_LEVELS:
        label = naming.label(level)
        actions_by_name.setdefault(label.name, set()).add(label.actions)

    assert all(len(actions) == 1 for actions in actions_by_name.values())
    assert all(len(next(iter(a))) >= 2 for a in actions_by_name.values())
    assert len(actions_by_name) >= 20


@pytest.mark.parametrize(
    "z, expected",
    [
        (
            {"recency_days": -1.0, "frequency": 1.0, "monetary": 1.0},
            "Recent frequent high spenders",
        ),
        ({"recency_days": 0.0, "frequency": 1.0, "monetary": 1.0}, "Frequent high spenders"),
        ({"recency_days": 1.0, "frequency": 0.0, "monetary": 1.0}, "Lapsed big spenders"),
        ({"recency_days": 0.1, "frequency": -0.8, "monetary": -0.9}, "Rare low spenders"),
        (
            {"recency_days": -0.9, "frequency": -0.9, "monetary": 0.9},
            "Recent high-spending newcomers",
        ),
        ({"recency_days": 0.2, "frequency": 0.2, "monetary": -0.2}, "Occasional mid spenders"),
    ],
)
def test_names_for_typical_profiles(z, expected):
    """Plain means on the same side as the z-scores (100 is the population's)."""
    means = {c: 100.0 * (1.0 + v) for c, v in z.items()}
    population_means = dict.fromkeys(z, 100.0)
    traits = naming.Traits(customers=10, z_scores=z, means=means)

    assert naming.label(naming.levels(traits, population_means, THRESHOLD)).name == expected


def test_cluster_and_population_statistics_in_spark(spark):
    rows = [
        (0, 10.0, 1.0, 20.0),
        (0, 30.0, 3.0, 100.0),
        (0, 20.0, 2.0, 60.0),
        (1, 200.0, 1.0, 5.0),
        (1, 400.0, 1.0, -5.0),
    ]
    frame = spark.createDataFrame(
        rows, "cluster int, recency_days double, frequency double, monetary double"
    )
    columns = ["recency_days", "frequency", "monetary"]

    by_cluster = statistics.cluster_statistics(frame, "cluster", columns)
    population = statistics.population_statistics(frame, columns)

    assert by_cluster[0].customers == 3 and by_cluster[0].revenue == 180.0
    assert by_cluster[0].means == pytest.approx(
        {"recency_days": 20.0, "frequency": 2.0, "monetary": 60.0}
    )
    assert by_cluster[0].medians == {"recency_days": 20.0, "frequency": 2.0, "monetary": 60.0}
    assert by_cluster[1].log_means["monetary"] == pytest.approx(
        math.log1p(5.0) / 2
    )  # -5 floors at 0
    logs = np.log1p([20.0, 100.0, 60.0, 5.0, 0.0])
    assert population.log_means["monetary"] == pytest.approx(logs.mean())
    assert population.log_stds["monetary"] == pytest.approx(logs.std())
    assert (population.customers, population.revenue) == (5, 180.0)
    assert population.means == pytest.approx(
        {"recency_days": 132.0, "frequency": 1.6, "monetary": 36.0}
    )


def test_profile_rows_carry_the_model_and_ids_and_names_follow_the_model_index():
    described = describe([3, 1, 0, 2])

    rows = profiles.profile_rows(described, ModelKey("kmeans", 4), is_primary=True)
    labels = profiles.ids_and_names(described)

    assert [(r["algorithm"], r["k"], r["is_primary"]) for r in rows] == [("kmeans", 4, True)] * 4
    assert not any(
        r["is_primary"]
        for r in profiles.profile_rows(described, ModelKey("kmeans", 5), is_primary=False)
    )
    assert [r["cluster_id"] for r in rows] == [0, 1, 2, 3]
    assert [r["actions"] for r in rows] == ["\n".join(p.actions) for p in described]
    assert [(r["mean_recency_days"], r["mean_frequency"], r["mean_monetary"]) for r in rows] == [
        (p.feature_means["recency_days"], p.feature_means["frequency"], p.feature_means["monetary"])
        for p in described
    ]
    by_model_cluster = {p.model_cluster: p for p in described}
    assert list(labels.ids) == [by_model_cluster[i].cluster_id for i in range(4)]
    assert list(labels.names) == [by_model_cluster[i].cluster_name for i in range(4)]


def test_feature_rows_hold_each_cluster_s_dicts_one_row_per_feature():
    """An empty cluster has no means, medians or z-scores: its rows carry the centre only."""
    described = describe([0, 1, 2, 3])
    centre = {"recency_days": 30.0, "frequency": 2.0, "monetary": 99.5}
    empty = profiles.ClusterProfile(0, 0, "Nobody", (), 0, 0.0, 0.0, {}, {}, centre, {}, None)

    rows = profiles.feature_rows(described, ModelKey("kmeans", 4))
    lonely = profiles.feature_rows([empty], ModelKey("kmeans", 1))
    [empty_row] = profiles.profile_rows([empty], ModelKey("kmeans", 1), is_primary=False)

    assert len(rows) == 4 * 3
    first = described[0]
    assert [r for r in rows if r["cluster_id"] == first.cluster_id] == [
        {
            "algorithm": "kmeans",
            "k": 4,
            "cluster_id": first.cluster_id,
            "feature": name,
            "mean": first.feature_means[name],
            "median": first.feature_medians[name],
            "centre": first.centre[name],
            "z_score": first.feature_z_scores[name],
        }
        for name in ("recency_days", "frequency", "monetary")
    ]
    assert [(r["feature"], r["mean"], r["median"], r["centre"], r["z_score"]) for r in lonely] == [
        (name, None, None, value, None) for name, value in centre.items()
    ]
    assert (empty_row["actions"], empty_row["mean_monetary"]) == (None, None)
