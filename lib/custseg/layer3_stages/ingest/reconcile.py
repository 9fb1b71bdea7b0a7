"""Counting where every input row went, and refusing a run where the books do not close."""

from __future__ import annotations

import dataclasses

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.layer1_core.tables import CUSTOMER_KEY
from custseg.layer3_stages.ingest.rules import HAS_REPLACEMENT


class ReconciliationError(RuntimeError):
    """rows read != written + quarantined + duplicates: something lost or invented rows."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class IngestCounts:
    rows_read: int
    rows_written: int
    rows_quarantined: int
    duplicates_removed: int
    distinct_customers: int
    by_reason: dict
    identical_lines: int = 0
    rows_with_replacement_characters: int = 0
    min_purchase_time: object = None
    max_purchase_time: object = None

    @classmethod
    def empty(cls) -> IngestCounts:
        return cls(
            rows_read=0,
            rows_written=0,
            rows_quarantined=0,
            duplicates_removed=0,
            distinct_customers=0,
            by_reason={},
        )

    def as_summary(self) -> dict:
        return {
            "rows_read": self.rows_read,
            "rows_written": self.rows_written,
            "rows_quarantined": self.rows_quarantined,
            "duplicates_removed": self.duplicates_removed,
            "identical_lines": self.identical_lines,
            "rows_with_replacement_characters": self.rows_with_replacement_characters,
            "distinct_customers": self.distinct_customers,
            "quarantined_by_reason": dict(self.by_reason),
        }


def count_classified(
    keyed: DataFrame,
    *,
    rows_read: int,
    identical_lines: int,
    duplicates_removed: int,
    distinct_customers: int,
) -> IngestCounts:
    """Counts from the classified, keyed rows in one grouped pass; ``rows_read`` is counted
    per file split on the keyed lines before repeated lines are dropped, ``identical_lines``
    on the line hashes, ``distinct_customers`` by the collision check's grouping by key.

    Counting the two sides on different plans is what makes the identity a check: a join
    that duplicated or dropped rows (the one that drops repeated lines) shows up as a
    mismatch. Grouping by the whole ``reasons`` array gives the clean rows (the empty
    array), the quarantined ones and the rows per reason from one small aggregate.
    """
    combinations = (
        keyed.groupBy("reasons")
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.sum(F.col(HAS_REPLACEMENT).cast("long")).alias("replacement"),
            F.min("purchase_time_parsed").alias("first"),
            F.max("purchase_time_parsed").alias("last"),
        )
        .collect()
    )  # one row per combination of reasons that occurs: a few dozen at most
    clean = [row for row in combinations if not row["reasons"]]
    classified = sum(int(row["rows"]) for row in combinations)
    written = sum(int(row["rows"]) for row in clean)
    counts = IngestCounts(
        rows_read=int(rows_read),
        rows_written=written,
        rows_quarantined=classified - written,
        duplicates_removed=int(duplicates_removed),
        distinct_customers=int(distinct_customers),
        by_reason=_rows_by_reason(combinations),
        identical_lines=int(identical_lines),
        rows_with_replacement_characters=sum(int(row["replacement"] or 0) for row in combinations),
        min_purchase_time=clean[0]["first"] if clean else None,
        max_purchase_time=clean[0]["last"] if clean else None,
    )
    if classified + counts.duplicates_removed != counts.rows_read:
        raise ReconciliationError(
            f"{counts.rows_read} rows read but {classified} rows after cleaning and "
            f"keying and {counts.duplicates_removed} identical lines dropped"
        )
    return counts


def _rows_by_reason(combinations: list) -> dict[str, int]:
    """Quarantined rows per reason, from the rows per combination of reasons (a row with
    two reasons counts under both)."""
    by_reason: dict[str, int] = {}
    for row in combinations:
        for reason in row["reasons"]:
            by_reason[reason] = by_reason.get(reason, 0) + int(row["rows"])
    return dict(sorted(by_reason.items()))


def count_profiles(keyed: DataFrame, *, rows_read: int) -> IngestCounts:
    """Counts of a classified, keyed profile snapshot: every clean customer is written
    once, so clean rows beyond one per customer are repeats (``duplicates_removed``).

    As for transactions, ``rows_read`` is counted per file split on the keyed lines.
    """
    clean = F.size("reasons") == 0
    totals = keyed.agg(
        F.count(F.lit(1)).alias("classified"),
        F.sum((~clean).cast("long")).alias("quarantined"),
        F.sum(clean.cast("long")).alias("clean"),
        F.countDistinct(F.when(clean, F.col(CUSTOMER_KEY))).alias("customers"),
    ).first()
    if int(totals["classified"]) != rows_read:
        raise ReconciliationError(
            f"{rows_read} profile rows read but {totals['classified']} after keying"
        )
    customers = int(totals["customers"])
    return IngestCounts(
        rows_read=int(rows_read),
        rows_written=customers,
        rows_quarantined=int(totals["quarantined"] or 0),
        duplicates_removed=int(totals["clean"] or 0) - customers,
        distinct_customers=customers,
        by_reason=_rows_by_reason(
            keyed.groupBy("reasons").agg(F.count(F.lit(1)).alias("rows")).collect()
        ),
    )


def check_reconciliation(counts: IngestCounts) -> None:
    accounted = counts.rows_written + counts.rows_quarantined + counts.duplicates_removed
    if accounted != counts.rows_read:
        raise ReconciliationError(
            f"rows read {counts.rows_read} != written {counts.rows_written} + quarantined "
            f"{counts.rows_quarantined} + duplicates {counts.duplicates_removed}"
        )
