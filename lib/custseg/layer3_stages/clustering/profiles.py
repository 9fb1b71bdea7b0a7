"""What each cluster of one model looks like, its stable id and name, and its
cluster_profiles and cluster_features rows.

Ids come from the previous run's matching cluster (see ``stability``), names and actions
from rules on the profile (see ``naming``), so neither depends on the number the
algorithm happened to give a cluster. Centres are reported in original units so a
profile reads as "spends about 4,500" rather than as a standardised log.

``population_statistics``, ``models_cluster_statistics``, ``label_assignments``, ``segment_crosstab`` and
``ClusterLabels`` live in ``statistics`` and ``assignments``; they are re-exported here
because the pipeline reaches the whole profiling step through this module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from pyspark.sql import DataFrame

from custseg.layer1_core.config.feature_names import FEATURE_MAPS, PROFILE_MEANS
from custseg.layer1_core.tables.spec import actions_text
from custseg.layer3_stages.clustering import features as feats
from custseg.layer3_stages.clustering import models, naming, stability
from custseg.layer3_stages.clustering.assignments import (
    ClusterLabels,
    label_assignments,
    segment_crosstab,
)
from custseg.layer3_stages.clustering.features import Feature, ScalerStatistics
from custseg.layer3_stages.clustering.models import ModelKey
from custseg.layer3_stages.clustering.statistics import (
    EMPTY_CLUSTER,
    ClusterStatistics,
    PopulationStatistics,
    cluster_statistics,
    models_cluster_statistics,
    population_statistics,
    z_scores,
)

__all__ = [
    "ClusterLabels",
    "ClusterProfile",
    "describe",
    "describe_model",
    "feature_rows",
    "ids_and_names",
    "label_assignments",
    "models_cluster_statistics",
    "population_statistics",
    "profile_rows",
    "segment_crosstab",
]


@dataclasses.dataclass(frozen=True)
class ClusterProfile:
    """One cluster: its cluster_profiles row before the run's as_of, algorithm and k are
    added, and in the feature dicts (keyed by column) its cluster_features rows."""

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


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def describe(
    stats: Mapping[int, ClusterStatistics],
    *,
    centres: Sequence[Sequence[float]],
    features: Sequence[Feature],
    scaler: ScalerStatistics,
    population: PopulationStatistics,
    previous: Sequence[stability.PreviousCluster] = (),
    threshold: float,
) -> list[ClusterProfile]:
    """Profiles, stable ids, names and actions of one model, ordered by cluster id.

    Pure (no Spark), so the naming and id rules can be tested on hand-made statistics;
    ``stats`` may leave out clusters that got no customers. ``threshold`` is how many
    population standard deviations (log scale) a level word needs (clustering.name_threshold).
    """
    every = {c: stats.get(c, EMPTY_CLUSTER) for c in range(len(centres))}
    scores = {c: z_scores(s, population) for c, s in every.items()}
    matches = stability.match_previous(
        centres, previous, lambda centre: feats.centre_in_model_units(centre, features, scaler)
    )
    ids = stability.stable_ids(matches, naming.priority(every))
    labels = naming.name_clusters(
        {c: naming.Traits(s.customers, scores[c], s.means) for c, s in every.items()},
        population.means,
        threshold=threshold,
        previous_names={c: m.previous.cluster_name for c, m in enumerate(matches) if m},
    )
    profiles = [
        ClusterProfile(
            model_cluster=c,
            cluster_id=ids[c],
            cluster_name=labels[c].name,
            actions=labels[c].actions,
            customers=s.customers,
            customer_share=_share(s.customers, population.customers),
            revenue_share=_share(s.revenue, population.revenue),
            feature_means=dict(s.means),
            feature_medians=dict(s.medians),
            centre=feats.centre_in_original_units(centres[c], features, scaler),
            feature_z_scores=scores[c],
            match_distance=matches[c].distance if matches[c] else None,
        )
        for c, s in every.items()
    ]
    return sorted(profiles, key=lambda p: p.cluster_id)


def describe_model(
    assigned: DataFrame,
    *,
    centres: Sequence[Sequence[float]],
    features: Sequence[Feature],
    scaler: ScalerStatistics,
    population: PopulationStatistics,
    previous: Sequence[stability.PreviousCluster] = (),
    threshold: float,
    prediction_column: str = models.PREDICTION,
) -> list[ClusterProfile]:
    """``describe`` on the statistics of a model's assignment, gathered in one Spark pass."""
    stats = cluster_statistics(assigned, prediction_column, feats.profile_columns(features))
    return describe(
        stats,
        centres=centres,
        features=features,
        scaler=scaler,
        population=population,
        previous=previous,
        threshold=threshold,
    )


def profile_rows(
    profiles: Sequence[ClusterProfile], key: ModelKey, *, is_primary: bool
) -> list[dict]:
    """cluster_profiles rows (without as_of); the per-feature dicts go to ``feature_rows``."""
    return [
        {
            "algorithm": key.algorithm,
            "k": key.k,
            **dataclasses.asdict(p),
            "actions": actions_text(p.actions),
            **{mean: p.feature_means.get(column) for mean, column in PROFILE_MEANS.items()},
            "is_primary": is_primary,
        }
        for p in profiles
    ]


def feature_rows(profiles: Sequence[ClusterProfile], key: ModelKey) -> list[dict]:
    """cluster_features rows (without as_of): one per cluster and feature of any of its
    dicts, R, F and M first; a value the cluster lacks (no customers, a column the model
    does not read) is None."""
    rows = []
    for p in profiles:
        dicts = {column: getattr(p, name) for name, column in FEATURE_MAPS.items()}
        names = dict.fromkeys(name for values in dicts.values() for name in values)
        rows += [
            {
                "algorithm": key.algorithm,
                "k": key.k,
                "cluster_id": p.cluster_id,
                "feature": name,
                **{column: values.get(name) for column, values in dicts.items()},
            }
            for name in names
        ]
    return rows


def ids_and_names(profiles: Sequence[ClusterProfile]) -> ClusterLabels:
    """The labels ``label_assignments`` needs, indexed by model cluster (profiles are ordered
    by cluster id, which is a different order)."""
    by_index = sorted(profiles, key=lambda p: p.model_cluster)
    return ClusterLabels(
        ids=[p.cluster_id for p in by_index], names=[p.cluster_name for p in by_index]
    )
