"""Recency, frequency, monetary and behaviour features of each customer at an ``as_of`` date.

Times are compared as UTC microseconds (``unix_micros``) against ``as_of`` midnight UTC, so
day counts are the floor of the elapsed time, as pandas ``(as_of - last).days`` gives, and
not Spark's ``datediff`` on calendar dates (which counts 23:00 yesterday as one day ago).
Money is summed as decimals and only turned into a double at the end, so the sums do not
depend on how Spark happened to partition the lines.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.layer1_core.tables import CUSTOMER_KEY

MICROS_PER_DAY = 86_400_000_000
FEATURE_WINDOWS_DAYS = (30, 90, 365)

_ORDER_MICROS = "_order_micros"
_VALUE = "_value"
_QUANTITY = "_quantity"
_IS_PURCHASE = "_is_purchase"


class ReturnsModeError(ValueError):
    """``returns`` is not a mode the metrics know how to apply."""


def as_of_micros(as_of: dt.date) -> int:
    """Microseconds since the epoch of ``as_of`` 00:00 UTC."""
    midnight = dt.datetime(as_of.year, as_of.month, as_of.day, tzinfo=dt.timezone.utc)
    return int(midnight.timestamp()) * 1_000_000


def last_purchase_micros(transactions: DataFrame) -> DataFrame:
    """One row, one column: the latest purchase time as UTC microseconds (null if empty).

    The plain ``max(purchase_time)`` is what Delta answers from the file statistics in its
    log, without reading a data file; converting each row first would scan the table."""
    return transactions.agg(F.max("purchase_time").alias("last")).select(
        F.unix_micros("last").alias("last_purchase_micros")
    )


def transactions_in_window(
    transactions: DataFrame, as_of: dt.date, window_days: int | None = None
) -> DataFrame:
    """Lines with ``as_of - window_days <= purchase_time < as_of`` (no lower bound if None)."""
    end = as_of_micros(as_of)
    micros = F.unix_micros("purchase_time")
    keep = micros < F.lit(end)
    if window_days is not None:
        start = end - window_days * MICROS_PER_DAY
        keep = keep & (micros >= F.lit(start))
    if "purchase_month" in transactions.columns:  # lets Delta skip whole month partitions
        keep = keep & (F.col("purchase_month") <= F.lit(as_of.strftime("%Y-%m")))
        if window_days is not None:
            first_day = as_of - dt.timedelta(days=window_days)
            keep = keep & (F.col("purchase_month") >= F.lit(first_day.strftime("%Y-%m")))
    return transactions.where(keep)


def _order_reference() -> Column:
    """The order id when there is one; otherwise each distinct purchase time is an order."""
    return F.coalesce(
        F.col("order_id"), F.concat(F.lit("@"), F.unix_micros("purchase_time").cast("string"))
    )


def customer_orders(lines: DataFrame, as_of: dt.date, returns: str) -> DataFrame:
    """One row per customer, order and kind (purchase or return part of the order).

    Return and cancellation lines only count when ``returns == "net"``; they never make an
    order count towards frequency. Spend in the 30/90/365-day windows is taken per line.
    """
    if returns not in ("drop", "net"):
        raise ReturnsModeError(f"returns must be 'drop' or 'net', got {returns!r}")
    if returns == "drop":
        lines = lines.where(~F.col("is_return"))
    end = as_of_micros(as_of)
    micros = F.unix_micros("purchase_time")
    zero = F.lit(0).cast("decimal(18,4)")
    window_spend = [
        F.sum(
            F.when(micros >= F.lit(end - days * MICROS_PER_DAY), F.col("amount")).otherwise(zero)
        ).alias(f"_value_{days}d")
        for days in FEATURE_WINDOWS_DAYS
    ]
    return lines.groupBy(
        CUSTOMER_KEY,
        _order_reference().alias("order_ref"),
        (~F.col("is_return")).alias(_IS_PURCHASE),
    ).agg(
        F.min(micros).alias(_ORDER_MICROS),
        F.sum("amount").alias(_VALUE),
        F.try_sum("quantity").alias(_QUANTITY),
        F.count(F.lit(1)).alias("_lines"),
        *window_spend,
    )


def _mean_days_between_orders() -> Column:
    """The mean gap between consecutive purchase orders. The gaps add up to the span from
    the first purchase order to the last (they telescope), so their mean is that span over
    the orders less one: no sort of each customer's orders, and null below two orders."""
    purchase_micros = F.when(F.col(_IS_PURCHASE), F.col(_ORDER_MICROS))
    gap_count = F.count(purchase_micros) - F.lit(1)
    span_days = (F.max(purchase_micros) - F.min(purchase_micros)) / F.lit(float(MICROS_PER_DAY))
    return F.when(gap_count > 0, span_days / gap_count)


def _whole_days_before(as_of: dt.date, micros_column: str) -> Column:
    """floor((as_of - t) / 1 day) for t < as_of, in exact integer arithmetic."""
    return F.expr(f"({as_of_micros(as_of)} - {micros_column}) div {MICROS_PER_DAY}").cast("int")


def _recent_order_counts(end: int) -> list[Column]:
    """Purchase orders in each feature window; returns never count as orders."""
    return [
        F.count(
            F.when(
                F.col(_IS_PURCHASE) & (F.col(_ORDER_MICROS) >= F.lit(end - days * MICROS_PER_DAY)),
                F.lit(1),
            )
        ).alias(f"orders_{days}d")
        for days in FEATURE_WINDOWS_DAYS
    ]


