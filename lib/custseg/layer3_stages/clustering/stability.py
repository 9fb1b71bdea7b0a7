"""Keeping cluster ids (and with them names) from one monthly run to the next.

A refit numbers its clusters arbitrarily, so the new centres are matched to the previous
run's centres of the same algorithm and k by the assignment of minimum total Euclidean
distance, and each new cluster inherits the id of its match. Distances are measured in
*this* run's standardised units: the previous centres are stored in original units
(cluster_features.centre) and pushed through the current feature transform and scaler, so
both sets sit in one space and a slow drift of the population does not count as movement.

The assignment is solved exactly with the Hungarian algorithm (O(k^3), no scipy at
run time; scipy is only the reference in the tests).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.layer1_core.tables import AS_OF
from custseg.layer3_stages.clustering.models import ModelKey


@dataclasses.dataclass(frozen=True)
class PreviousCluster:
    """A cluster of the earlier run: its id, its name and its centre in original units."""

    cluster_id: int
    cluster_name: str
    centre: dict


@dataclasses.dataclass(frozen=True)
class Match:
    """The earlier cluster a new cluster continues, and how far its centre moved."""

    previous: PreviousCluster
    distance: float


def _square_assignment(cost: Sequence[Sequence[float]]) -> list[int]:
    """Hungarian algorithm with potentials for n rows <= m columns; row i -> column."""
    n, m = len(cost), len(cost[0])
    u = [0.0] * (n + 1)
    v = [0.0] * (m + 1)
    owner = [0] * (m + 1)  # owner[j]: row (1-based) holding column j, 0 = free
    way = [0] * (m + 1)
    for row in range(1, n + 1):
        owner[0] = row
        free_col = 0
        min_slack = [math.inf] * (m + 1)
        used = [False] * (m + 1)
        while True:
            used[free_col] = True
            current_row = owner[free_col]
            delta, next_col = math.inf, 0
            for j in range(1, m + 1):
                if used[j]:
                    continue
                slack = cost[current_row - 1][j - 1] - u[current_row] - v[j]
                if slack < min_slack[j]:
                    min_slack[j], way[j] = slack, free_col
                if min_slack[j] < delta:
                    delta, next_col = min_slack[j], j
            for j in range(m + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    min_slack[j] -= delta
            free_col = next_col
            if owner[free_col] == 0:
                break
        while free_col:
            previous_col = way[free_col]
            owner[free_col] = owner[previous_col]
            free_col = previous_col
    assignment = [0] * n
    for j in range(1, m + 1):
        if owner[j]:
            assignment[owner[j] - 1] = j - 1
    return assignment


def min_cost_assignment(cost: Sequence[Sequence[float]]) -> list[int | None]:
    """Row -> column minimising the total cost; with more rows than columns the rows left
    over get None. Exact for any rectangular matrix of finite costs."""
    if not cost or not cost[0]:
        return [None] * len(cost)
    n, m = len(cost), len(cost[0])
    if n <= m:
        return list(_square_assignment(cost))
    by_column = _square_assignment([[cost[i][j] for i in range(n)] for j in range(m)])
    assignment: list[int | None] = [None] * n
    for column, row in enumerate(by_column):
        assignment[row] = column
    return assignment


def euclidean(a: Sequence[float], b: Sequence[float]) -> float:
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))


def match_previous(
    new_centres: Sequence[Sequence[float]],
    previous: Sequence[PreviousCluster],
    to_model_units: Callable[[dict], list[float] | None],
) -> list[Match | None]:
    """For each new centre (standardised units) the previous cluster it continues, if any.

    Returns all None when there is no previous run or its centres lack a current feature
    (the feature list changed, so the old clusters are not comparable).
    """
    old = [to_model_units(p.centre) for p in previous]
    if not previous or any(c is None for c in old):
        return [None] * len(new_centres)
    cost = [[euclidean(new, prev) for prev in old] for new in new_centres]
    return [
        None if j is None else Match(previous[j], cost[i][j])
        for i, j in enumerate(min_cost_assignment(cost))
    ]


def stable_ids(matches: Sequence[Match | None], priority: Sequence[int]) -> list[int]:
    """Cluster id per model cluster: the matched id, else the smallest free id, handed out
    in ``priority`` order (model cluster indices, most important first)."""
    ids: list[int | None] = [m.previous.cluster_id if m else None for m in matches]
    taken = {i for i in ids if i is not None}
    next_id = 0
    for index in priority:
        if ids[index] is None:
            while next_id in taken:
                next_id += 1
            ids[index] = next_id
            taken.add(next_id)
    return [int(i) for i in ids]


def previous_clusters(profiles: DataFrame | None, as_of) -> dict[ModelKey, list[PreviousCluster]]:
    """{(algorithm, k): clusters} of the latest as_of before ``as_of`` that has that model;
    ``profiles`` are cluster_profiles rows with their ``centre`` map
    (``custseg.layer2_io.table_views.with_feature_maps``).

    Reading per model (not just the latest earlier run) lets a k that was not kept last
    month still find the run that last had it. Only profile rows reach the driver.
    """
    if profiles is None:
        return {}
    earlier = profiles.filter(F.col(AS_OF) < F.lit(as_of))
    latest = earlier.groupBy("algorithm", "k").agg(F.max(AS_OF).alias(AS_OF))
    rows = (
        earlier.join(latest, on=["algorithm", "k", AS_OF], how="inner")
        .select("algorithm", "k", "cluster_id", "cluster_name", "centre")
        .orderBy("algorithm", "k", "cluster_id")
        .collect()
    )
    found: dict[ModelKey, list[PreviousCluster]] = {}
    for row in rows:
        found.setdefault(ModelKey(row["algorithm"], int(row["k"])), []).append(
            PreviousCluster(int(row["cluster_id"]), row["cluster_name"], dict(row["centre"]))
        )
    return found
