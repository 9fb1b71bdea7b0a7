"""Canonical ids, typing, repeated lines and the row shapes written to the tables.

The raw text is typed next to itself rather than replaced, so the rules in ``rules`` can
tell a blank field from an unparseable one and name the reason. Spark 4 runs
in ANSI mode, where a plain cast of ``"abc"`` to a number aborts the job: every conversion
here is a ``try_`` one.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.layer1_core.config import CANONICAL_COLUMNS
from custseg.layer1_core.tables import CUSTOMER_KEY, MONEY
from custseg.layer2_io.schemas import spark_type
from custseg.layer3_stages.ingest.rules import (
    HAS_REPLACEMENT,
    CleaningRules,
    has_replacement_column,
    is_return_column,
    reasons_column,
)
from custseg.layer3_stages.ingest.sources import (
    BLOCK_START,
    CORRUPT_COLUMN,
    LINE_HASH_COLUMNS,
    SCAN_ORDER,
    SOURCE_FILE,
    TYPED_TIME_COLUMN,
)

# CleaningRules is re-exported: callers build the rules and classify with them together.
__all__ = [
    "RAW_COLUMNS",
    "CleaningRules",
    "canonical_customer_id",
    "classify",
    "drop_repeated_lines",
    "repeated_lines",
    "parse_purchase_time",
    "quarantine_columns",
    "raw_record_json",
    "with_source_row",
    "transactions_columns",
    "without_clean_rows_raw_fields",
]

RAW_COLUMNS = CANONICAL_COLUMNS


def canonical_customer_id(raw: Column, pattern: str, max_length: int = 128) -> Column:
    """``17850``, ``17850.0`` and `` 17850 `` are one id; ``00017`` stays a string.

    Exports that went through a float column write integer ids with a ``.0`` (or ``.00``)
    tail: that tail is dropped, nothing else is parsed. Ids not matching ``pattern`` or
    longer than ``max_length`` (a field that swallowed a line) are null (and quarantined
    as invalid).
    """
    trimmed = F.trim(raw)
    without_float_tail = F.when(
        trimmed.rlike(r"^[0-9]+\.0+$"), F.regexp_extract(trimmed, r"^([0-9]+)\.0+$", 1)
    ).otherwise(trimmed)
    valid = without_float_tail.rlike(pattern) & (F.length(without_float_tail) <= max_length)
    return F.when(valid, without_float_tail)


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
            canonical_customer_id(
                F.col("customer_id"),
                rules.settings.customer_id_pattern,
                rules.settings.customer_id_max_length,
            ),
        )
        .withColumn(
            "purchase_time_parsed",
            parse_purchase_time(
                F.col("purchase_time"), F.col(TYPED_TIME_COLUMN), rules.timestamp_formats
            ),
        )
        .withColumn("quantity_parsed", _whole_number(_number(F.col("quantity"))))
        .withColumn("unit_price_parsed", F.trim(F.col("unit_price")).try_cast(spark_type(MONEY)))
        .withColumn("amount_given", F.trim(F.col("amount")).try_cast(spark_type(MONEY)))
    )
    amount = (
        F.col("amount_given")
        if rules.has_amount
        else F.try_multiply(F.col("quantity_parsed"), F.col("unit_price_parsed")).try_cast(
            spark_type(MONEY)
        )
    )
    return typed.withColumn("amount_parsed", amount)


def classify(df: DataFrame, rules: CleaningRules) -> DataFrame:
    """Adds typed columns and ``reasons`` (empty array = clean row) to canonical raw rows."""
    return (
        _with_typed_columns(df, rules)
        .withColumn(HAS_REPLACEMENT, has_replacement_column())
        .withColumn("reasons", reasons_column(rules))
        .withColumn("is_return", is_return_column(rules))
    )


# Raw fields whose clean values live on in typed columns: after typing, only quarantine
# reads them. The typed time and the given amount are folded into the parsed columns.
_QUARANTINE_ONLY_FIELDS = ("customer_id", "quantity", "unit_price", "amount", "purchase_time")
_TYPING_ONLY_COLUMNS = (TYPED_TIME_COLUMN, "amount_given")


def without_clean_rows_raw_fields(classified: DataFrame) -> DataFrame:
    """The classified lines as the passes after typing read them: raw fields that only
    quarantine needs are kept on quarantined rows alone. Every pass over cached lines reads
    and decodes every cached column, so a narrower row makes each pass cheaper."""
    quarantined = F.size("reasons") > 0
    return classified.select(
        *[
            F.when(quarantined, F.col(name)).alias(name)
            if name in _QUARANTINE_ONLY_FIELDS
            else F.col(name)
            for name in classified.columns
            if name not in _TYPING_ONLY_COLUMNS
        ]
    )


def repeated_lines(rows: DataFrame) -> DataFrame:
    """One row per line that occurs more than once in its file: the line's hashes, how
    often it occurs (``occurrences``) and the scan order of its first occurrence.

    A hash aggregate over two 64-bit columns, not over every text column: cheap enough to
    count identical lines on every run, whichever ``duplicate_lines`` policy is in force.
    """
    return (
        rows.groupBy(*LINE_HASH_COLUMNS)
        .agg(F.count(F.lit(1)).alias("occurrences"), F.min(SCAN_ORDER).alias("first_occurrence"))
        .where(F.col("occurrences") > 1)
    )


def drop_repeated_lines(rows: DataFrame, repeated: DataFrame) -> DataFrame:
    """``rows`` without the second and later occurrences of each repeated line: the first
    one in file order stays, so the same input always keeps the same row."""
    return (
        rows.join(repeated, on=list(LINE_HASH_COLUMNS), how="left")
        .where(
            F.col("first_occurrence").isNull() | (F.col(SCAN_ORDER) == F.col("first_occurrence"))
        )
        .drop("occurrences", "first_occurrence")
    )


def with_source_row(rows: DataFrame, blocks: DataFrame) -> DataFrame:
    """Adds ``source_row``, the row's number among its file's data rows (1-based).

    ``blocks`` holds per file split (``source_file``, ``_block_start``) the scan order of
    its first row and the rows in the file's earlier splits; rows of one split are read in
    file order with consecutive scan orders, so the number follows without sorting rows.
    """
    position = F.col("rows_before") + F.col(SCAN_ORDER) - F.col("first_scan_order") + F.lit(1)
    return rows.join(F.broadcast(blocks), on=[SOURCE_FILE, BLOCK_START], how="left").withColumn(
        "source_row",
        F.when(F.col(BLOCK_START).isNotNull(), position),  # a table has no rows
    )


def raw_record_json(id_key: Column, raw_columns: tuple[str, ...]) -> Column:
    """The row's fields ``raw_columns`` as JSON for quarantine, the customer id as ``id_key``.

    ``id_key`` is the HMAC of the id whether it was valid or not, so the quarantine never
    holds a raw id. Of a malformed line only the id's key is kept: its fields may be
    shifted, so any of them may hold the raw id; ``source_row`` finds the line at its source.
    """
    malformed = F.col(CORRUPT_COLUMN).isNotNull()
    fields = [id_key.alias("customer_id")]
    fields += [
        F.when(~malformed, F.col(name)).alias(name) for name in raw_columns if name != "customer_id"
    ]
    return F.to_json(F.struct(*fields), {"ignoreNullFields": "false"})


def purchase_month() -> Column:
    """The month partition of a kept line (``yyyy-MM``), null for a line to be quarantined."""
    return F.when(F.size("reasons") == 0, F.date_format(F.col("purchase_time_parsed"), "yyyy-MM"))


def transactions_columns(run_id: str) -> list[Column]:
    """Clean rows in the ``transactions`` shape (before tables.conform)."""
    return [
        F.col(CUSTOMER_KEY),
        F.trim(F.col("order_id")).alias("order_id"),
        F.trim(F.col("item_id")).alias("item_id"),
        F.trim(F.col("item_name")).alias("item_name"),
        F.col("quantity_parsed").alias("quantity"),
        F.col("unit_price_parsed").alias("unit_price"),
        F.col("amount_parsed").alias("amount"),
        F.col("is_return"),
        F.col("purchase_time_parsed").alias("purchase_time"),
        F.to_date(F.col("purchase_time_parsed")).alias("purchase_date"),
        purchase_month().alias("purchase_month"),
        F.col(SOURCE_FILE),
        F.lit(run_id).alias("ingest_run_id"),
    ]


def quarantine_columns(
    run_id: str, target_table: str, raw_columns: tuple[str, ...] = RAW_COLUMNS
) -> list[Column]:
    """Rows kept out of ``target_table`` in the ``quarantine`` shape; ``id_key`` is the HMAC
    of the trimmed id text, valid or not (see stage._quarantine_rows)."""
    return [
        raw_record_json(F.col("id_key"), raw_columns).alias("raw_record"),
        F.col(SOURCE_FILE),
        F.col("source_row"),
        F.col("reasons"),
        F.col(CUSTOMER_KEY),
        F.lit(run_id).alias("ingest_run_id"),
        F.lit(target_table).alias("target_table"),
    ]
