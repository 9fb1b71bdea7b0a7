"""Which customer columns the models see, how they are transformed, and the way back.

RFM quantities are heavily right-skewed (a few customers order hundreds of times), so the
default features are ``log1p`` of recency, frequency and monetary; without the log a
handful of whales would own every centre. A feature is named either after a numeric
customer_rfm column (``tenure_days``) or ``log_<column>`` (``log_monetary``), with the
short aliases ``recency`` and ``tenure``. Profiles and names are always reported in the
original units, so every transform here has an inverse.

Two kinds of feature come from customer_profiles instead, joined only when one is listed:
``days_since_signup`` and ``profile_<attribute>``. A customer without a profile is assumed
to have signed up at its first purchase (``days_since_signup`` = ``tenure_days``) and counts
0 for an attribute, as any missing feature value does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.layer1_core.config.feature_names import (
    DAYS_SINCE_SIGNUP,
    FREQUENCY,
    HAS_PROFILE,
    MONETARY,
    NAMING_COLUMNS,
    PROFILE_PREFIX,
    RECENCY,
    SEGMENT,
    ClusteringConfigError,
    Feature,
    check_profile_features,
    features_from_frame_columns,
    numeric_rfm_columns,
    parse_feature,
    parse_features,
    profile_columns,
)
from custseg.layer1_core.tables import CUSTOMER_KEY

# The names and parsing live where the config check can import them without pyspark.
from custseg.layer2_io.table_views import feature_expression

__all__ = [
    "DAYS_SINCE_SIGNUP",
    "FREQUENCY",
    "HAS_PROFILE",
    "MONETARY",
    "NAMING_COLUMNS",
    "PROFILE_PREFIX",
    "RECENCY",
    "SEGMENT",
    "ClusteringConfigError",
    "Feature",
    "check_profile_features",
    "features_from_frame_columns",
    "numeric_rfm_columns",
    "parse_feature",
    "parse_features",
    "profile_columns",
    "ScalerStatistics",
    "centre_in_model_units",
    "centre_in_original_units",
    "feature_frame",
]


class ScalerStatistics(NamedTuple):
    """The fitted scaler as plain numbers: model units = (value - shift) / scale per feature.

    A tuple, so ``shift, scale = ...`` still unpacks it; kept together because a centre can
    only be carried between units with both halves of the same scaler.
    """

    shift: Sequence[float]
    scale: Sequence[float]


def feature_frame(rfm_df: DataFrame, features: Sequence[Feature]) -> DataFrame:
    """One row per customer: key, segment, profile columns (double), model inputs."""
    profile = [F.col(c).cast("double").alias(c) for c in profile_columns(features)]
    return rfm_df.select(
        F.col(CUSTOMER_KEY), F.col(SEGMENT), *profile, *[feature_expression(f) for f in features]
    )


def centre_in_original_units(
    centre: Sequence[float], features: Sequence[Feature], scaler: ScalerStatistics
) -> dict[str, float]:
    """A centre in scaled model units -> {customer_rfm column: value in its own units}."""
    return {
        f.column: f.to_original_units(m + s * z)
        for f, z, m, s in zip(features, centre, scaler.shift, scaler.scale)
    }


def centre_in_model_units(
    centre: dict, features: Sequence[Feature], scaler: ScalerStatistics
) -> list[float] | None:
    """Inverse of ``centre_in_original_units`` under *this* run's scaler; None if a column
    is missing. A feature with zero spread is scaled to 0 by StandardScaler, so it maps to
    0 here too.
    """
    if any(centre.get(f.column) is None for f in features):
        return None
    return [
        (f.to_model_units(centre[f.column]) - m) / s if s > 0 else 0.0
        for f, m, s in zip(features, scaler.shift, scaler.scale)
    ]
