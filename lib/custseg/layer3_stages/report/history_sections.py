"""Sections that compare this run with earlier ones: segment sizes and segment moves.

On a first run there is nothing to compare with, so each explains when its chart will
appear rather than drawing a chart of one point.
"""

from __future__ import annotations

import pandas as pd

from custseg.layer1_core.tables import AS_OF
from custseg.layer3_stages.report.contents import (
    SECTION_HEADINGS,
    SIZES_OVER_TIME_FILE,
    TRANSITIONS_FILE,
)
from custseg.layer3_stages.report.history_figures import (
    GONE_CUSTOMERS_LABEL,
    NEW_CUSTOMERS_LABEL,
    segment_sizes_over_time,
    transition_matrix,
)
from custseg.layer3_stages.report.html import Section
from custseg.layer3_stages.report.inputs import ReportInputs
from custseg.layer3_stages.report.section_parts import figure_image


def over_time_section(inputs: ReportInputs) -> Section:
    heading = SECTION_HEADINGS["over-time"]
    history = inputs.segment_history
    if history.empty or history[AS_OF].nunique() < 2:
        return Section(
            "over-time",
            heading,
            notes=(
                "Only one run so far: this chart appears once the pipeline has run for a second "
                "as_of date.",
            ),
        )
    return Section(
        "over-time",
        heading,
        paragraphs=(
            f"Customers per segment at each of the {history[AS_OF].nunique()} "
            "as_of dates the pipeline has scored.",
        ),
        images=(
            figure_image(
                SIZES_OVER_TIME_FILE,
                segment_sizes_over_time(history),
                "Segment sizes at every as_of date",
            ),
        ),
    )


def transitions_section(inputs: ReportInputs) -> Section:
    heading = SECTION_HEADINGS["transitions"]
    moves = inputs.transitions
    if moves.empty or not moves["from_segment"].notna().any():
        return Section(
            "transitions",
            heading,
            notes=(
                "No earlier run to compare with: the transition matrix appears from the second "
                "as_of date on.",
            ),
        )
    previous = moves["previous_as_of"].dropna()
    since = f" since {pd.Timestamp(previous.max()).date().isoformat()}" if len(previous) else ""
    return Section(
        "transitions",
        heading,
        paragraphs=(
            f"How customers moved between segments{since}. Rows are the earlier segment, "
            "columns the current one; the diagonal holds customers who stayed. "
            f"'{NEW_CUSTOMERS_LABEL}' are first-time buyers, "
            f"'{GONE_CUSTOMERS_LABEL}' customers no longer in the window.",
        ),
        images=(
            figure_image(
                TRANSITIONS_FILE,
                transition_matrix(moves),
                "Matrix of customers moving between segments",
            ),
        ),
    )
