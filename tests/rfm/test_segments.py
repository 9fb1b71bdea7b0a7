import datetime as dt

import pytest
from chispa import assert_df_equality

from custseg.layer3_stages.rfm import segments
from tests.rfm.maps import THREE_BIN_MAP, classic_segment


def test_spark_assignment_follows_the_map_in_every_cell(spark):
    segment_map = segments.load_segment_map(None, 5)
    cells = [(r, f) for r in range(1, 6) for f in range(1, 6)]
    scored = spark.createDataFrame(cells, "r_score int, f_score int")
    expected = spark.createDataFrame(
        [(r, f, classic_segment(r, f)) for r, f in cells],
        "r_score int, f_score int, segment string",
    )
    assert_df_equality(
        segments.assign_segments(scored, segment_map),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_a_three_bin_map_loads_and_assigns(spark, tmp_path):
    path = tmp_path / "segments3.yaml"
    path.write_text(THREE_BIN_MAP, encoding="utf-8")
    segment_map = segments.load_segment_map(str(path), 3)
    assert segment_map.names == ["Best", "New", "Cooling", "Lost"]
    cells = [(r, f) for r in range(1, 4) for f in range(1, 4)]
    expected_names = {(3, 3): "Best", (3, 2): "Best", (3, 1): "New"}
    expected = spark.createDataFrame(
        [(r, f, expected_names.get((r, f), "Cooling" if r == 2 else "Lost")) for r, f in cells],
        "r_score int, f_score int, segment string",
    )
    scored = spark.createDataFrame(cells, "r_score int, f_score int")
    assert_df_equality(
        segments.assign_segments(scored, segment_map),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def _segment_frame(spark, rows):
    return spark.createDataFrame(rows, "customer_key string, segment string")


def test_transitions_count_moves_new_and_gone_customers(spark):
    previous = _segment_frame(
        spark,
        [
            ("a", "Champions"),
            ("b", "Hibernating"),
            ("c", "Champions"),
            ("d", "At Risk"),
            ("f", "Champions"),
        ],
    )
    current = _segment_frame(
        spark,
        [
            ("a", "Champions"),
            ("b", "Promising"),
            ("c", "Loyal Customers"),
            ("e", "New Customers"),
            ("f", "Champions"),
        ],
    )
    result = segments.segment_transitions(
        current, previous, dt.date(2011, 12, 10), dt.date(2011, 11, 10)
    )
    expected = spark.createDataFrame(
        [
            (dt.date(2011, 12, 10), dt.date(2011, 11, 10), "Champions", "Champions", 2),
            (dt.date(2011, 12, 10), dt.date(2011, 11, 10), "Hibernating", "Promising", 1),
            (dt.date(2011, 12, 10), dt.date(2011, 11, 10), "Champions", "Loyal Customers", 1),
            (dt.date(2011, 12, 10), dt.date(2011, 11, 10), "At Risk", None, 1),
            (dt.date(2011, 12, 10), dt.date(2011, 11, 10), None, "New Customers", 1),
        ],
        "as_of date, previous_as_of date, from_segment string, to_segment string, customers long",
    )
    assert_df_equality(result, expected, ignore_row_order=True, ignore_nullable=True)


def test_previous_segment_is_joined_per_customer(spark):
    previous = _segment_frame(spark, [("a", "Champions"), ("d", "At Risk")])
    current = _segment_frame(spark, [("a", "Loyal Customers"), ("e", "New Customers")])
    expected = spark.createDataFrame(
        [("a", "Loyal Customers", "Champions"), ("e", "New Customers", None)],
        "customer_key string, segment string, previous_segment string",
    )
    assert_df_equality(
        segments.with_previous_segment(current, previous),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )
    first_run = segments.with_previous_segment(current, None)
    assert [r["previous_segment"] for r in first_run.collect()] == [None, None]


def test_summary_has_exact_shares_means_and_medians(spark):
    customers = spark.createDataFrame(
        [
            ("a", "Champions", 1, 10, 100.0),
            ("b", "Champions", 3, 20, 300.0),
            ("c", "Champions", 2, 40, 200.0),
            ("d", "Champions", 9, 30, 400.0),
            ("e", "Hibernating", 200, 1, 50.0),
        ],
        "customer_key string, segment string, recency_days int, frequency long, monetary double",
    )
    segment_map = segments.load_segment_map(None, 5)
    rows = {
        r["segment"]: r.asDict()
        for r in segments.segment_summary(customers, segment_map, dt.date(2011, 12, 10)).collect()
    }
    assert set(rows) == {"Champions", "Hibernating"}
    champions = rows["Champions"]
    assert champions["customers"] == 4
    assert champions["customer_share"] == pytest.approx(0.8)
    assert champions["revenue"] == pytest.approx(1000.0)
    assert champions["revenue_share"] == pytest.approx(1000.0 / 1050.0)
    assert champions["mean_recency_days"] == pytest.approx(3.75)
    assert champions["median_recency_days"] == pytest.approx(
        2.5
    )  # pandas median: mean of the middle two
    assert champions["median_frequency"] == pytest.approx(25.0)
    assert champions["median_monetary"] == pytest.approx(250.0)
    assert (champions["r_scores"], champions["f_scores"], champions["segment_order"]) == (
        "5",
        "4-5",
        0,
    )
    assert champions["actions"] == "\n".join(segment_map.segments[0].actions)
    hibernating = rows["Hibernating"]
    assert (hibernating["customers"], hibernating["median_monetary"]) == (1, 50.0)
    assert hibernating["as_of"] == dt.date(2011, 12, 10)


def test_summary_money_is_in_cents_and_shares_come_from_the_unrounded_sums(spark):
    customers = spark.createDataFrame(
        [
            ("a", "Champions", 1, 10, 10.004),
            ("b", "Champions", 3, 20, 10.004),
            ("e", "Hibernating", 200, 1, 0.001),
        ],
        "customer_key string, segment string, recency_days int, frequency long, monetary double",
    )
    summary = segments.segment_summary(
        customers, segments.load_segment_map(None, 5), dt.date(2011, 12, 10)
    )
    rows = {r["segment"]: r for r in summary.collect()}

    assert {f.name: f.dataType.simpleString() for f in summary.schema.fields}["revenue"] == (
        "decimal(18,2)"
    )
    assert [str(rows["Champions"][c]) for c in ("revenue", "mean_monetary")] == ["20.01", "10.00"]
    assert str(rows["Hibernating"]["revenue"]) == "0.00"
    assert rows["Hibernating"]["revenue_share"] == pytest.approx(0.001 / 20.009)
