"""Choosing k per algorithm, which models are kept, and the selection and comparison rows."""

from __future__ import annotations

import pytest

from custseg.layer1_core.config.model import ClusteringConfigError
from custseg.layer3_stages.clustering import selection
from custseg.layer3_stages.clustering.metrics import ClusterQuality
from custseg.layer3_stages.clustering.models import ModelKey
from custseg.layer3_stages.clustering.selection import FittedModel


def fitted(algorithm, k, davies_bouldin, sizes, *, silhouette=0.5):
    quality = ClusterQuality(
        sizes=tuple(sizes),
        inertia=100.0 / k,
        davies_bouldin=davies_bouldin,
        calinski_harabasz=10.0 * k,
        silhouette=silhouette,
    )
    return FittedModel(
        algorithm,
        k,
        model=None,
        centres=[],
        quality=quality,
        seconds=1.0,
        training_customers=sum(sizes),
    )


SWEEP = [
    fitted("kmeans", 2, 0.9, [50, 50]),
    fitted("kmeans", 3, 0.6, [40, 40, 20]),
    fitted("kmeans", 4, 0.5, [40, 39, 20, 1]),  # best index, but one cluster is 1%
    fitted("kmeans", 5, 0.6, [30, 30, 20, 10, 10]),
]


def test_lowest_davies_bouldin_among_ks_with_big_enough_clusters():
    assert selection.choose_k(SWEEP, min_cluster_share=0.02, min_k=2) == 3
    assert selection.choose_k(SWEEP, min_cluster_share=0.0, min_k=2) == 4


def test_ks_below_min_k_are_never_chosen_however_well_they_score():
    two_best = [fitted("kmeans", 2, 0.3, [50, 50]), *SWEEP[1:]]

    assert selection.choose_k(two_best, 0.02, min_k=2) == 2
    assert selection.choose_k(two_best, 0.02, min_k=3) == 3
    assert selection.choose_k(two_best, 0.02, min_k=5) == 5
    assert selection.choose_k(two_best, 0.02, min_k=6) is None


def test_davies_bouldin_ties_go_to_the_higher_silhouette_then_to_the_smaller_k():
    tied = [
        fitted("kmeans", 3, 0.6, [40, 40, 20], silhouette=0.4),
        fitted("kmeans", 4, 0.6, [30, 30, 20, 20], silhouette=0.7),
        fitted("kmeans", 5, 0.6, [20, 20, 20, 20, 20], silhouette=0.7),
        fitted("kmeans", 6, 0.6, [20, 20, 20, 20, 10, 10], silhouette=None),
    ]

    assert selection.choose_k(tied, 0.02, min_k=3) == 4
    assert selection.choose_k([tied[0], tied[3]], 0.02, min_k=3) == 3  # no silhouette ranks last


def test_other_metrics_can_decide_and_their_ties_go_to_the_smaller_k():
    # every model of SWEEP has silhouette 0.5: k=2 won this tie before min_k existed
    assert selection.choose_k(SWEEP, 0.02, min_k=2, metric="silhouette") == 2
    assert selection.choose_k(SWEEP, 0.02, min_k=3, metric="silhouette") == 3
    assert selection.choose_k(SWEEP, 0.02, min_k=2, metric="calinski_harabasz") == 5


def test_when_no_k_keeps_every_cluster_big_the_size_rule_is_dropped_above_min_k():
    assert selection.choose_k(SWEEP, min_cluster_share=0.6, min_k=2) == 4
    assert selection.choose_k(SWEEP, min_cluster_share=0.6, min_k=5) == 5


def test_no_metric_no_choice():
    assert selection.choose_k([fitted("kmeans", 2, None, [100, 0])], 0.02, min_k=2) is None
    with pytest.raises(ClusteringConfigError, match="unknown selection metric"):
        selection.choose_k(SWEEP, 0.02, min_k=2, metric="inertia")


def by_key(*models):
    return {m.key: m for m in models}


