"""The report as a whole: its sections in reading order and the files it leaves on disk.

Each section always appears (the table of contents stays the same from run to run); when
its data does not exist yet, for instance the transition matrix on the first run, the
section says why instead of showing a chart. ``SECTION_HEADINGS`` is re-exported here so
callers that check the page's contents need only this module.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from custseg.layer3_stages.report.cluster_sections import (
    cluster_profiles_section,
    cluster_split_section,
    k_sweep_section,
    other_models_section,
    projection_section,
)
from custseg.layer3_stages.report.contents import PAGE_FILE, SECTION_HEADINGS
from custseg.layer3_stages.report.history_sections import over_time_section, transitions_section
from custseg.layer3_stages.report.html import Section, render_page
from custseg.layer3_stages.report.inputs import ReportInputs
from custseg.layer3_stages.report.segment_sections import (
    distributions_section,
    overview_section,
    rf_grid_section,
    segments_section,
)

__all__ = ["SECTION_HEADINGS", "WrittenReport", "build_sections", "write_report"]


@dataclasses.dataclass(frozen=True)
class WrittenReport:
    page: Path
    figures: list[Path]


def build_sections(inputs: ReportInputs) -> list[Section]:
    """All sections in reading order, one per entry of ``SECTION_HEADINGS``."""
    return [
        overview_section(inputs),
        segments_section(inputs),
        rf_grid_section(inputs),
        distributions_section(inputs),
        cluster_profiles_section(inputs),
        projection_section(inputs),
        k_sweep_section(inputs),
        cluster_split_section(inputs),
        over_time_section(inputs),
        transitions_section(inputs),
        other_models_section(inputs),
    ]


def _write_atomically(path: Path, data: bytes) -> None:
    """A reader never sees half a file: write beside it, then rename over it."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def write_report(inputs: ReportInputs, directory: Path, footer: str | None = None) -> WrittenReport:
    """Writes every figure as PNG and the self-contained page into ``directory``.

    PNGs a previous run of the same as_of left behind but this run did not draw are removed,
    so the folder always matches the page.
    """
    directory = Path(directory).absolute()
    directory.mkdir(parents=True, exist_ok=True)
    sections = build_sections(inputs)
    written = []
    for image in (image for section in sections for image in section.images):
        _write_atomically(directory / image.file_name, image.png)
        written.append(directory / image.file_name)
    for stale in set(directory.glob("*.png")) - set(written):
        stale.unlink()
    page = render_page(
        f"Customer segments at {inputs.as_of.isoformat()}",
        "RFM segments and behavioural clusters, built from the custseg Delta tables",
        sections,
        footer,
    )
    _write_atomically(directory / PAGE_FILE, page.encode("utf-8"))
    return WrittenReport(directory / PAGE_FILE, written)
