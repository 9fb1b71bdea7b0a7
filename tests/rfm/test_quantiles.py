"""numpy's quantile rebuilt from a few order statistics: pure, fast, many examples."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custseg.layer3_stages.rfm import quantiles

any_floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
heavy_ties = st.sampled_from([0.0, 1.0, 2.5, 2.5, 7.0, 1e6])
value_lists = st.one_of(
    st.lists(any_floats, min_size=1, max_size=60),
    st.lists(heavy_ties, min_size=1, max_size=60),
    st.lists(st.integers(0, 3).map(float), min_size=1, max_size=200),
)


@given(values=value_lists, bins=st.integers(2, 12))
@settings(max_examples=400, deadline=None)
def test_linear_quantiles_equal_numpy_bit_for_bit(values, bins):
    probabilities = quantiles.qcut_probabilities(bins)
    with np.errstate(all="ignore"):
        expected = np.quantile(np.array(values), probabilities, method="linear")
        ours = quantiles.linear_quantiles(sorted(values), probabilities)
    np.testing.assert_array_equal(ours, expected)


@given(values=value_lists, bins=st.integers(2, 12))
@settings(max_examples=300, deadline=None)
def test_unique_edges_equal_the_bins_pandas_qcut_uses(values, bins):
    with np.errstate(all="ignore"):
        _, pandas_bins = pd.qcut(
            pd.Series(values), bins, labels=False, retbins=True, duplicates="drop"
        )
        ours = quantiles.unique_edges(
            quantiles.linear_quantiles(sorted(values), quantiles.qcut_probabilities(bins))
        )
    np.testing.assert_array_equal(np.array(ours), pandas_bins)


@given(n=st.integers(1, 5000), bins=st.integers(2, 12))
@settings(max_examples=200, deadline=None)
def test_rank_edges_equal_pandas_on_ranks(n, bins):
    _, pandas_bins = pd.qcut(
        pd.Series(np.arange(1, n + 1)), bins, labels=False, retbins=True, duplicates="drop"
    )
    np.testing.assert_array_equal(np.array(quantiles.rank_quantile_edges(n, bins)), pandas_bins)


def test_probabilities_keep_the_percent_round_trip_of_pandas():
    assert quantiles.qcut_probabilities(5).tolist() == [0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
    assert quantiles.qcut_probabilities(10)[7] == 0.7  # linspace alone gives 0.7000000000000001


def test_plan_reads_two_neighbours_and_the_maximum():
    plan = quantiles.plan_linear_quantiles(10, quantiles.qcut_probabilities(5))
    assert plan.lower == (0, 1, 3, 5, 7, 9)
    assert plan.upper == (1, 2, 4, 6, 8, 9)
    assert plan.positions == list(range(10))
    with pytest.raises(quantiles.QuantileError):
        quantiles.plan_linear_quantiles(0, quantiles.qcut_probabilities(5))
