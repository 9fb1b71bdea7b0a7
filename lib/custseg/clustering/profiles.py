"""What each cluster looks like, what it is called and what to do about it.

A name must come from what the customers in a cluster do, never from the number the
algorithm happened to give it, so names are rules on the profile relative to the whole
population: for recency, frequency and monetary, the cluster's mean of log1p(value) is
compared with the population's, in population standard deviations (a z-score). Beyond
+/- ``LEVEL_THRESHOLD`` the cluster is high or low on that axis, otherwise middling. The
log scale keeps a few very large customers from dragging every cluster to "low".

Two clusters can earn the same name; the one with more revenue keeps it and the others
get " (2)", " (3)" in revenue order. When the previous run's matching cluster had the
same name (up to that suffix) the exact previous name is kept, so names do not swap
between monthly runs.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.clustering import features as feats
from custseg.clustering import metrics, stability
from custseg.clustering.features import FREQUENCY, MONETARY, RECENCY, Feature

LEVEL_THRESHOLD = 0.35
MEDIAN_ACCURACY = 10_000
CLUSTER_ID, CLUSTER_NAME, DISTANCE = "cluster_id", "cluster_name", "distance_to_centre"


@dataclasses.dataclass(frozen=True)
class ClusterStatistics:
    """Aggregates of one model cluster; dicts are keyed by customer_rfm column."""

    customers: int
    revenue: float
    means: Mapping[str, float]
    medians: Mapping[str, float]
    log_means: Mapping[str, float]


EMPTY_CLUSTER = ClusterStatistics(0, 0.0, {}, {}, {})


@dataclasses.dataclass(frozen=True)
class PopulationStatistics:
    customers: int
    revenue: float
    log_means: Mapping[str, float]
    log_stds: Mapping[str, float]


@dataclasses.dataclass(frozen=True)
class Levels:
    recency: str  # recent | mid | lapsed
    frequency: str  # high | mid | low
    spend: str  # high | mid | low


@dataclasses.dataclass(frozen=True)
class Label:
    name: str
    actions: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class ClusterProfile:
    """One row of cluster_profiles before the run's as_of, algorithm and k are added."""

    model_cluster: int
    cluster_id: int
    cluster_name: str
    actions: tuple[str, ...]
    customers: int
    customer_share: float
    revenue_share: float
    feature_means: Mapping[str, float]
    feature_medians: Mapping[str, float]
    centre: Mapping[str, float]
    feature_z_scores: Mapping[str, float]
    match_distance: float | None


# ---------------------------------------------------------------- statistics (Spark)


def log_scale(column: str) -> Column:
    return F.log1p(F.greatest(F.col(column), F.lit(0.0)))


def _number(value) -> float | None:
    return None if value is None else float(value)


def cluster_statistics(
    assigned: DataFrame, cluster_col: str, columns: Sequence[str]
) -> dict[int, ClusterStatistics]:
    """{model cluster: statistics} in one grouped pass; medians are approximate
    (percentile_approx, rank error below 1/10,000 of the cluster size)."""
    aggregates = [F.count(F.lit(1)).alias("customers"), F.sum(MONETARY).alias("revenue")]
    for i, column in enumerate(columns):
        aggregates += [
            F.avg(column).alias(f"mean{i}"),
            F.percentile_approx(column, 0.5, MEDIAN_ACCURACY).alias(f"median{i}"),
            F.avg(log_scale(column)).alias(f"log{i}"),
        ]
    rows = assigned.groupBy(cluster_col).agg(*aggregates).collect()

    def by_column(row, prefix):
        return {
            c: _number(row[f"{prefix}{i}"])
            for i, c in enumerate(columns)
            if row[f"{prefix}{i}"] is not None
        }

    return {
        int(r[cluster_col]): ClusterStatistics(
            int(r["customers"]),
            float(r["revenue"] or 0.0),
            by_column(r, "mean"),
            by_column(r, "median"),
            by_column(r, "log"),
        )
        for r in rows
    }


def population_statistics(frame: DataFrame, columns: Sequence[str]) -> PopulationStatistics:
    aggregates = [F.count(F.lit(1)).alias("customers"), F.sum(MONETARY).alias("revenue")]
    for i, column in enumerate(columns):
        aggregates += [
            F.avg(log_scale(column)).alias(f"log{i}"),
            F.stddev_pop(log_scale(column)).alias(f"std{i}"),
        ]
    row = frame.agg(*aggregates).first()
    return PopulationStatistics(
        customers=int(row["customers"]),
        revenue=float(row["revenue"] or 0.0),
        log_means={c: _number(row[f"log{i}"]) for i, c in enumerate(columns)},
        log_stds={c: _number(row[f"std{i}"]) for i, c in enumerate(columns)},
    )


# ---------------------------------------------------------------- naming rules (pure)


