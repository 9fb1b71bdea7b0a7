"""Figures of one run's RFM segments: their weight, their score grid and the raw measures.

Each function takes an aggregate that Spark already reduced to a few hundred rows at most
and returns a ``matplotlib.figure.Figure``; nothing here touches Spark or the file system,
so the figures can be tested on small hand-made frames.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from custseg.layer3_stages.report.plotting import annotated_heatmap, segment_colours, wrap_label
from custseg.layer3_stages.report.treemap import squarify

METRIC_TITLES = {
    "recency_days": "Recency: days since the last purchase",
    "frequency": "Frequency: orders",
    "monetary": "Monetary: spend",
}
_LOG_TICK_CANDIDATES = [
    0,
    1,
    2,
    5,
    10,
    20,
    50,
    100,
    200,
    500,
    1_000,
    2_000,
    5_000,
    10_000,
    20_000,
    50_000,
    100_000,
    200_000,
    500_000,
    1_000_000,
    10_000_000,
]


def _treemap_panel(
    axes, summary: pd.DataFrame, colours: dict[str, str], *, measure: str, title: str
) -> None:
    """Labels only boxes large enough to hold them; the legend names the rest."""
    values = summary[measure].astype(float).clip(lower=0).to_numpy()
    total = float(values.sum())
    for rect, segment, value in zip(
        squarify(list(values), x=0, y=0, width=100, height=100), summary["segment"], values
    ):
        if rect.width <= 0 or rect.height <= 0:
            continue
        axes.add_patch(
            Rectangle(
                (rect.x, rect.y),
                rect.width,
                rect.height,
                facecolor=colours[segment],
                edgecolor="white",
                linewidth=2,
            )
        )
        if rect.width >= 9 and rect.height >= 6:
            font_size = 10 if rect.width * rect.height >= 400 else 8
            label = f"{wrap_label(segment, max(6, int(rect.width / 1.6)))}\n{value / total:.1%}"
            axes.text(
                rect.x + rect.width / 2,
                rect.y + rect.height / 2,
                label,
                ha="center",
                va="center",
                fontsize=font_size,
                color="black",
            )
    axes.set_xlim(0, 100)
    axes.set_ylim(0, 100)
    axes.set_aspect("equal")
    axes.set_axis_off()
    axes.set_title(f"{title} (total {total:,.0f})", fontsize=12)


def segment_treemap(summary: pd.DataFrame) -> Figure:
    """Two treemaps side by side: share of customers and share of revenue per segment.

    ``summary`` holds one row per segment with ``segment``, ``customers`` and ``revenue``.
    Showing both answers the marketing question directly: which small groups carry a
    large part of the revenue.
    """
    colours = segment_colours(summary["segment"])
    figure = Figure(figsize=(13, 6.2), layout="constrained")
    panels = figure.subplots(1, 2)
    for axes, measure, title in zip(
        panels, ("customers", "revenue"), ("Customers per segment", "Revenue per segment")
    ):
        _treemap_panel(axes, summary, colours, measure=measure, title=title)
    handles = [Rectangle((0, 0), 1, 1, facecolor=c) for c in colours.values()]
    figure.legend(
        handles,
        list(colours),
        loc="outside lower center",
        ncols=min(5, len(colours)),
        fontsize=9,
        frameon=False,
    )
    return figure


def rf_grid_heatmap(grid: pd.DataFrame, bins: int) -> Figure:
    """Customers in each recency x frequency score cell, labelled with the cell's segment.

    ``grid`` holds ``r_score``, ``f_score``, ``customers`` and ``segment``. Frequency runs
    up and recency to the right, so the best customers sit in the top-right corner.
    """
    size = int(max([bins] + list(grid["r_score"]) + list(grid["f_score"])))
    counts = np.zeros((size, size))
    labels = [["" for _ in range(size)] for _ in range(size)]
    for row in grid.itertuples(index=False):
        f_row = size - int(row.f_score)  # frequency score `size` at the top
        counts[f_row, int(row.r_score) - 1] = row.customers
        labels[f_row][int(row.r_score) - 1] = (
            f"{int(row.customers):,}\n{wrap_label(row.segment, 12)}"
        )
    figure = Figure(figsize=(8.5, 7), layout="constrained")
    axes = figure.subplots()
    image = annotated_heatmap(
        axes,
        counts,
        counts,
        row_labels=[str(s) for s in range(size, 0, -1)],
        column_labels=[str(s) for s in range(1, size + 1)],
        cmap="Blues",
        cell_text=labels,
    )
    axes.tick_params(axis="x", labelrotation=0)
    axes.set_xlabel(f"Recency score (1 = longest ago, {size} = most recent)")
    axes.set_ylabel(f"Frequency score (1 = fewest orders, {size} = most)")
    axes.set_title("Customers per recency x frequency score")
    figure.colorbar(image, ax=axes, label="customers", shrink=0.8)
    return figure


def _log1p_ticks(low: float, high: float) -> list[float]:
    inside = [t for t in _LOG_TICK_CANDIDATES if low <= t <= high]
    step = max(1, math.ceil(len(inside) / 7))
    return inside[::step]


def rfm_distributions(histograms: pd.DataFrame) -> Figure:
    """Histograms of recency, frequency and monetary value.

    ``histograms`` has one row per (``metric``, bin) with ``lower``, ``upper``,
    ``customers``, ``median`` and ``log_scale``. Frequency and spend are heavily skewed,
    so their bins are equal on a log(1 + x) axis, labelled in the original units.
    """
    metrics = [m for m in METRIC_TITLES if m in set(histograms["metric"])]
    figure = Figure(figsize=(14, 4.2), layout="constrained")
    panels = np.atleast_1d(figure.subplots(1, max(1, len(metrics))))
    for axes, metric in zip(panels, metrics):
        bars = histograms[histograms["metric"] == metric].sort_values("lower")
        log_scale = bool(bars["log_scale"].iloc[0])
        if log_scale:
            axes.set_xscale("function", functions=(lambda v: np.log1p(np.maximum(v, 0)), np.expm1))
        axes.bar(
            bars["lower"],
            bars["customers"],
            width=bars["upper"] - bars["lower"],
            align="edge",
            color="#4c78a8",
            edgecolor="white",
            linewidth=0.5,
        )
        low, high = float(bars["lower"].min()), float(bars["upper"].max())
        if log_scale:
            axes.set_xticks(_log1p_ticks(low, high))
            axes.xaxis.set_major_formatter(lambda value, _: f"{value:,.0f}")
        axes.set_xlim(low, high)
        median = float(bars["median"].iloc[0])
        axes.axvline(median, color="#e45756", linewidth=1.5, linestyle="--")
        axes.set_title(f"{METRIC_TITLES[metric]}\nmedian {median:,.1f}", fontsize=10)
        axes.set_ylabel("customers")
        axes.set_xlabel(("log scale, " if log_scale else "") + metric.replace("_", " "))
    return figure