def test_the_primary_model_is_the_chosen_model_with_the_lowest_davies_bouldin():
    models = by_key(
        fitted("kmeans", 4, 0.7, [25, 25, 25, 25]),
        fitted("kmeans", 5, 0.5, [20] * 5),  # better, but not kmeans' choice
        fitted("bisecting_kmeans", 3, 0.6, [40, 30, 30]),
    )
    chosen = {"kmeans": 4, "bisecting_kmeans": 3}

    assert selection.primary_model(models, chosen, ["kmeans", "bisecting_kmeans"]) == (
        ModelKey("bisecting_kmeans", 3)
    )
    assert selection.primary_model(models, {"kmeans": 4}, ["kmeans"]) == ModelKey("kmeans", 4)
    assert selection.primary_model(models, {"kmeans": None}, ["kmeans"]) is None


def test_primary_ties_go_to_the_higher_silhouette_then_to_the_algorithm_listed_first():
    models = by_key(
        fitted("kmeans", 4, 0.6, [25] * 4, silhouette=0.5),
        fitted("bisecting_kmeans", 4, 0.6, [25] * 4, silhouette=0.5),
        fitted("bisecting_kmeans", 5, 0.6, [20] * 5, silhouette=0.8),
    )
    same_k = {"kmeans": 4, "bisecting_kmeans": 4}

    assert selection.primary_model(models, same_k, ["kmeans", "bisecting_kmeans"]).name == (
        "kmeans_k4"
    )
    assert selection.primary_model(models, same_k, ["bisecting_kmeans", "kmeans"]).name == (
        "bisecting_kmeans_k4"
    )
    better_silhouette = {"kmeans": 4, "bisecting_kmeans": 5}
    assert selection.primary_model(
        models, better_silhouette, ["kmeans", "bisecting_kmeans"]
    ) == ModelKey("bisecting_kmeans", 5)


def test_kept_models_are_the_chosen_k_plus_the_fixed_ks():
    kept = selection.kept_models(
        ["kmeans", "bisecting_kmeans"], {"kmeans": 3, "bisecting_kmeans": 5}, [4, 5]
    )

    assert kept == [
        ModelKey("kmeans", 3),
        ModelKey("kmeans", 4),
        ModelKey("kmeans", 5),
        ModelKey("bisecting_kmeans", 4),
        ModelKey("bisecting_kmeans", 5),
    ]
    assert all(isinstance(key, ModelKey) for key in kept)
    assert selection.comparison_ks(kept) == [3, 4, 5]


def test_an_explicit_primary_is_kept_even_when_neither_chosen_nor_fixed():
    kept = selection.kept_models(
        ["kmeans", "bisecting_kmeans"],
        {"kmeans": 3, "bisecting_kmeans": 5},
        [4],
        ModelKey("bisecting_kmeans", 7),
    )

    assert kept == [
        ModelKey("kmeans", 3),
        ModelKey("kmeans", 4),
        ModelKey("bisecting_kmeans", 4),
        ModelKey("bisecting_kmeans", 5),
        ModelKey("bisecting_kmeans", 7),
    ]


def test_selection_rows_flag_chosen_saved_and_primary_models():
    rows = selection.selection_rows(
        SWEEP, {"kmeans": 3}, [("kmeans", 3), ("kmeans", 5)], primary=ModelKey("kmeans", 5)
    )

    assert [(r["k"], r["chosen"], r["saved"], r["is_primary"]) for r in rows] == [
        (2, False, False, False),
        (3, True, True, False),
        (4, False, False, False),
        (5, False, True, True),
    ]
    assert rows[2]["smallest_cluster_share"] == pytest.approx(0.01)
    assert rows[0]["sample_size"] == 100


def test_comparison_row_leaves_a_missing_algorithm_null():
    row = selection.comparison_row(4, SWEEP[2], None, None)

    assert row["kmeans_davies_bouldin"] == 0.5
    assert row["bisecting_davies_bouldin"] is None
    assert row["adjusted_rand_index"] is None