def _recent_spend() -> list[Column]:
    """Spend in each feature window, summed as decimals before the one cast to double."""
    return [
        F.sum(f"_value_{days}d").cast("double").alias(f"spend_{days}d")
        for days in FEATURE_WINDOWS_DAYS
    ]


def _purchase_span() -> list[Column]:
    """First and last order time; a customer with only returns takes them from the returns."""
    purchase = F.col(_IS_PURCHASE)
    return [
        F.coalesce(F.max(F.when(purchase, F.col(_ORDER_MICROS))), F.max(_ORDER_MICROS)).alias(
            "_last_micros"
        ),
        F.coalesce(F.min(F.when(purchase, F.col(_ORDER_MICROS))), F.min(_ORDER_MICROS)).alias(
            "_first_micros"
        ),
    ]


def _totals() -> list[Column]:
    """Orders, net spend and its purchased and returned parts, gaps, lines and net units
    per customer (units are null when the input maps no quantity, or would overflow)."""
    purchase = F.col(_IS_PURCHASE)
    return [
        F.count(F.when(purchase, F.lit(1))).alias("frequency"),
        F.sum(_VALUE).cast("double").alias("monetary"),
        F.coalesce(F.sum(F.when(purchase, F.col(_VALUE))), F.lit(0))
        .cast("double")
        .alias("_purchased_value"),
        F.coalesce(-F.sum(F.when(~purchase, F.col(_VALUE))), F.lit(0))
        .cast("double")
        .alias("_returned_value"),
        _mean_days_between_orders().alias("mean_days_between_orders"),
        F.sum("_lines").alias("transaction_lines"),
        F.try_sum(_QUANTITY).alias(_QUANTITY),
    ]


def _per_customer(orders: DataFrame, as_of: dt.date) -> DataFrame:
    """One aggregation pass over the orders: every total the metrics are derived from."""
    return orders.groupBy(CUSTOMER_KEY).agg(
        *_purchase_span(),
        *_totals(),
        *_recent_spend(),
        *_recent_order_counts(as_of_micros(as_of)),
    )


def _metric_columns(as_of: dt.date) -> list[Column | str]:
    """The ``customer_rfm`` metrics, in table order, from the per-customer totals."""
    return [
        CUSTOMER_KEY,
        _whole_days_before(as_of, "_last_micros").alias("recency_days"),
        "frequency",
        "monetary",
        F.timestamp_micros("_first_micros").alias("first_purchase_time"),
        F.timestamp_micros("_last_micros").alias("last_purchase_time"),
        _whole_days_before(as_of, "_first_micros").alias("tenure_days"),
        "mean_days_between_orders",
        F.try_divide(F.col("monetary"), F.col("frequency").cast("double")).alias(
            "average_order_value"
        ),
        *[f"spend_{days}d" for days in FEATURE_WINDOWS_DAYS],
        *[f"orders_{days}d" for days in FEATURE_WINDOWS_DAYS],
        F.try_divide(F.col("_returned_value"), F.col("_purchased_value")).alias(
            "returned_value_share"
        ),
        "transaction_lines",
        F.try_divide(F.col(_QUANTITY).cast("double"), F.col("frequency").cast("double")).alias(
            "average_quantity"
        ),
    ]


def customer_metrics(lines: DataFrame, as_of: dt.date, returns: str) -> DataFrame:
    """One row per customer of ``lines`` (already limited to the window before ``as_of``).

    ``recency_days``, ``frequency`` and ``monetary`` are the classic R, F, M; the other
    columns are the behaviour features of ``customer_rfm``. A customer whose window holds
    only returns keeps frequency 0 and takes recency from the last return line.
    ``transaction_lines`` counts the lines behind each customer, for the run summary.
    """
    orders = customer_orders(_by_customer(lines), as_of, returns)
    return _per_customer(orders, as_of).select(*_metric_columns(as_of))


def _by_customer(lines: DataFrame) -> DataFrame:
    """The lines hash-partitioned by customer once, before any grouping.

    Partitioning by customer_key satisfies the grouping by order and the grouping by
    customer alike, so the lines cross the network once. Left to itself, Spark partitions by
    (customer, order, kind) for the first grouping and shuffles every order again for the
    second. Spark prunes the lines to the columns the metrics read before this shuffle."""
    return lines.repartition(CUSTOMER_KEY)


def scoreable_customers(metrics: DataFrame, include_non_positive_monetary: bool) -> DataFrame:
    """Customers whose window nets to no spend (only returns) are left out unless asked for:
    they would crowd the lowest monetary bin with refunds rather than customers."""
    if include_non_positive_monetary:
        return metrics
    return metrics.where(F.col("monetary") > 0)


def population_counts(metrics: DataFrame) -> DataFrame:
    """One row: customers, customers with monetary <= 0, and transaction lines in the window."""
    return metrics.agg(
        F.count(F.lit(1)).alias("customers"),
        F.count(F.when(F.col("monetary") <= 0, F.lit(1))).alias("non_positive_monetary"),
        F.coalesce(F.sum("transaction_lines"), F.lit(0)).alias("transaction_lines"),
    )
