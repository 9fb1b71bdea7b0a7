"""Exact minimum-cost assignment and the carrying over of cluster ids between runs."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from custseg.layer3_stages.clustering import stability
from custseg.layer3_stages.clustering.stability import Match, PreviousCluster


def total_cost(cost, assignment):
    return sum(cost[i][j] for i, j in enumerate(assignment) if j is not None)


@pytest.mark.parametrize(
    "shape", [(1, 1), (2, 2), (4, 4), (7, 7), (10, 10), (12, 12), (3, 5), (6, 4)]
)
@pytest.mark.parametrize("seed", range(5))
def test_assignment_cost_equals_scipy(shape, seed):
    cost = np.random.default_rng(seed).random(shape).tolist()
    rows, cols = linear_sum_assignment(np.asarray(cost))

    assignment = stability.min_cost_assignment(cost)

    assert total_cost(cost, assignment) == pytest.approx(
        float(np.asarray(cost)[rows, cols].sum()), abs=1e-12
    )
    used = [j for j in assignment if j is not None]
    assert len(used) == len(set(used)) == min(shape)


def test_assignment_equals_brute_force_on_integer_costs_with_ties():
    cost = [[4, 1, 3, 2], [2, 0, 5, 2], [3, 2, 2, 3], [1, 1, 1, 1]]
    best = min(sum(cost[i][p[i]] for i in range(4)) for p in itertools.permutations(range(4)))

    assert total_cost(cost, stability.min_cost_assignment(cost)) == best


def test_match_previous_follows_permuted_and_shifted_centres():
    previous = [
        PreviousCluster(10, "A", {"x": 0.0, "y": 0.0}),
        PreviousCluster(11, "B", {"x": 5.0, "y": 0.0}),
        PreviousCluster(12, "C", {"x": 0.0, "y": 5.0}),
    ]
    new_centres = [[0.1, 5.2], [0.0, -0.1], [5.1, 0.1]]  # C, A, B moved a little

    matches = stability.match_previous(new_centres, previous, lambda c: [c["x"], c["y"]])

    assert [m.previous.cluster_id for m in matches] == [12, 10, 11]
    assert [m.distance for m in matches] == pytest.approx(
        [np.hypot(0.1, 0.2), 0.1, np.hypot(0.1, 0.1)]
    )


def test_no_match_when_previous_centres_lack_a_current_feature():
    previous = [PreviousCluster(0, "A", {"x": 0.0})]

    def needs_y(centre):
        return [centre["x"], centre["y"]] if "y" in centre else None

    assert stability.match_previous([[0.0, 0.0]], previous, needs_y) == [None]


def test_stable_ids_keep_matched_ids_and_number_the_rest_by_priority():
    kept = Match(PreviousCluster(1, "A", {}), 0.2)

    assert stability.stable_ids([None, kept, None], priority=[2, 1, 0]) == [2, 1, 0]
    assert stability.stable_ids([None, None, None], priority=[2, 0, 1]) == [1, 2, 0]


def test_previous_clusters_come_from_the_latest_earlier_run_of_each_model(spark):
    rows = [
        ("kmeans", 4, dt.date(2021, 11, 30), 0, "Old name", {"monetary": 1.0}),
        ("kmeans", 4, dt.date(2021, 12, 31), 1, "B", {"monetary": 3.0}),
        ("kmeans", 4, dt.date(2021, 12, 31), 0, "A", {"monetary": 2.0}),
        ("kmeans", 5, dt.date(2021, 10, 31), 0, "C", {"monetary": 4.0}),
        ("kmeans", 4, dt.date(2022, 1, 31), 0, "This run", {"monetary": 5.0}),
    ]
    profiles = spark.createDataFrame(
        rows,
        "algorithm string, k int, as_of date, cluster_id int, cluster_name string, "
        "centre map<string, double>",
    )

    found = stability.previous_clusters(profiles, dt.date(2022, 1, 31))

    assert found == {
        ("kmeans", 4): [
            PreviousCluster(0, "A", {"monetary": 2.0}),
            PreviousCluster(1, "B", {"monetary": 3.0}),
        ],
        ("kmeans", 5): [PreviousCluster(0, "C", {"monetary": 4.0})],
    }
    assert stability.previous_clusters(None, dt.date(2022, 1, 31)) == {}
