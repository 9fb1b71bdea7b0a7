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

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import NumericType

from custseg import tables
from custseg.clustering.errors import ClusteringConfigError
from custseg.config import PROFILE_ATTRIBUTE_NAME, ProfileSettings

LOG_PREFIX = "log_"
COLUMN_ALIASES = {"recency": "recency_days", "tenure": "tenure_days"}
FEATURE_COLUMN_PREFIX = "feature_"
CUSTOMER_KEY = "customer_key"
SEGMENT = "segment"
RECENCY, FREQUENCY, MONETARY = "recency_days", "frequency", "monetary"
# The naming rules read these three, so every profile has them whatever the model used.
NAMING_COLUMNS = (RECENCY, FREQUENCY, MONETARY)
DAYS_SINCE_SIGNUP = "days_since_signup"
PROFILE_PREFIX = "profile_"
HAS_PROFILE = "has_profile"
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

    def expression(self) -> Column:
        value = F.coalesce(F.col(self.column).cast("double"), F.lit(0.0))
        if self.log:
            value = F.log1p(F.greatest(value, F.lit(0.0)))
        return value.alias(self.frame_column)

    def to_model_units(self, value: float) -> float:
        return math.log1p(max(value, 0.0)) if self.log else value

    def to_original_units(self, value: float) -> float:
        return math.expm1(value) if self.log else value


class ScalerStatistics(NamedTuple):
    """The fitted scaler as plain numbers: model units = (value - shift) / scale per feature.

    A tuple, so ``shift, scale = ...`` still unpacks it; kept together because a centre can
    only be carried between units with both halves of the same scaler.
    """

    shift: Sequence[float]
    scale: Sequence[float]


def numeric_rfm_columns() -> list[str]:
    return [c.name for c in tables.CUSTOMER_RFM.columns if isinstance(c.type, NumericType)]


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


def feature_frame(rfm_df: DataFrame, features: Sequence[Feature]) -> DataFrame:
    """One row per customer: key, segment, profile columns (double), model inputs."""
    profile = [F.col(c).cast("double").alias(c) for c in profile_columns(features)]
    return rfm_df.select(
        F.col(CUSTOMER_KEY), F.col(SEGMENT), *profile, *[f.expression() for f in features]
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
