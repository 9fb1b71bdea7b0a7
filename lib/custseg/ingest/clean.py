"""Canonical ids, typing, duplicates and the row shapes written to the tables.

The raw text is typed next to itself rather than replaced, so a quarantined row can be
written back as it was read; the rules in ``rules`` decide which rows that is. Spark 4 runs
in ANSI mode, where a plain cast of ``"abc"`` to a number aborts the job: every conversion
here is a ``try_`` one.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.config import CANONICAL_COLUMNS
from custseg.ingest.rules import CleaningRules, is_return_column, reasons_column
from custseg.ingest.sources import CORRUPT_COLUMN, SOURCE_FILE, TYPED_TIME_COLUMN
from custseg.tables import MONEY

# CleaningRules is re-exported: callers build the rules and classify with them together.
__all__ = [
    "RAW_COLUMNS",
    "CleaningRules",
    "canonical_customer_id",
    "classify",
    "COPIES",
    "collapse_duplicates",
    "parse_purchase_time",
    "quarantine_columns",
    "raw_record_json",
    "transactions_columns",
]

RAW_COLUMNS = CANONICAL_COLUMNS


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


def _number(column: Column) -> Column:
    return F.trim(column).try_cast("double")


def _whole_number(number: Column) -> Column:
    """Quantities are counts: ``2.0`` is 2, ``2.5`` is no quantity at all."""
    return F.when(number == F.floor(number), number.try_cast("bigint"))


def _with_typed_columns(df: DataFrame, rules: CleaningRules) -> DataFrame:
    """Parsed id, time and numbers beside the raw text, which quarantine still needs.

    Without a mapped amount the line total is quantity x unit price, so amount checks and
    sums downstream do not care where the amount came from.
    """
    typed = (
        df.withColumn(
            "canonical_id",
            canonical_customer_id(F.col("customer_id"), rules.settings.customer_id_pattern),
        )
        .withColumn(
            "purchase_time_parsed",
            parse_purchase_time(
                F.col("purchase_time"), F.col(TYPED_TIME_COLUMN), rules.timestamp_formats
            ),
        )
        .withColumn("quantity_parsed", _whole_number(_number(F.col("quantity"))))
        .withColumn("unit_price_parsed", F.trim(F.col("unit_price")).try_cast(MONEY))
        .withColumn("amount_given", F.trim(F.col("amount")).try_cast(MONEY))
    )
    amount = (
        F.col("amount_given")
        if rules.has_amount
        else (F.col("quantity_parsed") * F.col("unit_price_parsed")).try_cast(MONEY)
    )
    return typed.withColumn("amount_parsed", amount)


def classify(df: DataFrame, rules: CleaningRules) -> DataFrame:
    """Adds typed columns and ``reasons`` (empty array = clean row) to canonical raw rows."""
    return (
        _with_typed_columns(df, rules)
        .withColumn("reasons", reasons_column(rules))
        .withColumn("is_return", is_return_column(rules))
    )


COPIES = "copies"


def collapse_duplicates(df: DataFrame) -> DataFrame:
    """One row per distinct line of a file, with ``copies``: how often the file holds it.

    Exact duplicates are judged within one source file, so a file can be replaced on its own.
    A hash aggregate over every column, not a window sorting every row, and the cleaning
    rules then run once per distinct line; ``copies - 1`` of each line are the duplicates
    removed, so the books still close on the rows read. Every column counts, including a
    Parquet or Delta source's typed time: two lines whose times differ below the second are
    two purchases, although their text (cut to whole seconds) is the same.
    """
    return df.groupBy(*df.columns).agg(F.count(F.lit(1)).alias(COPIES))


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
