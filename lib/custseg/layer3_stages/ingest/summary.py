"""What an ingest run did: lines read, kept and quarantined (by reason), files, profiles."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from custseg.layer2_io.stage_summary import StageSummary, count, largest, plural
from custseg.layer3_stages.ingest import rules
from custseg.layer3_stages.ingest.reconcile import IngestCounts

# Shorter words for the reasons the console line names (the log keeps the reasons' own names).
REASON_WORDS = {
    rules.RETURN: "returns",
    rules.CANCELLATION: "cancellations",
    rules.MISSING_CUSTOMER_ID: "missing id",
    rules.INVALID_CUSTOMER_ID: "invalid id",
    rules.MALFORMED_RECORD: "malformed",
}


def reason_words(reason: str) -> str:
    return REASON_WORDS.get(reason, reason.replace("_", " "))


def quarantined_text(quarantined: int, by_reason: dict[str, int]) -> str:
    """``3,867 quarantined (returns 2,355, missing id 706, ...)``."""
    reasons = f" ({largest(by_reason, label=reason_words)})" if quarantined and by_reason else ""
    return f"{count(quarantined)} quarantined{reasons}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProfileSummary:
    """The profile snapshot's rows (``input.profiles``)."""

    rows_read: int
    rows_written: int
    rows_quarantined: int
    duplicates_removed: int
    quarantined_by_reason: dict[str, int]

    @classmethod
    def of(cls, counts: IngestCounts) -> ProfileSummary:
        return cls(
            rows_read=counts.rows_read,
            rows_written=counts.rows_written,
            rows_quarantined=counts.rows_quarantined,
            duplicates_removed=counts.duplicates_removed,
            quarantined_by_reason=dict(counts.by_reason),
        )

    def text(self) -> str:
        """``7,760 profile rows (7,700 kept, 60 quarantined (conflicting profiles 60))``."""
        kept = f"{count(self.rows_written)} kept"
        quarantined = quarantined_text(self.rows_quarantined, self.quarantined_by_reason)
        return f"{plural(self.rows_read, 'profile row')} ({kept}, {quarantined})"


@dataclasses.dataclass(frozen=True, kw_only=True)
class IngestSummary(StageSummary):
    """Files read (new or changed) and skipped, and where every line read went."""

    STAGE: ClassVar[str] = "ingest"
    OPTIONAL: ClassVar[tuple[str, ...]] = ("profiles",)

    files_read: int
    files_skipped: int
    rows_read: int
    rows_written: int
    rows_quarantined: int
    duplicates_removed: int
    identical_lines: int
    rows_with_replacement_characters: int
    distinct_customers: int
    quarantined_by_reason: dict[str, int]
    profiles: ProfileSummary | None = None

    @classmethod
    def of(
        cls,
        *,
        files_read: int,
        files_skipped: int,
        counts: IngestCounts,
        profile_counts: IngestCounts | None,
    ) -> IngestSummary:
        profiles = None if profile_counts is None else ProfileSummary.of(profile_counts)
        return cls(
            files_read=files_read,
            files_skipped=files_skipped,
            profiles=profiles,
            **counts.as_summary(),
        )

    def parts(self) -> list[str]:
        """``235,616 lines read, 231,749 kept, 3,867 quarantined (returns 2,355, ...), 12 files``."""
        unchanged = f" ({count(self.files_skipped)} unchanged)" if self.files_skipped else ""
        if not self.files_read:
            parts = [f"no new or changed files{unchanged}"]
        else:
            parts = [
                f"{plural(self.rows_read, 'line')} read",
                f"{count(self.rows_written)} kept",
                quarantined_text(self.rows_quarantined, self.quarantined_by_reason),
            ]
            if self.duplicates_removed:
                parts.append(f"{plural(self.duplicates_removed, 'repeated line')} dropped")
            parts.append(f"{plural(self.files_read, 'file')}{unchanged}")
        if self.profiles is not None:
            parts.append(self.profiles.text())
        return parts
