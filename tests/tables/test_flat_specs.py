"""The tables BI users read are flat and show money in cents. No Spark."""

from __future__ import annotations

import pytest

from custseg.layer1_core.tables import (
    CLUSTER_FEATURES,
    CLUSTER_PROFILES,
    SEGMENT_SUMMARY,
    SEGMENTS_CURRENT,
)
from custseg.layer1_core.tables.spec import DISPLAY_MONEY

BI_TABLES = (SEGMENTS_CURRENT, SEGMENT_SUMMARY, CLUSTER_PROFILES, CLUSTER_FEATURES)
MONEY = {
    "segments_current": {"spend", "average_order_value"},
    "segment_summary": {"revenue", "mean_monetary", "median_monetary"},
    "cluster_profiles": {"mean_monetary"},
    "cluster_features": set(),
}
MONEY_WORDS = ("spend", "revenue", "monetary", "order_value")


@pytest.mark.parametrize("spec", BI_TABLES, ids=lambda spec: spec.name)
def test_no_array_map_or_struct_column(spec):
    nested = [
        c.name for c in spec.columns if c.sql_type.name.startswith(("array<", "map<", "struct<"))
    ]
    assert nested == []


@pytest.mark.parametrize("spec", BI_TABLES, ids=lambda spec: spec.name)
def test_money_a_person_reads_is_decimal_in_cents(spec):
    """Shares of money are ratios and stay double; every other money column is cents."""
    cents = {c.name for c in spec.columns if c.sql_type == DISPLAY_MONEY}
    named_like_money = {
        c.name
        for c in spec.columns
        if any(word in c.name for word in MONEY_WORDS) and not c.name.endswith("_share")
    }
    assert cents == named_like_money == MONEY[spec.name]
