"""Spark views of the tables that more than one stage reads the same way.

The stages meet only through tables; where two of them read a table alike (clustering and
the report both rebuild the per-cluster feature maps, join profiles to customers and turn a
configured feature into a model input), the reading lives here, once, below both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.layer1_core.config.feature_names import (
    CLUSTER_KEYS,
    DAYS_SINCE_SIGNUP,
    FEATURE_MAPS,
    HAS_PROFILE,
    PROFILE_PREFIX,
    ClusteringConfigError,
    Feature,
)
from custseg.layer1_core.tables import CUSTOMER_KEY

_MAP_TYPE = "map<string,double>"


def feature_expression(feature: Feature) -> Column:
    """A configured feature as a model input column of a customer_rfm row.

    Missing values count as 0 and log features floor the value at 0 first (see ``Feature``).
    """
    value = F.coalesce(F.col(feature.column).cast("double"), F.lit(0.0))
    if feature.log:
        value = F.log1p(F.greatest(value, F.lit(0.0)))
    return value.alias(feature.frame_column)


def _profile_value(column: str, as_of: dt.date) -> Column:
    """A profile column of a customer_rfm row joined to its profile, with its default."""
    if column == DAYS_SINCE_SIGNUP:
        signup = F.col("signup_date")
        return F.coalesce(
            F.when(signup < F.lit(as_of), F.datediff(F.lit(as_of), signup)), F.col("tenure_days")
        )
    return F.coalesce(F.col("attributes")[column.removeprefix(PROFILE_PREFIX)], F.lit(0.0))


def with_profile_columns(
    customers: DataFrame,
    profiles: DataFrame | None,
    features: Sequence[Feature],
    as_of: dt.date,
) -> DataFrame:
    """customer_rfm rows with the profile columns ``features`` use, and ``has_profile``;
    the rows as they are when no feature needs a profile.

    ``days_since_signup`` counts whole days from the signup date to ``as_of``; a customer
    without a profile, or whose signup date is unknown or not before ``as_of``, is taken to
    have signed up at its first purchase (``tenure_days``). Attributes default to 0.
    """
    columns = list(dict.fromkeys(f.column for f in features if f.from_profile))
    if not columns:
        return customers
    if profiles is None:
        raise ClusteringConfigError(
            f"clustering features {', '.join(columns)} need the customer_profiles table: "
            "set input.profiles and run the ingest stage"
        )
    derived = {column: _profile_value(column, as_of) for column in columns}
    known = profiles.select(CUSTOMER_KEY, "signup_date", "attributes", F.lit(True).alias("_known"))
    return customers.join(known, on=CUSTOMER_KEY, how="left").select(
        *[F.col(f"`{name}`") for name in customers.columns],
        *[value.alias(column) for column, value in derived.items()],
        F.coalesce(F.col("_known"), F.lit(False)).alias(HAS_PROFILE),
    )


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
