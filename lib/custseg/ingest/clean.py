"""Canonical ids, typing and the validation rules that send rows to quarantine.

Every rule adds a named reason instead of dropping a row, so the reconciliation
``rows read = written + quarantined + duplicates`` holds by construction and each
quarantined row says all the rules it broke. Spark 4 runs in ANSI mode, where a plain
cast of ``"abc"`` to a number aborts the job: every conversion here is a ``try_`` one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from custseg.config import CANONICAL_COLUMNS, CleaningSettings
from custseg.ingest.sources import CORRUPT_COLUMN, SOURCE_FILE, TYPED_TIME_COLUMN
from custseg.tables import MONEY

# Reasons, as written to quarantine.reasons and ingest_runs.quarantined_by_reason.
MALFORMED_RECORD = "malformed_record"
MISSING_CUSTOMER_ID = "missing_customer_id"
INVALID_CUSTOMER_ID = "invalid_customer_id"
MISSING_PURCHASE_TIME = "missing_purchase_time"
UNPARSEABLE_PURCHASE_TIME = "unparseable_purchase_time"
PURCHASE_TIME_BEFORE_FLOOR = "purchase_time_before_floor"
PURCHASE_TIME_AFTER_AS_OF = "purchase_time_after_as_of"
INVALID_QUANTITY = "invalid_quantity"
INVALID_UNIT_PRICE = "invalid_unit_price"
INVALID_AMOUNT = "invalid_amount"
NEGATIVE_PRICE = "negative_price"
ZERO_PRICE = "zero_price"
CANCELLATION = "cancellation"
RETURN = "return"

RAW_COLUMNS = CANONICAL_COLUMNS


@dataclasses.dataclass(frozen=True)
class CleaningRules:
    """The rule parameters of one run: cleaning settings plus the time bounds."""

    settings: CleaningSettings
    timestamp_formats: tuple[str, ...]
    min_time: dt.date
    max_time: dt.date | None
    has_order_id: bool
    has_amount: bool


def canonical_customer_id(raw: Column, pattern: str) -> Column:
    """``17850``, ``17850.0`` and `` 17850 `` are one id; ``00017`` stays a string.

    Exports that went through a float column write integer ids with a ``.0`` (or ``.00``)
    tail: that tail is dropped, nothing else is parsed. Ids not matching ``pattern`` are
    null (and quarantined as invalid).
    """
    trimmed = F.trim(raw)
    without_float_tail = F.when(
        trimmed.rlike(r"^[0-9]+\.0+$"), F.regexp_extract(trimmed, r"^([0-9]+)\.0+$", 1)
    ).otherwise(trimmed)
    return F.when(without_float_tail.rlike(pattern), without_float_tail)


def parse_purchase_time(raw: Column, typed: Column, formats: tuple[str, ...]) -> Column:
    parsed = [F.try_to_timestamp(raw, F.lit(fmt)) for fmt in formats]
    return F.coalesce(typed, *parsed)


def _blank(column: Column) -> Column:
    return column.isNull() | (F.trim(column) == "")


def _number(column: Column) -> Column:
    return F.trim(column).try_cast("double")


def classify(df: DataFrame, rules: CleaningRules) -> DataFrame:
    """Adds typed columns and ``reasons`` (empty array = clean row) to canonical raw rows."""
    settings = rules.settings
    canonical_id = canonical_customer_id(F.col("customer_id"), settings.customer_id_pattern)
    purchase_time = parse_purchase_time(
        F.col("purchase_time"), F.col(TYPED_TIME_COLUMN), rules.timestamp_formats
    )
    quantity_number = _number(F.col("quantity"))
    unit_price_number = F.trim(F.col("unit_price")).try_cast(MONEY)
    amount_number = F.trim(F.col("amount")).try_cast(MONEY)
    typed = (
        df.withColumn("canonical_id", canonical_id)
        .withColumn("purchase_time_parsed", purchase_time)
        .withColumn(
            "quantity_parsed",
            F.when(quantity_number == F.floor(quantity_number), quantity_number.try_cast("bigint")),
        )
        .withColumn("unit_price_parsed", unit_price_number)
        .withColumn("amount_given", amount_number)
    )
    amount = (
        F.col("amount_given")
        if rules.has_amount
        else (F.col("quantity_parsed") * F.col("unit_price_parsed")).try_cast(MONEY)
    )
    typed = typed.withColumn("amount_parsed", amount)

    quantity_present = ~_blank(F.col("quantity"))
    price_present = ~_blank(F.col("unit_price"))
    is_cancellation = (
        (
            F.lit(rules.has_order_id)
            & F.coalesce(
                F.trim(F.col("order_id")).startswith(settings.cancellation_prefix), F.lit(False)
            )
        )
        if settings.cancellation_prefix
        else F.lit(False)
    )
    # A return is a negative quantity; only when no quantity is mapped does a negative
    # line total stand for one (a negative price is an error of its own, not a return).
    is_negative = F.coalesce(
        F.col("quantity_parsed") < 0,
        F.col("quantity_parsed").isNull() & (F.col("amount_parsed") < 0),
        F.lit(False),
    )
    checks: list[tuple[Column, str]] = [
        (F.col(CORRUPT_COLUMN).isNotNull(), MALFORMED_RECORD),
        (_blank(F.col("customer_id")), MISSING_CUSTOMER_ID),
        (~_blank(F.col("customer_id")) & F.col("canonical_id").isNull(), INVALID_CUSTOMER_ID),
        (_blank(F.col("purchase_time")) & F.col(TYPED_TIME_COLUMN).isNull(), MISSING_PURCHASE_TIME),
        (
            ~_blank(F.col("purchase_time")) & F.col("purchase_time_parsed").isNull(),
            UNPARSEABLE_PURCHASE_TIME,
        ),
        (
            F.col("purchase_time_parsed") < F.lit(rules.min_time).cast("timestamp"),
            PURCHASE_TIME_BEFORE_FLOOR,
        ),
    ]
    if rules.max_time is not None:
        checks.append(
            (
                F.col("purchase_time_parsed") >= F.lit(rules.max_time).cast("timestamp"),
                PURCHASE_TIME_AFTER_AS_OF,
            )
        )
    if rules.has_amount:
        checks.append((F.col("amount_parsed").isNull(), INVALID_AMOUNT))
        checks.append((quantity_present & F.col("quantity_parsed").isNull(), INVALID_QUANTITY))
        checks.append((price_present & F.col("unit_price_parsed").isNull(), INVALID_UNIT_PRICE))
    else:
        checks.append((F.col("quantity_parsed").isNull(), INVALID_QUANTITY))
        checks.append((F.col("unit_price_parsed").isNull(), INVALID_UNIT_PRICE))
    checks.append((F.col("unit_price_parsed") < 0, NEGATIVE_PRICE))
    price_is_zero = F.coalesce(
        F.col("unit_price_parsed") == 0,
        F.col("unit_price_parsed").isNull() & (F.col("amount_parsed") == 0),
    )
    if settings.zero_price == "quarantine":
        checks.append((price_is_zero, ZERO_PRICE))
    if settings.returns == "drop":
        checks.append((is_cancellation, CANCELLATION))
        checks.append((~is_cancellation & is_negative, RETURN))
    reasons = F.filter(
        F.array(
            *[
                F.when(F.coalesce(condition, F.lit(False)), F.lit(name))
                for condition, name in checks
            ]
        ),
        lambda reason: reason.isNotNull(),
    )
    return typed.withColumn("reasons", reasons).withColumn(
        "is_return", is_cancellation | is_negative
    )


def mark_duplicates(df: DataFrame) -> DataFrame:
    """``is_duplicate``: every copy of an exact duplicate line after the first, per file.

    Duplicates are judged within one source file, so a file can be replaced on its own.
    """
    key_columns = [SOURCE_FILE, CORRUPT_COLUMN, *RAW_COLUMNS]
    window = Window.partitionBy(*key_columns).orderBy(F.lit(1))
    return df.withColumn("is_duplicate", F.row_number().over(window) > 1)


def raw_record_json(customer_key: Column) -> Column:
    """The source row as JSON for quarantine, with a valid id replaced by its key.

    Malformed lines keep their text, with the id token (when it was a valid id) replaced.
    """
    fields = [
        F.when(F.col("canonical_id").isNotNull(), customer_key)
        .otherwise(F.col("customer_id"))
        .alias("customer_id")
    ]
    fields += [F.col(name) for name in RAW_COLUMNS if name != "customer_id"]
    as_json = F.to_json(F.struct(*fields), {"ignoreNullFields": "false"})
    corrupt_text = F.when(
        F.col("canonical_id").isNotNull(),
        F.replace(F.col(CORRUPT_COLUMN), F.trim(F.col("customer_id")), customer_key),
    ).otherwise(F.col(CORRUPT_COLUMN))
    return F.coalesce(
        F.when(
            F.col(CORRUPT_COLUMN).isNotNull(),
            F.to_json(F.struct(corrupt_text.alias("malformed_line"))),
        ),
        as_json,
    )


def transactions_columns(run_id: str) -> list[Column]:
    """Clean rows in the ``transactions`` shape (before tables.conform)."""
    return [
        F.col("customer_key"),
        F.trim(F.col("order_id")).alias("order_id"),
        F.trim(F.col("item_id")).alias("item_id"),
        F.trim(F.col("item_name")).alias("item_name"),
        F.col("quantity_parsed").alias("quantity"),
        F.col("unit_price_parsed").alias("unit_price"),
        F.col("amount_parsed").alias("amount"),
        F.col("is_return"),
        F.col("purchase_time_parsed").alias("purchase_time"),
        F.to_date(F.col("purchase_time_parsed")).alias("purchase_date"),
        F.date_format(F.col("purchase_time_parsed"), "yyyy-MM").alias("purchase_month"),
        F.col(SOURCE_FILE),
        F.lit(run_id).alias("ingest_run_id"),
    ]


def quarantine_columns(run_id: str) -> list[Column]:
    return [
        raw_record_json(F.col("customer_key")).alias("raw_record"),
        F.col(SOURCE_FILE),
        F.col("reasons"),
        F.col("customer_key"),
        F.lit(run_id).alias("ingest_run_id"),
    ]