def z_scores(stats: ClusterStatistics, population: PopulationStatistics) -> dict[str, float]:
    """Cluster mean of log1p(value) minus the population's, in population standard deviations."""
    scores = {}
    for column, value in stats.log_means.items():
        mean, std = population.log_means.get(column), population.log_stds.get(column)
        if mean is None or std is None:
            continue
        scores[column] = (value - mean) / std if std > 0 else 0.0
    return scores


def _level(z: float | None, low: str, high: str, threshold: float) -> str:
    if z is None or abs(z) < threshold:
        return "mid"
    return high if z > 0 else low


def levels(z: Mapping[str, float], threshold: float = LEVEL_THRESHOLD) -> Levels:
    return Levels(
        recency=_level(z.get(RECENCY), "recent", "lapsed", threshold),
        frequency=_level(z.get(FREQUENCY), "low", "high", threshold),
        spend=_level(z.get(MONETARY), "low", "high", threshold),
    )


FREQUENCY_WORDS = {"high": "frequent", "mid": "occasional", "low": "rare"}
SPEND_WORDS = {"high": "high spenders", "mid": "mid spenders", "low": "low spenders"}
RECENCY_PREFIX = {"recent": "recent ", "mid": "", "lapsed": "lapsed "}

RECENCY_ACTIONS = {
    "recent": "Follow up while the last order is fresh: suggest a complementary product "
    "within two weeks of it.",
    "mid": "Time reminders to each customer's usual gap between orders instead of a fixed "
    "mailing calendar.",
    "lapsed": "Run a short win-back sequence of two or three contacts, then stop mailing "
    "those who do not respond.",
}
NEWCOMER_ACTIONS = (
    "Send a welcome series covering delivery, returns and the loyalty programme.",
    "Offer a time-limited incentive on the second order; the first repeat purchase is the "
    "one that predicts loyalty.",
)
NEWCOMER_HIGH_SPEND_ACTION = (
    "Thank them personally for a large first basket and ask for product feedback."
)
LAPSED_BIG_SPENDER_ACTIONS = (
    "Contact them personally and ask what changed; pass the answers to the product and "
    "service teams.",
    "Make a come-back offer built on the categories they used to buy, not a generic discount.",
)


def _value_action(frequency: str, spend: str) -> str:
    if spend == "high" and frequency == "high":
        return (
            "Reward with service perks and early access rather than discounts; their "
            "margin is worth protecting."
        )
    if spend == "high":
        return "Offer a named account contact so large occasional orders turn into a regular habit."
    if frequency == "high":
        return (
            "Lift basket size with bundles and a free-shipping threshold just above "
            "their usual order."
        )
    if frequency == "low" and spend == "low":
        return "Keep contact cost low: automated email only, no paid media."
    if frequency == "mid" and spend == "mid":
        return "Invite them to the loyalty programme with bonus points on the next two orders."
    return "Recommend best-sellers from the categories they already buy to earn a repeat order."


def label(level: Levels) -> Label:
    """Name and actions from the levels; each branch decides both, so a name always comes
    with the same actions."""
    if level.recency == "recent" and level.frequency == "low":
        if level.spend == "high":
            return Label(
                "Recent high-spending newcomers", NEWCOMER_ACTIONS + (NEWCOMER_HIGH_SPEND_ACTION,)
            )
        return Label("Recent newcomers", NEWCOMER_ACTIONS)
    if level.recency == "lapsed" and level.spend == "high":
        return Label("Lapsed big spenders", LAPSED_BIG_SPENDER_ACTIONS)
    text = (
        RECENCY_PREFIX[level.recency]
        + FREQUENCY_WORDS[level.frequency]
        + " "
        + SPEND_WORDS[level.spend]
    )
    return Label(
        text[0].upper() + text[1:],
        (RECENCY_ACTIONS[level.recency], _value_action(level.frequency, level.spend)),
    )


_SUFFIX = re.compile(r" \((\d+)\)$")


def base_name(name: str) -> str:
    """The rule's name without the " (n)" that told two clusters apart."""
    return _SUFFIX.sub("", name)


def priority(stats: Mapping[int, ClusterStatistics]) -> list[int]:
    """Model clusters from most to least revenue (then size); the index only breaks exact ties."""
    return sorted(stats, key=lambda c: (-stats[c].revenue, -stats[c].customers, c))


def unique_names(
    bases: Mapping[int, str], order: Sequence[int], carried: Mapping[int, str]
) -> dict[int, str]:
    """Final names: a carried (previous) name is kept while the rule still gives its base;
    every other cluster gets its base, numbered in ``order`` if already taken."""
    names = {c: carried[c] for c in order if c in carried and base_name(carried[c]) == bases[c]}
    used = set(names.values())
    for cluster in order:
        if cluster in names:
            continue
        candidate, number = bases[cluster], 2
        while candidate in used:
            candidate, number = f"{bases[cluster]} ({number})", number + 1
        names[cluster] = candidate
        used.add(candidate)
    return names


