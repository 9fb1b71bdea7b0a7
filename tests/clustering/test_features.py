"""Feature names from settings, the feature frame, and centres back to original units."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from chispa import assert_df_equality

from custseg.layer1_core.config import ConfigError, Settings, replace
from custseg.layer1_core.config.model import ClusteringConfigError
from custseg.layer2_io.table_views import with_profile_columns
from custseg.layer3_stages.clustering import features
from custseg.layer3_stages.clustering.features import Feature, ScalerStatistics


def test_default_features_are_log1p_of_recency_frequency_monetary():
    parsed = features.parse_features(["log_recency", "log_frequency", "log_monetary"])

    assert parsed == [
        Feature("log_recency", "recency_days", True),
        Feature("log_frequency", "frequency", True),
        Feature("log_monetary", "monetary", True),
    ]


def test_plain_columns_aliases_and_logs_of_any_numeric_column():
    parsed = features.parse_features(["tenure", "average_order_value", "log_spend_90d"])

    assert parsed == [
        Feature("tenure", "tenure_days", False),
        Feature("average_order_value", "average_order_value", False),
        Feature("log_spend_90d", "spend_90d", True),
    ]


def test_profile_features_are_named_after_the_signup_and_the_attributes():
    parsed = features.parse_features(
        ["days_since_signup", "log_profile_age", "average_quantity", "log_average_order_value"]
    )

    assert parsed == [
        Feature("days_since_signup", "days_since_signup", False),
        Feature("log_profile_age", "profile_age", True),
        Feature("average_quantity", "average_quantity", False),
        Feature("log_average_order_value", "average_order_value", True),
    ]
    assert [f.from_profile for f in parsed] == [True, True, False, False]
    configured = replace(
        Settings(), **{"input.profiles.path": "p.csv", "input.profiles.attributes": ["age"]}
    ).input.profiles
    features.check_profile_features(parsed, configured)
    for names, profiles, message in [
        (["days_since_signup"], None, "needs customer profiles: set input.profiles"),
        (["profile_points"], configured, "input.profiles.attributes does not list 'points'"),
    ]:
        with pytest.raises(ClusteringConfigError, match="clustering.features") as error:
            features.check_profile_features(features.parse_features(names), profiles)
        assert message in str(error.value)


@pytest.mark.parametrize(
    "names, message",
    [
        (["log_recency", "segment"], "unknown feature 'segment'"),
        (["shoe_size"], "unknown feature 'shoe_size'"),
        (["monetary", "log_monetary"], "uses column 'monetary' twice"),
        ([], "at least one feature"),
    ],
)
def test_bad_feature_lists_name_the_setting(names, message):
    with pytest.raises(ClusteringConfigError, match="clustering.features") as error:
        features.parse_features(names)
    assert message in str(error.value)
    assert isinstance(error.value, ConfigError)  # the CLI's usage exit code


def test_profile_columns_always_hold_recency_frequency_monetary():
    parsed = features.parse_features(["log_monetary", "tenure_days"])

    assert features.profile_columns(parsed) == [
        "recency_days",
        "frequency",
        "monetary",
        "tenure_days",
    ]


def test_feature_frame_takes_logs_and_counts_missing_or_negative_values_as_zero(spark):
    rfm = spark.createDataFrame(
        [("a", "Champions", 9, 3, 120.0, None), ("b", "Hibernating", 0, 1, -5.0, 40.0)],
        "customer_key string, segment string, recency_days int, frequency long, monetary double, "
        "spend_90d double",
    )
    parsed = features.parse_features(["log_recency", "log_monetary", "spend_90d"])

    frame = features.feature_frame(rfm, parsed)

    expected = spark.createDataFrame(
        [
            ("a", "Champions", 9.0, 3.0, 120.0, None, math.log1p(9), math.log1p(120.0), 0.0),
            ("b", "Hibernating", 0.0, 1.0, -5.0, 40.0, 0.0, 0.0, 40.0),
        ],
        "customer_key string, segment string, recency_days double, frequency double, "
        "monetary double, spend_90d double, feature_log_recency double, "
        "feature_log_monetary double, feature_spend_90d double",
    )
    assert_df_equality(frame, expected, ignore_nullable=True, ignore_row_order=True)


def test_profile_columns_count_days_to_as_of_and_default_without_a_profile(spark):
    """Signup on the day before as_of is 1 day; no profile, no signup date or a signup on
    as_of or later mean signup at the first purchase (tenure_days); attributes default to
    0."""
    as_of = dt.date(2021, 12, 31)
    rfm = spark.createDataFrame(
        [("a", 100), ("b", 100), ("c", 100), ("d", 100), ("none", 7)],
        "customer_key string, tenure_days int",
    )
    profiles = spark.createDataFrame(
        [
            ("a", dt.date(2021, 12, 30), {"age": 30.0}),
            ("b", dt.date(2020, 12, 31), {}),
            ("c", None, {"age": 50.0}),
            ("d", as_of, {"age": 40.0}),
        ],
        "customer_key string, signup_date date, attributes map<string,double>",
    )
    parsed = features.parse_features(["days_since_signup", "log_profile_age", "tenure"])

    frame = with_profile_columns(rfm, profiles, parsed, as_of)

    expected = spark.createDataFrame(
        [
            ("a", 100, 1, 30.0, True),
            ("b", 100, 365, 0.0, True),
            ("c", 100, 100, 50.0, True),
            ("d", 100, 100, 40.0, True),
            ("none", 7, 7, 0.0, False),
        ],
        "customer_key string, tenure_days int, days_since_signup int, profile_age double, "
        "has_profile boolean",
    )
    assert_df_equality(frame, expected, ignore_nullable=True, ignore_row_order=True)
    rfm_only = features.parse_features(["tenure"])
    assert with_profile_columns(rfm, None, rfm_only, as_of) is rfm
    with pytest.raises(ClusteringConfigError, match="customer_profiles table"):
        with_profile_columns(rfm, None, parsed, as_of)


def test_centres_go_to_original_units_and_back():
    parsed = features.parse_features(["log_monetary", "tenure_days"])
    scaler = ScalerStatistics(shift=[0.0, 0.0], scale=[2.0, 50.0])
    centre = [3.0, 4.0]

    original = features.centre_in_original_units(centre, parsed, scaler)

    assert original == pytest.approx({"monetary": math.expm1(6.0), "tenure_days": 200.0})
    assert features.centre_in_model_units(original, parsed, scaler) == pytest.approx(centre)
    assert features.centre_in_model_units({"monetary": 10.0}, parsed, scaler) is None
