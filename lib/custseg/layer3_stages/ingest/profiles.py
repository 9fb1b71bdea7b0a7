"""Customer profiles (``input.profiles``): typed, checked and keyed the way transactions
are, then one row per customer for ``customer_profiles``.

An export holds one row per customer, yet exports repeat customers: a repeat with the same
values is the same profile and is written once; repeats that disagree leave no way to tell
which is right, so all of that customer's rows are quarantined.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, MapType, StringType

from custseg.layer1_core.config import CleaningSettings, ProfileSettings
from custseg.layer1_core.tables import CUSTOMER_KEY
from custseg.layer3_stages.ingest.clean import canonical_customer_id, parse_purchase_time
from custseg.layer3_stages.ingest.rules import CONFLICTING_PROFILES, profile_reasons_column
from custseg.layer3_stages.ingest.sources import (
    ATTRIBUTE_PREFIX,
    SCAN_ORDER,
    SOURCE_FILE,
    TYPED_TIME_COLUMN,
)

_PARSED_PREFIX = "_parsed_"  # attribute names start with a letter: no clash with their text


def _finite_number(text: Column) -> Column:
    """The text as a double; NaN and infinity parse as doubles but measure nothing."""
    number = F.trim(text).try_cast("double")
    return F.when(~F.isnan(number) & (F.abs(number) < F.lit(float("inf"))), number)


def _attribute_map(settings: ProfileSettings) -> Column:
    """attribute name -> value for the attributes with a value (blank ones are left out)."""
    if not settings.attributes:
        return F.create_map().cast(MapType(StringType(), DoubleType()))
    every = F.map_from_arrays(
        F.array(*[F.lit(name) for name in settings.attributes]),
        F.array(*[F.col(_PARSED_PREFIX + ATTRIBUTE_PREFIX + n) for n in settings.attributes]),
    )
    return F.map_filter(every, lambda _, value: value.isNotNull())


def classify_profiles(
    raw: DataFrame, settings: ProfileSettings, cleaning: CleaningSettings
) -> DataFrame:
    """Canonical id, signup date and attribute values beside the raw text, and ``reasons``.

    Ids are canonicalised with the transactions' rules, so a customer's profile gets the
    key of its purchases; signup dates before ``cleaning.min_purchase_time`` are refused.
    """
    texts = [ATTRIBUTE_PREFIX + name for name in settings.attributes]
    typed = raw.withColumns(
        {
            "canonical_id": canonical_customer_id(
                F.col("customer_id"),
                cleaning.customer_id_pattern,
                cleaning.customer_id_max_length,
            ),
            "signup_date_parsed": F.to_date(
                parse_purchase_time(
                    F.col("signup_date"), F.col(TYPED_TIME_COLUMN), (settings.date_format,)
                )
            ),
            **{_PARSED_PREFIX + text: _finite_number(F.col(text)) for text in texts},
        }
    )
    reasons = profile_reasons_column(
        {text: _PARSED_PREFIX + text for text in texts}, cleaning.min_purchase_time
    )
    return typed.withColumn("reasons", reasons).withColumn(
        "attributes_parsed", _attribute_map(settings)
    )


def with_conflicts(keyed: DataFrame) -> DataFrame:
    """Clean rows of a customer whose clean rows disagree get the reason
    ``conflicting_profiles``; values are compared as JSON, so 1.0 and 1.00 agree."""
    clean = F.size("reasons") == 0
    values = F.to_json(F.struct("signup_date_parsed", "attributes_parsed"))
    per_customer = Window.partitionBy(CUSTOMER_KEY)
    disagree = F.min(F.when(clean, values)).over(per_customer) != F.max(F.when(clean, values)).over(
        per_customer
    )
    return keyed.withColumn(
        "reasons",
        F.when(clean & disagree, F.array(F.lit(CONFLICTING_PROFILES))).otherwise(F.col("reasons")),
    )


def profile_rows(keyed: DataFrame, run_id: str) -> DataFrame:
    """One row per customer of the clean rows in the ``customer_profiles`` shape; of equal
    repeats the first in file order gives the source file."""
    first = F.min_by(
        F.struct("signup_date_parsed", "attributes_parsed", SOURCE_FILE),
        F.struct(SOURCE_FILE, SCAN_ORDER),
    )
    return (
        keyed.where(F.size("reasons") == 0)
        .groupBy(CUSTOMER_KEY)
        .agg(first.alias("first"))
        .select(
            CUSTOMER_KEY,
            F.col("first.signup_date_parsed").alias("signup_date"),
            F.col("first.attributes_parsed").alias("attributes"),
            F.col(f"first.{SOURCE_FILE}").alias(SOURCE_FILE),
            F.lit(run_id).alias("ingest_run_id"),
        )
    )