def describe(
    stats: Mapping[int, ClusterStatistics],
    centres: Sequence[Sequence[float]],
    features: Sequence[Feature],
    scaler_shift: Sequence[float],
    scaler_scale: Sequence[float],
    population: PopulationStatistics,
    previous: Sequence[stability.PreviousCluster] = (),
    threshold: float = LEVEL_THRESHOLD,
) -> list[ClusterProfile]:
    """Profiles, stable ids, names and actions of one model, ordered by cluster id.

    ``stats`` comes from ``cluster_statistics``; clusters without customers are allowed.
    """
    every = {c: stats.get(c, EMPTY_CLUSTER) for c in range(len(centres))}
    order = priority(every)
    scores = {c: z_scores(s, population) for c, s in every.items()}
    labels = {c: label(levels(scores[c], threshold)) for c in every}
    matches = stability.match_previous(
        centres,
        previous,
        lambda centre: feats.centre_in_model_units(centre, features, scaler_shift, scaler_scale),
    )
    ids = stability.stable_ids(matches, order)
    names = unique_names(
        {c: labels[c].name for c in every},
        order,
        {c: m.previous.cluster_name for c, m in enumerate(matches) if m},
    )
    profiles = [
        ClusterProfile(
            model_cluster=c,
            cluster_id=ids[c],
            cluster_name=names[c],
            actions=labels[c].actions,
            customers=s.customers,
            customer_share=s.customers / population.customers if population.customers else 0.0,
            revenue_share=s.revenue / population.revenue if population.revenue else 0.0,
            feature_means=dict(s.means),
            feature_medians=dict(s.medians),
            centre=feats.centre_in_original_units(centres[c], features, scaler_shift, scaler_scale),
            feature_z_scores=scores[c],
            match_distance=matches[c].distance if matches[c] else None,
        )
        for c, s in every.items()
    ]
    return sorted(profiles, key=lambda p: p.cluster_id)


def describe_model(
    assigned: DataFrame,
    cluster_col: str,
    centres: Sequence[Sequence[float]],
    features: Sequence[Feature],
    scaler_shift: Sequence[float],
    scaler_scale: Sequence[float],
    population: PopulationStatistics,
    previous: Sequence[stability.PreviousCluster] = (),
) -> list[ClusterProfile]:
    stats = cluster_statistics(assigned, cluster_col, feats.profile_columns(features))
    return describe(stats, centres, features, scaler_shift, scaler_scale, population, previous)


def profile_rows(profiles: Sequence[ClusterProfile], algorithm: str, k: int) -> list[dict]:
    """cluster_profiles rows (without as_of)."""
    return [
        {"algorithm": algorithm, "k": k, **dataclasses.asdict(p), "actions": list(p.actions)}
        for p in profiles
    ]


# ---------------------------------------------------------------- per-customer output


def ids_and_names(profiles: Sequence[ClusterProfile]) -> tuple[list[int], list[str]]:
    """Cluster ids and names indexed by model cluster, as ``label_assignments`` takes them."""
    by_index = sorted(profiles, key=lambda p: p.model_cluster)
    return [p.cluster_id for p in by_index], [p.cluster_name for p in by_index]


def label_assignments(
    assigned: DataFrame,
    cluster_col: str,
    vector_col: str,
    centres: Sequence[Sequence[float]],
    ids: Sequence[int],
    names: Sequence[str],
    algorithm: str,
    k: int,
) -> DataFrame:
    """Adds algorithm, k, stable id, name and distance to the model's centre.

    ``ids[i]`` and ``names[i]`` belong to model cluster i; they are looked up in k-element
    literal arrays, so there is no join and no shuffle.
    """
    position = (F.col(cluster_col) + F.lit(1)).cast("int")
    return (
        assigned.withColumn("algorithm", F.lit(algorithm))
        .withColumn("k", F.lit(k))
        .withColumn(CLUSTER_ID, F.element_at(F.array(*[F.lit(int(i)) for i in ids]), position))
        .withColumn(CLUSTER_NAME, F.element_at(F.array(*[F.lit(str(n)) for n in names]), position))
        .withColumn(DISTANCE, metrics.distance_to_centre(vector_col, cluster_col, centres))
    )


def segment_crosstab(labelled: DataFrame) -> DataFrame:
    """Customers per (model, RFM segment, cluster): how the rule segments spread over clusters."""
    return labelled.groupBy("algorithm", "k", feats.SEGMENT, CLUSTER_ID, CLUSTER_NAME).agg(
        F.count(F.lit(1)).alias("customers")
    )
