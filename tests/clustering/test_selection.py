"""Choosing k per algorithm, which models are kept, and the selection and comparison rows."""

from __future__ import annotations

import pytest

from custseg.clustering import selection
from custseg.clustering.errors import ClusteringConfigError
from custseg.clustering.metrics import ClusterQuality
from custseg.clustering.models import ModelKey
from custseg.clustering.selection import FittedModel


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
    assert selection.choose_k(SWEEP, min_cluster_share=0.02) == 3
    assert selection.choose_k(SWEEP, min_cluster_share=0.0) == 4


def test_ties_go_to_the_smaller_k_and_other_metrics_can_decide():
    assert selection.choose_k(SWEEP, min_cluster_share=0.02, metric="silhouette") == 2
    assert selection.choose_k(SWEEP, min_cluster_share=0.02, metric="calinski_harabasz") == 5


def test_when_no_k_keeps_every_cluster_big_the_size_rule_is_dropped():
    assert selection.choose_k(SWEEP, min_cluster_share=0.6) == 4


def test_no_metric_no_choice():
    assert selection.choose_k([fitted("kmeans", 2, None, [100, 0])], 0.02) is None
    with pytest.raises(ClusteringConfigError, match="unknown selection metric"):
        selection.choose_k(SWEEP, 0.02, metric="inertia")


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


def test_selection_rows_flag_chosen_and_saved_models():
    rows = selection.selection_rows(SWEEP, {"kmeans": 3}, [("kmeans", 3), ("kmeans", 5)])

    assert [(r["k"], r["chosen"], r["saved"]) for r in rows] == [
        (2, False, False),
        (3, True, True),
        (4, False, False),
        (5, False, True),
    ]
    assert rows[2]["smallest_cluster_share"] == pytest.approx(0.01)
    assert rows[0]["sample_size"] == 100


def test_comparison_row_leaves_a_missing_algorithm_null():
    row = selection.comparison_row(4, SWEEP[2], None, None)

    assert row["kmeans_davies_bouldin"] == 0.5
    assert row["bisecting_davies_bouldin"] is None
    assert row["adjusted_rand_index"] is None
