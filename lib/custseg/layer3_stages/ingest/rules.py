"""The validation rules that send rows to quarantine, each under a named reason.

Every rule adds a named reason instead of dropping a row, so the reconciliation
``rows read = written + quarantined + duplicates`` holds by construction and each
quarantined row says all the rules it broke. The rules read the typed columns that
``clean`` adds next to the raw text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import operator

from pyspark.sql import Column
from pyspark.sql import functions as F

from custseg.layer1_core.config import CANONICAL_COLUMNS, CleaningSettings
from custseg.layer3_stages.ingest.sources import CORRUPT_COLUMN, TYPED_TIME_COLUMN

# Reasons, as written to quarantine.reasons and ingest_runs.quarantined_by_reason.
MALFORMED_RECORD = "malformed_record"
MISSING_CUSTOMER_ID = "missing_customer_id"
INVALID_CUSTOMER_ID = "invalid_customer_id"
MISSING_PURCHASE_TIME = "missing_purchase_time"
UNPARSEABLE_PURCHASE_TIME = "unparseable_purchase_time"
PURCHASE_TIME_BEFORE_FLOOR = "purchase_time_before_floor"
EPOCH_ZERO_PURCHASE_TIME = "epoch_zero_purchase_time"
PURCHASE_TIME_AFTER_MAX = "purchase_time_after_max"
INVALID_QUANTITY = "invalid_quantity"
INVALID_UNIT_PRICE = "invalid_unit_price"
INVALID_AMOUNT = "invalid_amount"
AMOUNT_OUT_OF_RANGE = "amount_out_of_range"
AMOUNT_SIGN_MISMATCH = "amount_sign_mismatch"
REPLACEMENT_CHARACTERS = "replacement_characters"
NEGATIVE_PRICE = "negative_price"
ZERO_PRICE = "zero_price"
CANCELLATION = "cancellation"
RETURN = "return"
# Reasons of customer profile rows (input.profiles); the id reasons above apply to them too.
UNPARSEABLE_SIGNUP_DATE = "unparseable_signup_date"
SIGNUP_DATE_BEFORE_FLOOR = "signup_date_before_floor"
INVALID_PROFILE_ATTRIBUTE = "invalid_profile_attribute"
CONFLICTING_PROFILES = "conflicting_profiles"


@dataclasses.dataclass(frozen=True, kw_only=True)
class CleaningRules:
    """The rule parameters of one run: cleaning settings plus the time bounds.

    The upper bound is only ever an explicit ``cleaning.max_purchase_time``: a bound taken
    from the run's as_of would quarantine later purchases for good, since their file is
    then recorded as ingested.
    """

    settings: CleaningSettings
    timestamp_formats: tuple[str, ...]
    min_time: dt.date
    max_time: dt.date | None
    has_order_id: bool
    has_amount: bool


def _blank(column: Column) -> Column:
    return column.isNull() | (F.trim(column) == "")


def _is_cancellation(rules: CleaningRules) -> Column:
    """An order id with the cancellation prefix; never true when there is no order id."""
    prefix = rules.settings.cancellation_prefix
    if not prefix:
        return F.lit(False)
    return F.lit(rules.has_order_id) & F.coalesce(
        F.trim(F.col("order_id")).startswith(prefix), F.lit(False)
    )


def _is_negative() -> Column:
    """A return is a negative quantity; only when no quantity is mapped does a negative
    line total stand for one (a negative price is an error of its own, not a return)."""
    return F.coalesce(
        F.col("quantity_parsed") < 0,
        F.col("quantity_parsed").isNull() & (F.col("amount_parsed") < 0),
        F.lit(False),
    )


def _customer_checks() -> list[tuple[Column, str]]:
    """Lines that do not parse, and rows without a valid customer id."""
    return [
        (F.col(CORRUPT_COLUMN).isNotNull(), MALFORMED_RECORD),
        (_blank(F.col("customer_id")), MISSING_CUSTOMER_ID),
        (~_blank(F.col("customer_id")) & F.col("canonical_id").isNull(), INVALID_CUSTOMER_ID),
    ]


def _record_checks(rules: CleaningRules) -> list[tuple[Column, str]]:
    """Rows that cannot be attributed to a customer and a moment in the allowed range."""
    checks: list[tuple[Column, str]] = [
        *_customer_checks(),
        (_blank(F.col("purchase_time")) & F.col(TYPED_TIME_COLUMN).isNull(), MISSING_PURCHASE_TIME),
        (
            ~_blank(F.col("purchase_time")) & F.col("purchase_time_parsed").isNull(),
            UNPARSEABLE_PURCHASE_TIME,
        ),
        (
            F.col("purchase_time_parsed") < F.lit(rules.min_time).cast("timestamp"),
            PURCHASE_TIME_BEFORE_FLOOR,
        ),
        # Exactly 1970-01-01 00:00:00 is what a zero or missing epoch number turns into.
        (F.unix_micros(F.col("purchase_time_parsed")) == 0, EPOCH_ZERO_PURCHASE_TIME),
    ]
    if rules.max_time is not None:
        checks.append(
            (
                F.col("purchase_time_parsed") >= F.lit(rules.max_time).cast("timestamp"),
                PURCHASE_TIME_AFTER_MAX,
            )
        )
    return checks


def _value_checks(rules: CleaningRules) -> list[tuple[Column, str]]:
    """Numbers that do not parse or do not fit, and line totals that contradict the
    quantity: every row these let through satisfies the transactions table's constraints,
    so one bad row is quarantined instead of failing the whole write."""
    if rules.has_amount:
        quantity, amount = F.col("quantity_parsed"), F.col("amount_parsed")
        return [
            (amount.isNull(), INVALID_AMOUNT),
            (~_blank(F.col("quantity")) & quantity.isNull(), INVALID_QUANTITY),
            (
                ~_blank(F.col("unit_price")) & F.col("unit_price_parsed").isNull(),
                INVALID_UNIT_PRICE,
            ),
            (
                ((quantity >= 0) & (amount < 0)) | ((quantity < 0) & (amount > 0)),
                AMOUNT_SIGN_MISMATCH,
            ),
        ]
    return [
        (F.col("quantity_parsed").isNull(), INVALID_QUANTITY),
        (F.col("unit_price_parsed").isNull(), INVALID_UNIT_PRICE),
        (
            F.col("quantity_parsed").isNotNull()
            & F.col("unit_price_parsed").isNotNull()
            & F.col("amount_parsed").isNull(),
            AMOUNT_OUT_OF_RANGE,
        ),
    ]


def _policy_checks(
    settings: CleaningSettings, is_cancellation: Column, is_negative: Column
) -> list[tuple[Column, str]]:
    """Valid rows the cleaning settings choose to keep out of ``transactions``."""
    checks: list[tuple[Column, str]] = [(F.col("unit_price_parsed") < 0, NEGATIVE_PRICE)]
    price_is_zero = F.coalesce(
        F.col("unit_price_parsed") == 0,
        F.col("unit_price_parsed").isNull() & (F.col("amount_parsed") == 0),
    )
    if settings.zero_price == "quarantine":
        checks.append((price_is_zero, ZERO_PRICE))
    if settings.returns == "drop":
        checks.append((is_cancellation, CANCELLATION))
        checks.append((~is_cancellation & is_negative, RETURN))
    if settings.replacement_characters == "quarantine":
        checks.append((F.col(HAS_REPLACEMENT), REPLACEMENT_CHARACTERS))
    return checks


HAS_REPLACEMENT = "has_replacement_characters"


def has_replacement_column() -> Column:
    """U+FFFD in a mapped text field: bytes the configured encoding could not decode."""
    return F.concat_ws("", *[F.col(name) for name in CANONICAL_COLUMNS]).contains("\ufffd")


def _reasons(checks: list[tuple[Column, str]]) -> Column:
    """The names of the broken rules, in rule order; a null condition breaks nothing.

    One-name arrays concatenated, not an array of names with the nulls filtered out:
    Spark's ``filter`` has no generated code (``CodegenFallback``), so every rule condition
    beneath it ran in the expression interpreter, for every line read."""
    none = F.array().cast("array<string>")
    return F.concat(
        none,
        *[
            F.when(F.coalesce(condition, F.lit(False)), F.array(F.lit(name))).otherwise(none)
            for condition, name in checks
        ],
    )


def reasons_column(rules: CleaningRules) -> Column:
    """``reasons`` of a typed row: an empty array is a clean row."""
    return _reasons(
        [
            *_record_checks(rules),
            *_value_checks(rules),
            *_policy_checks(rules.settings, _is_cancellation(rules), _is_negative()),
        ]
    )


def profile_reasons_column(attributes: dict[str, str], min_date: dt.date) -> Column:
    """``reasons`` of a typed profile row; ``attributes`` maps each attribute's text column
    to its parsed one. A blank signup date or attribute is no error, only an unknown value;
    one reason covers every attribute (raw_record shows which one is wrong)."""
    bad_attributes = [
        ~_blank(F.col(text)) & F.col(parsed).isNull() for text, parsed in attributes.items()
    ]
    return _reasons(
        [
            *_customer_checks(),
            (
                ~_blank(F.col("signup_date")) & F.col("signup_date_parsed").isNull(),
                UNPARSEABLE_SIGNUP_DATE,
            ),
            (F.col("signup_date_parsed") < F.lit(min_date), SIGNUP_DATE_BEFORE_FLOOR),
            (
                functools.reduce(operator.or_, bad_attributes, F.lit(False)),
                INVALID_PROFILE_ATTRIBUTE,
            ),
        ]
    )


def is_return_column(rules: CleaningRules) -> Column:
    """Cancellations and negative lines, kept apart so ``returns: net`` can subtract them."""
    return _is_cancellation(rules) | _is_negative()
