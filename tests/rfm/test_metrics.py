import datetime as dt
import re

import pandas as pd
import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from custseg.layer3_stages.rfm import metrics
from tests.rfm.factory import key, line, transactions

AS_OF = dt.date(2011, 12, 10)


def _by_customer(df):
    return {row["customer_key"]: row.asDict() for row in df.collect()}


def _ann_lines():
    return [
        line("ann", "2011-12-09 23:30:00", "10.00", "O1"),
        line("ann", "2011-12-09 23:30:00", "5.50", "O1"),
        line("ann", "2011-11-30 12:00:00", "20.00", "O2", quantity=3),
        line("ann", "2011-09-01 00:00:00", "4.50", "O3"),
        line("ann", "2011-12-01 10:00:00", "-5.00", "C1", is_return=True),
    ]


def test_last_purchase_micros_reads_the_latest_time(spark):
    df = transactions(
        spark, [line("a", "2011-12-09 23:59:00", "1"), line("b", "2010-01-01 00:00:00", "1")]
    )
    value = metrics.last_purchase_micros(df).first()[0]
    assert value == metrics.as_of_micros(dt.date(2011, 12, 10)) - 60 * 1_000_000


def test_recency_is_the_floor_of_elapsed_days_like_pandas_not_datediff(spark):
    times = {
        "late_yesterday": "2011-12-09 23:30:00",
        "midnight_yesterday": "2011-12-09 00:00:00",
        "just_after_midnight": "2011-12-09 00:00:01",
        "two_days": "2011-12-07 23:59:59",
    }
    df = transactions(spark, [line(name, t, "1.00", name) for name, t in times.items()])
    result = _by_customer(metrics.customer_metrics(df, AS_OF, "drop"))
    as_of = pd.Timestamp(AS_OF)
    for name, t in times.items():
        assert result[key(name)]["recency_days"] == (as_of - pd.Timestamp(t)).days, name
    # Spark's datediff on dates would say 1 for a purchase at 23:30 the day before.
    assert result[key("late_yesterday")]["recency_days"] == 0
    assert result[key("midnight_yesterday")]["recency_days"] == 1


def test_net_returns_reduce_spend_but_not_orders(spark):
    df = transactions(spark, _ann_lines())
    ann = _by_customer(metrics.customer_metrics(df, AS_OF, "net"))[key("ann")]
    assert ann["frequency"] == 3
    assert ann["monetary"] == pytest.approx(35.0)
    assert ann["returned_value_share"] == pytest.approx(5.0 / 40.0)
    assert ann["average_order_value"] == pytest.approx(35.0 / 3)
    assert ann["average_quantity"] == pytest.approx((1 + 1 + 3 + 1 - 1) / 3)  # net of the return


def test_dropped_returns_are_ignored_even_when_present(spark):
    df = transactions(spark, _ann_lines())
    ann = _by_customer(metrics.customer_metrics(df, AS_OF, "drop"))[key("ann")]
    assert (ann["frequency"], ann["monetary"], ann["returned_value_share"]) == (3, 40.0, 0.0)
    assert ann["average_quantity"] == pytest.approx(6 / 3)


def test_behaviour_features_of_one_customer(spark):
    df = transactions(spark, _ann_lines())
    ann = _by_customer(metrics.customer_metrics(df, AS_OF, "net"))[key("ann")]
    first = pd.Timestamp("2011-09-01 00:00:00")
    last = pd.Timestamp("2011-12-09 23:30:00")
    assert ann["recency_days"] == 0
    assert ann["tenure_days"] == 100
    # The mean of consecutive gaps telescopes to (last - first) / (orders - 1).
    assert ann["mean_days_between_orders"] == pytest.approx(
        (last - first) / pd.Timedelta(days=1) / 2
    )
    assert (ann["spend_30d"], ann["spend_90d"], ann["spend_365d"]) == pytest.approx(
        (30.5, 30.5, 35.0)
    )
    assert (ann["orders_30d"], ann["orders_90d"], ann["orders_365d"]) == (2, 2, 3)
    assert ann["transaction_lines"] == 5


def test_first_and_last_purchase_times_are_utc(spark):
    df = transactions(spark, _ann_lines())
    row = (
        metrics.customer_metrics(df, AS_OF, "net")
        .select(
            F.date_format("first_purchase_time", "yyyy-MM-dd HH:mm:ss").alias("first"),
            F.date_format("last_purchase_time", "yyyy-MM-dd HH:mm:ss").alias("last"),
        )
        .first()
    )
    assert (row["first"], row["last"]) == ("2011-09-01 00:00:00", "2011-12-09 23:30:00")


