"""Scores on Spark equal to pandas qcut, without a single-partition sort."""

import datetime as dt
import hashlib

import numpy as np
import pandas as pd
import pytest
from chispa import assert_df_equality
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custseg.layer3_stages.rfm import positions, scoring
from tests.spark_settings import several_partitions


def _customer_key(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def _customers_frame(spark, recency, frequency, monetary):
    rows = [
        (_customer_key(i), int(r), int(f), float(m))
        for i, (r, f, m) in enumerate(zip(recency, frequency, monetary))
    ]
    return spark.createDataFrame(
        rows, "customer_key string, recency_days int, frequency long, monetary double"
    )


def _pandas_scores(pdf: pd.DataFrame, bins: int) -> pd.DataFrame:
    """The classic recipe; where pandas has no bin (all values equal) our documented 1 is used."""

    def ascending(values):
        return (pd.qcut(values, bins, labels=False, duplicates="drop") + 1).fillna(1).astype(int)

    pdf = pdf.sort_values("customer_key").reset_index(drop=True)
    pdf["frequency_rank"] = pdf["frequency"].rank(method="first").astype(int)
    pdf["r_score"] = bins + 1 - ascending(pdf["recency_days"])
    pdf["f_score"] = ascending(pdf["frequency_rank"])
    pdf["m_score"] = ascending(pdf["monetary"])
    return pdf


@st.composite
def customer_columns(draw):
    n = draw(st.integers(1, 40))
    recency = st.one_of(st.integers(0, 400), st.sampled_from([0, 1, 1, 30]))
    frequency = st.one_of(st.integers(1, 3), st.integers(1, 50))
    monetary = st.one_of(st.floats(-50, 1e6, allow_nan=False), st.sampled_from([9.99, 9.99, 20.0]))
    column = lambda strategy: draw(st.lists(strategy, min_size=n, max_size=n))  # noqa: E731
    return column(recency), column(frequency), column(monetary)


@given(columns=customer_columns(), bins=st.sampled_from([2, 3, 5, 10]))
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_scores_equal_pandas_qcut_on_random_customers(spark, columns, bins):
    recency, frequency, monetary = columns
    with several_partitions(spark):
        scored = scoring.score_customers(
            _customers_frame(spark, recency, frequency, monetary), bins
        )
        with scored:
            ours = scored.customers.toPandas().sort_values("customer_key").reset_index(drop=True)
    expected = _pandas_scores(
        pd.DataFrame(
            {
                "customer_key": [_customer_key(i) for i in range(len(recency))],
                "recency_days": recency,
                "frequency": frequency,
                "monetary": monetary,
            }
        ),
        bins,
    )
    for column in ("frequency_rank", "r_score", "f_score", "m_score"):
        assert ours[column].tolist() == expected[column].tolist(), column
    assert scored.count == len(recency)
    _, monetary_bins = pd.qcut(
        pd.Series(monetary), bins, labels=False, retbins=True, duplicates="drop"
    )
    np.testing.assert_array_equal(np.array(scored.edges[scoring.MONETARY]), monetary_bins)
    if len(set(recency)) > 1:  # pandas has no bins when every value is equal
        _, recency_bins = pd.qcut(
            pd.Series(recency), bins, labels=False, retbins=True, duplicates="drop"
        )
        np.testing.assert_array_equal(np.array(scored.edges[scoring.RECENCY]), recency_bins)


def test_order_statistics_cross_partition_borders(spark):
    shuffled = np.random.default_rng(7).permutation(100)
    rows = [(int(v), float(1000 - 2 * v)) for v in shuffled]
    df = spark.createDataFrame(rows, "up int, down double").repartition(3)
    with several_partitions(spark, partitions=5):
        found = positions.order_statistics(df, {"up": [0, 19, 20, 37, 99], "down": [0, 50, 99]})
    assert found == {
        "up": {0: 0.0, 19: 19.0, 20: 20.0, 37: 37.0, 99: 99.0},
        "down": {0: 802.0, 50: 902.0, 99: 1000.0},
    }


def test_counted_order_statistics_equal_the_sorted_ones(spark):
    values = np.random.default_rng(3).choice([0, 1, 1, 1, 2, 7, 7, 30, 365], size=200)
    df = spark.createDataFrame([(int(v),) for v in values], "days int").repartition(3)
    wanted = [0, 1, 44, 45, 100, 150, 198, 199]
    with several_partitions(spark, partitions=5):
        counted = positions.counted_order_statistics(df, "days", wanted)
        by_sort = positions.order_statistics(df, {"days": wanted})["days"]
    assert counted == by_sort == {p: float(v) for p, v in zip(wanted, np.sort(values)[wanted])}
    with pytest.raises(positions.OrderStatisticsError, match="days"):
        positions.counted_order_statistics(df, "days", [200])


def test_frequency_rank_breaks_ties_by_customer_key(spark):
    df = spark.createDataFrame(
        [("d", 2), ("b", 1), ("c", 2), ("a", 1), ("e", 7)], "customer_key string, frequency long"
    )
    with several_partitions(spark, partitions=3):
        ranked = positions.with_rank(df, ["frequency", "customer_key"], "frequency_rank")
        try:
            expected = spark.createDataFrame(
                [("a", 1, 1), ("b", 1, 2), ("c", 2, 3), ("d", 2, 4), ("e", 7, 5)],
                "customer_key string, frequency long, frequency_rank long",
            )
            assert_df_equality(ranked.frame, expected, ignore_row_order=True, ignore_nullable=True)
            assert ranked.count == 5
            assert ranked.cached.rdd.getNumPartitions() > 1  # the ranks did cross partitions
        finally:
            ranked.release()


def test_heavy_ties_drop_edges_like_pandas(spark):
    values = [1, 1, 1, 1, 1, 1, 2, 3, 4, 5]
    df = _customers_frame(spark, values, [1] * 10, values)
    scored = scoring.score_customers(df, 5)
    with scored:
        rows = sorted(scored.customers.select("monetary", "m_score", "r_score").collect())
    # quantiles 1, 1, 1, 1.4, 3.2, 5 -> unique edges 1, 1.4, 3.2, 5: three bins are left.
    assert scored.edges[scoring.MONETARY] == pytest.approx((1.0, 1.4, 3.2, 5.0))
    _, pandas_bins = pd.qcut(pd.Series(values), 5, labels=False, retbins=True, duplicates="drop")
    assert scored.edges[scoring.MONETARY] == tuple(pandas_bins)  # 1.4000000000000004 in both
    assert [r["m_score"] for r in rows] == [1, 1, 1, 1, 1, 1, 2, 2, 3, 3]
    # recency is reversed: the most recent (fewest days) keep the top score.
    assert [r["r_score"] for r in rows] == [5, 5, 5, 5, 5, 5, 4, 4, 3, 3]
    assert list(pd.qcut(pd.Series(values), 5, labels=False, duplicates="drop") + 1) == [
        1,
        1,
        1,
        1,
        1,
        1,
        2,
        2,
        3,
        3,
    ]


def test_all_equal_values_get_the_lowest_ascending_score(spark):
    df = _customers_frame(spark, [4, 4, 4], [2, 2, 2], [10.0, 10.0, 10.0])
    scored = scoring.score_customers(df, 5)
    with scored:
        rows = scored.customers.select("r_score", "f_score", "m_score").collect()
    assert pd.qcut(pd.Series([10.0] * 3), 5, labels=False, duplicates="drop").isna().all()
    assert sorted(tuple(r) for r in rows) == [(5, 1, 1), (5, 3, 1), (5, 5, 1)]


def test_no_customers_give_no_edges(spark):
    df = _customers_frame(spark, [], [], [])
    scored = scoring.score_customers(df, 5)
    with scored:
        assert scored.count == 0
        assert scored.customers.count() == 0
        assert scored.edges == {"recency_days": (), "frequency_rank": (), "monetary": ()}


def test_edges_frame_rows(spark):
    as_of = dt.date(2011, 12, 10)
    frame = scoring.edges_frame(
        spark, {"monetary": (1.0, 1.4, 5.0), "recency_days": (0.0,)}, 5, as_of
    )
    expected = spark.createDataFrame(
        [
            (as_of, "monetary", 5, 0, 1.0),
            (as_of, "monetary", 5, 1, 1.4),
            (as_of, "monetary", 5, 2, 5.0),
            (as_of, "recency_days", 5, 0, 0.0),
        ],
        "as_of date, metric string, bins int, edge_index int, edge double",
    )
    assert_df_equality(frame, expected, ignore_row_order=True, ignore_nullable=True)
