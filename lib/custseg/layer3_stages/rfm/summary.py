"""What an rfm run did: the as_of, the customers scored and excluded, the segments filled."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from custseg.layer2_io.stage_summary import StageSummary, count, largest, plural


@dataclasses.dataclass(frozen=True, kw_only=True)
class RfmSummary(StageSummary):
    """The as_of scored (and the one it was compared with), the window, the population and
    the score edges; customers per segment, in the segment map's order."""

    STAGE: ClassVar[str] = "rfm"

    as_of: str
    previous_as_of: str | None
    window_days: int | None
    bins: int
    transactions_in_window: int
    customers_in_window: int
    customers_non_positive_monetary: int
    customers_excluded_non_positive_monetary: int
    customers_scored: int
    score_edges: dict[str, list[float]]
    segments: dict[str, int]

    def parts(self) -> list[str]:
        """``as_of 2022-01-01 (previous 2021-12-01), 7,812 customers scored, 12 excluded
        (monetary <= 0), 10 segments (largest: Hibernating 1,620, Lost 1,200, ...)``."""
        previous = f" (previous {self.previous_as_of})" if self.previous_as_of else ""
        parts = [
            f"as_of {self.as_of}{previous}",
            f"{plural(self.customers_scored, 'customer')} scored",
        ]
        if self.customers_excluded_non_positive_monetary:
            excluded = count(self.customers_excluded_non_positive_monetary)
            parts.append(f"{excluded} excluded (monetary <= 0)")
        filled = {name: customers for name, customers in self.segments.items() if customers}
        biggest = f" (largest: {largest(filled)})" if filled else ""
        parts.append(f"{plural(len(self.segments), 'segment')}{biggest}")
        return parts