def test_without_order_ids_each_purchase_time_is_an_order(spark):
    df = transactions(
        spark,
        [
            line("bob", "2011-12-08 10:00:00", "3.00"),
            line("bob", "2011-12-08 10:00:00", "2.00"),
            line("bob", "2011-12-08 10:00:01", "1.00"),
        ],
    )
    bob = _by_customer(metrics.customer_metrics(df, AS_OF, "drop"))[key("bob")]
    assert (bob["frequency"], bob["monetary"], bob["recency_days"]) == (2, 6.0, 1)
    assert bob["mean_days_between_orders"] == pytest.approx(1 / 86400)


def test_single_order_has_no_gap_and_only_returns_have_no_orders(spark):
    df = transactions(
        spark,
        [
            line("one", "2011-12-01 00:00:00", "8.00", "A"),
            line("refund_only", "2011-12-05 12:00:00", "-7.00", "C9", is_return=True),
        ],
    )
    result = _by_customer(metrics.customer_metrics(df, AS_OF, "net"))
    assert result[key("one")]["mean_days_between_orders"] is None
    refund = result[key("refund_only")]
    assert (refund["frequency"], refund["monetary"], refund["recency_days"]) == (0, -7.0, 4)
    assert refund["average_order_value"] is None
    assert refund["average_quantity"] is None
    assert refund["returned_value_share"] is None


def test_window_keeps_lines_from_as_of_minus_window_up_to_before_as_of(spark):
    df = transactions(
        spark,
        [
            line("a", "2011-11-10 00:00:00", "1", "in_first_instant"),
            line("a", "2011-11-09 23:59:59", "1", "out_just_before"),
            line("a", "2011-12-09 23:59:59", "1", "in_last_second"),
            line("a", "2011-12-10 00:00:00", "1", "out_at_as_of"),
            line("a", "2012-01-05 00:00:00", "1", "out_after"),
        ],
    )
    kept = metrics.transactions_in_window(df, AS_OF, window_days=30).select("order_id")
    expected = spark.createDataFrame(
        [("in_first_instant",), ("in_last_second",)], "order_id string"
    )
    assert_df_equality(kept, expected, ignore_row_order=True, ignore_nullable=True)
    unbounded = metrics.transactions_in_window(df, AS_OF).select("order_id")
    assert sorted(r[0] for r in unbounded.collect()) == [
        "in_first_instant",
        "in_last_second",
        "out_just_before",
    ]


def test_non_positive_monetary_customers_are_left_out_and_counted(spark):
    df = transactions(
        spark,
        [
            line("buyer", "2011-12-01 00:00:00", "8.00", "A"),
            line("refund_only", "2011-12-05 12:00:00", "-7.00", "C9", is_return=True),
            line("net_zero", "2011-12-02 00:00:00", "5.00", "B"),
            line("net_zero", "2011-12-03 00:00:00", "-5.00", "C2", is_return=True),
        ],
    )
    per_customer = metrics.customer_metrics(df, AS_OF, "net")
    kept = metrics.scoreable_customers(per_customer, include_non_positive_monetary=False)
    assert [r["customer_key"] for r in kept.collect()] == [key("buyer")]
    everyone = metrics.scoreable_customers(per_customer, include_non_positive_monetary=True)
    assert everyone.count() == 3
    counts = metrics.population_counts(per_customer).first().asDict()
    assert counts == {"customers": 3, "non_positive_monetary": 2, "transaction_lines": 4}


def test_the_lines_are_shuffled_once_for_all_the_groupings(spark):
    df = transactions(spark, _ann_lines() + [line("bob", "2011-11-01 00:00:00", "3.00", "B1")])
    plan = metrics.customer_metrics(df, AS_OF, "net")._jdf.queryExecution().executedPlan()
    exchanges = [n for n in plan.toString().splitlines() if "Exchange hashpartitioning" in n]
    assert len(exchanges) == 1
    assert re.search(r"hashpartitioning\(customer_key#\d+, \d+\)", exchanges[0]), exchanges


def test_unknown_returns_mode_is_refused(spark):
    df = transactions(spark, [line("a", "2011-12-01 00:00:00", "1")])
    with pytest.raises(metrics.ReturnsModeError, match="returns"):
        metrics.customer_orders(df, AS_OF, "keep")


def test_named_errors_stay_value_errors_for_the_cli():
    assert issubclass(metrics.ReturnsModeError, ValueError)
