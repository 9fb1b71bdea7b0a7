"""Clustering features by name: which columns a configured feature reads, parsed and
checked without pyspark.

The config is checked against these rules when it is loaded, before Spark starts, so this
module imports no pyspark. The Spark side of the features lives in
``custseg.layer2_io.table_views`` (``feature_expression``, the model input column) and
``custseg.layer3_stages.clustering.features``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Sequence

from custseg.layer1_core import tables
from custseg.layer1_core.config.model import (
    PROFILE_ATTRIBUTE_NAME,
    ClusteringConfigError,
    ProfileSettings,
)

LOG_PREFIX = "log_"
COLUMN_ALIASES = {"recency": "recency_days", "tenure": "tenure_days"}
FEATURE_COLUMN_PREFIX = "feature_"
SEGMENT = "segment"
RECENCY, FREQUENCY, MONETARY = "recency_days", "frequency", "monetary"
# The naming rules read these three, so every profile has them whatever the model used.
NAMING_COLUMNS = (RECENCY, FREQUENCY, MONETARY)
DAYS_SINCE_SIGNUP = "days_since_signup"
PROFILE_PREFIX = "profile_"
HAS_PROFILE = "has_profile"
# ClusterProfile's dict (and the older table's map column) -> its column in cluster_features.
FEATURE_MAPS = {
    "feature_means": "mean",
    "feature_medians": "median",
    "centre": "centre",
    "feature_z_scores": "z_score",
}
CLUSTER_KEYS = (tables.AS_OF, "algorithm", "k", "cluster_id")
# cluster_profiles' flat means -> their feature: the naming columns, present in every model.
PROFILE_MEANS = {f"mean_{column}": column for column in NAMING_COLUMNS}
_PROFILE_COLUMN = re.compile(PROFILE_PREFIX + PROFILE_ATTRIBUTE_NAME)


@dataclasses.dataclass(frozen=True)
class Feature:
    """One model input: ``name`` as configured, taken from customer_rfm ``column``.

    Missing values count as 0 (no spend in the window, no orders) and log features floor
    the value at 0 first, so refunds-heavy customers with a negative balance cannot make
    ``log1p`` undefined.
    """

    name: str
    column: str
    log: bool

    @property
    def from_profile(self) -> bool:
        """Whether the column is derived from customer_profiles rather than customer_rfm."""
        return _is_profile_column(self.column)

    @property
    def frame_column(self) -> str:
        """Column of the feature frame (prefixed so it never clashes with profile columns)."""
        return FEATURE_COLUMN_PREFIX + self.name

    def to_model_units(self, value: float) -> float:
        return math.log1p(max(value, 0.0)) if self.log else value

    def to_original_units(self, value: float) -> float:
        return math.expm1(value) if self.log else value


def numeric_rfm_columns() -> list[str]:
    return [c.name for c in tables.CUSTOMER_RFM.columns if c.sql_type.numeric]


def _is_profile_column(column: str) -> bool:
    return column == DAYS_SINCE_SIGNUP or bool(_PROFILE_COLUMN.fullmatch(column))


def parse_feature(name: str) -> Feature:
    numeric = numeric_rfm_columns()
    log = name.startswith(LOG_PREFIX) and name not in numeric
    column = name[len(LOG_PREFIX) :] if log else name
    column = COLUMN_ALIASES.get(column, column)
    if column not in numeric and not _is_profile_column(column):
        raise ClusteringConfigError(
            f"config key 'clustering.features' has unknown feature {name!r}: use a numeric "
            f"customer_rfm column, {DAYS_SINCE_SIGNUP}, {PROFILE_PREFIX}<attribute> or "
            f"log_ of any of them (columns: {', '.join(numeric)}; aliases: "
            + ", ".join(f"{a}={c}" for a, c in COLUMN_ALIASES.items())
            + ")"
        )
    return Feature(name=name, column=column, log=log)


def check_profile_features(features: Sequence[Feature], profiles: ProfileSettings | None) -> None:
    """Profile features need ``input.profiles`` (``profiles``: its settings or None), a
    mapped signup date for ``days_since_signup`` and each attribute listed."""
    for feature in (f for f in features if f.from_profile):
        if profiles is None:
            raise ClusteringConfigError(
                f"config key 'clustering.features' lists {feature.name!r}, which needs "
                "customer profiles: set input.profiles"
            )
        if feature.column == DAYS_SINCE_SIGNUP and not profiles.columns.get("signup_date"):
            raise ClusteringConfigError(
                f"config key 'clustering.features' lists {feature.name!r}, but "
                "input.profiles.columns maps no signup_date"
            )
        attribute = feature.column.removeprefix(PROFILE_PREFIX)
        if feature.column != DAYS_SINCE_SIGNUP and attribute not in profiles.attributes:
            raise ClusteringConfigError(
                f"config key 'clustering.features' lists {feature.name!r}, but "
                f"input.profiles.attributes does not list {attribute!r}"
            )


def parse_features(names: Sequence[str]) -> list[Feature]:
    """Resolves the configured names; two features of one column would collide in profiles."""
    if not names:
        raise ClusteringConfigError(
            "config key 'clustering.features' must list at least one feature"
        )
    features = [parse_feature(str(n)) for n in names]
    seen: dict[str, str] = {}
    for feature in features:
        if feature.column in seen:
            raise ClusteringConfigError(
                f"config key 'clustering.features' uses column {feature.column!r} twice "
                f"({seen[feature.column]!r} and {feature.name!r}): keep one of them"
            )
        seen[feature.column] = feature.name
    return features


def features_from_frame_columns(frame_columns: Iterable[str]) -> list[Feature]:
    """The features of a saved model, read back from its VectorAssembler input columns."""
    return parse_features(
        [
            c[len(FEATURE_COLUMN_PREFIX) :] if c.startswith(FEATURE_COLUMN_PREFIX) else c
            for c in frame_columns
        ]
    )


def profile_columns(features: Sequence[Feature]) -> list[str]:
    """Columns described in cluster profiles: R, F, M first, then the other model inputs."""
    extra = [f.column for f in features if f.column not in NAMING_COLUMNS]
    return list(NAMING_COLUMNS) + extra
