"""Sections about one run's RFM segments: the overview, the segments, the score grid and
the raw measures.

These sections only need ``customer_rfm`` and ``segment_summary``, so they are filled from
the very first run, before any clustering exists.
"""

from __future__ import annotations

import pandas as pd

from custseg.layer1_core.tables import AS_OF
from custseg.layer3_stages.report.contents import (
    DISTRIBUTIONS_FILE,
    RF_GRID_FILE,
    SECTION_HEADINGS,
    TREEMAP_FILE,
)
from custseg.layer3_stages.report.html import Section, TableColumn, key_figures_html, table_html
from custseg.layer3_stages.report.inputs import ReportInputs
from custseg.layer3_stages.report.plotting import model_label
from custseg.layer3_stages.report.section_parts import (
    as_count,
    as_decimal,
    as_money,
    as_share,
    figure_image,
)
from custseg.layer3_stages.report.segment_figures import (
    rf_grid_heatmap,
    rfm_distributions,
    segment_treemap,
)


def overview_section(inputs: ReportInputs) -> Section:
    customers = int(inputs.rf_grid["customers"].sum()) if not inputs.rf_grid.empty else 0
    tiles = [("as_of", inputs.as_of.isoformat()), ("customers scored", as_count(customers))]
    summary = inputs.segment_summary
    if not summary.empty:
        tiles.append(("revenue in the window", as_money(summary["revenue"].sum())))
        tiles.append(("segments", as_count(len(summary))))
        top = summary.sort_values(["revenue", "segment"], ascending=[False, True]).iloc[0]
        if pd.notna(top["revenue_share"]):  # null when the window's revenue is zero
            tiles.append((f"of revenue from {top['segment']}", as_share(top["revenue_share"])))
    if not inputs.cluster_profiles.empty:
        models = inputs.cluster_profiles[["algorithm", "k"]].drop_duplicates()
        tiles.append(("cluster models", as_count(len(models))))
    if inputs.primary:
        tiles.append(
            ("recommended clusters", model_label(inputs.primary.algorithm, inputs.primary.k))
        )
    runs = inputs.segment_history[AS_OF].nunique() if not inputs.segment_history.empty else 1
    tiles.append(("runs so far", as_count(runs)))
    return Section(
        "overview",
        SECTION_HEADINGS["overview"],
        paragraphs=(
            "Customers are scored on how recently they bought (R), how often (F) and how much "
            "they spent (M); the R and F scores place each customer in a named segment. "
            "Independently, clustering groups customers with similar buying behaviour. "
            "This page shows both views, how they relate, and how segments move between runs.",
        ),
        tables=(key_figures_html(tiles),),
    )


SEGMENT_COLUMNS = (
    TableColumn("segment", "Segment"),
    TableColumn("customers", "Customers", as_count, numeric=True),
    TableColumn("customer_share", "Share of customers", as_share, numeric=True),
    TableColumn("revenue", "Revenue", as_money, numeric=True),
    TableColumn("revenue_share", "Share of revenue", as_share, numeric=True),
    TableColumn("median_recency_days", "Median days since last purchase", as_decimal, numeric=True),
    TableColumn("median_frequency", "Median orders", as_decimal, numeric=True),
    TableColumn("median_monetary", "Median spend", as_money, numeric=True),
    TableColumn("description", "What it means"),
    TableColumn("actions", "Recommended actions", lines=True),
)


def segments_section(inputs: ReportInputs) -> Section:
    heading = SECTION_HEADINGS["segments"]
    summary = inputs.segment_summary
    if summary.empty:
        return Section("segments", heading, notes=("segment_summary has no rows for this as_of.",))
    if "segment_order" in summary.columns and summary["segment_order"].notna().all():
        ordered = summary.sort_values(["segment_order", "segment"])
    else:
        ordered = summary.sort_values(["revenue", "segment"], ascending=[False, True])
    return Section(
        "segments",
        heading,
        paragraphs=(
            "Box areas are proportional to the number of customers (left) and to their "
            "spend in the window (right). Segments whose right box is larger than "
            "their left one bring more revenue than their head count suggests.",
        ),
        images=(
            figure_image(
                TREEMAP_FILE,
                segment_treemap(ordered),
                "Treemaps of customers and revenue per segment",
            ),
        ),
        tables=(table_html(ordered, [c for c in SEGMENT_COLUMNS if c.name in ordered.columns]),),
    )


def rf_grid_section(inputs: ReportInputs) -> Section:
    return Section(
        "rf-grid",
        SECTION_HEADINGS["rf-grid"],
        paragraphs=(
            "Each cell counts the customers with that recency and frequency score and "
            "names the segment the cell belongs to. The top-right corner holds recent, "
            "frequent buyers; the bottom-left those who bought once, long ago.",
        ),
        images=(
            figure_image(
                RF_GRID_FILE,
                rf_grid_heatmap(inputs.rf_grid, inputs.score_bins),
                "Heatmap of customers per recency and frequency score",
            ),
        ),
    )


def distributions_section(inputs: ReportInputs) -> Section:
    return Section(
        "distributions",
        SECTION_HEADINGS["distributions"],
        paragraphs=(
            "How the raw measures behind the scores are spread. Orders and spend are "
            "shown on a logarithmic axis because a few customers buy far more than the "
            "rest; the dashed line is the median.",
        ),
        images=(
            figure_image(
                DISTRIBUTIONS_FILE,
                rfm_distributions(inputs.histograms),
                "Histograms of recency, frequency and monetary value",
            ),
        ),
    )
