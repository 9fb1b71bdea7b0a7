"""What a report run did: segments_current's rows, the compaction, the page and figures."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from custseg.layer2_io.stage_summary import StageSummary, count, plural


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReportSummary(StageSummary):
    """The as_of reported, the page and its figures (as displayed locations), the rows of
    segments_current, each compacted table's file counts before and after, and the tables
    registered in the session's catalog."""

    STAGE: ClassVar[str] = "report"

    as_of: str
    report_path: str
    figures: list[str]
    segments_current_rows: int
    optimize: dict[str, dict[str, int]]
    registered_tables: list[str]

    def parts(self) -> list[str]:
        """``as_of 2022-01-01, 7,812 customers in segments_current, 3 tables compacted
        (41 -> 3 files), 14 figures, page /reports/2022-01-01/report.html``."""
        before = sum(files.get("files_before", 0) for files in self.optimize.values())
        after = sum(files.get("files_after", 0) for files in self.optimize.values())
        return [
            f"as_of {self.as_of}",
            f"{plural(self.segments_current_rows, 'customer')} in segments_current",
            f"{plural(len(self.optimize), 'table')} compacted ({count(before)} -> "
            f"{count(after)} files)",
            plural(len(self.figures), "figure"),
            f"page {self.report_path}",
        ]
