"""A cluster's per-feature profile as {feature: value} dicts, and back.

cluster_features holds one row per cluster and feature, so BI tools read it without
unpacking a nested column. Code that weighs a cluster as a whole (matching the previous
run's centres, the report's table of means) wants one dict per cluster instead:
``with_feature_maps`` rebuilds them next to the cluster_profiles row, under the names the
profile has in ``profiles.ClusterProfile``.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.clustering.feature_names import NAMING_COLUMNS

# ClusterProfile's dict (and the older table's map column) -> its column in cluster_features.
FEATURE_MAPS = {
    "feature_means": "mean",
    "feature_medians": "median",
    "centre": "centre",
    "feature_z_scores": "z_score",
}
CLUSTER_KEYS = ("as_of", "algorithm", "k", "cluster_id")
# cluster_profiles' flat means -> their feature: the naming columns, present in every model.
PROFILE_MEANS = {f"mean_{column}": column for column in NAMING_COLUMNS}
_MAP_TYPE = "map<string,double>"


def with_feature_maps(profiles: DataFrame | None, features: DataFrame | None) -> DataFrame | None:
    """cluster_profiles rows with one map column per ``FEATURE_MAPS`` entry; a cluster with
    no cluster_features rows (or no such table) gets empty maps. A feature whose value is
    null is left out of that map, as a profile dict leaves it out.

    One grouped pass over the small cluster_features rows and a join on the cluster keys.
    """
    if profiles is None:
        return None
    empty = F.create_map().cast(_MAP_TYPE)
    if features is None:
        return profiles.select("*", *[empty.alias(name) for name in FEATURE_MAPS])
    entries = {
        name: F.collect_list(F.when(F.col(value).isNotNull(), F.struct("feature", value)))
        for name, value in FEATURE_MAPS.items()
    }
    maps = features.groupBy(*CLUSTER_KEYS).agg(
        *[F.map_from_entries(entry).alias(name) for name, entry in entries.items()]
    )
    return profiles.join(maps, list(CLUSTER_KEYS), how="left").select(
        *[F.col(f"`{c}`") for c in profiles.columns],
        *[F.coalesce(F.col(name), empty).alias(name) for name in FEATURE_MAPS],
    )
