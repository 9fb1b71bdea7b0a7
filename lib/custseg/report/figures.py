"""The report's figures, drawn from small pandas aggregates with matplotlib's Agg canvas.

Every function takes an aggregate that Spark already reduced to a few hundred rows at most
(or a bounded sample) and returns a ``matplotlib.figure.Figure``; nothing here touches
Spark or the file system. Figures are built with ``Figure`` rather than ``pyplot`` so no
global figure state is kept between runs and no display backend is ever needed.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from custseg.report.treemap import squarify

ALGORITHM_LABELS = {"kmeans": "KMeans", "bisecting_kmeans": "Bisecting KMeans"}
NEW_CUSTOMERS_LABEL = "(new)"
GONE_CUSTOMERS_LABEL = "(gone)"
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


def png_bytes(figure: Figure, dpi: int = 100) -> bytes:
    """Renders with the Agg canvas explicitly, whatever backend the process selected."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def model_label(algorithm: str, k: int) -> str:
    return f"{ALGORITHM_LABELS.get(algorithm, algorithm)}, k={int(k)}"


def segment_colours(segments: Iterable[str]) -> dict[str, str]:
    """One colour per segment name, the same in every figure of a report."""
    names = sorted({s for s in segments if s is not None})
    palette = colormaps["tab20"]
    return {name: to_hex(palette((2 * i) % 20 + (i // 10) % 2)) for i, name in enumerate(names)}


def _wrap(label: str, width: int) -> str:
    return "\n".join(textwrap.wrap(str(label), width=width)) or str(label)


def _text_colour(value: float, vmax: float) -> str:
    return "white" if vmax > 0 and value / vmax > 0.55 else "black"


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
        values = summary[measure].astype(float).clip(lower=0).to_numpy()
        total = float(values.sum())
        for rect, segment, value in zip(
            squarify(list(values), 0, 0, 100, 100), summary["segment"], values
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
                label = f"{_wrap(segment, max(6, int(rect.width / 1.6)))}\n{value / total:.1%}"
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


def _annotated_heatmap(
    axes,
    counts: np.ndarray,
    shading: np.ndarray,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    cmap: str,
    cell_text=None,
):
    """A heatmap coloured by ``shading`` with the counts (or ``cell_text``) written in.

    Empty cells stay blank so the eye goes to the moves and overlaps that exist.
    """
    vmax = float(np.nanmax(shading)) if shading.size else 0.0
    image = axes.imshow(shading, cmap=cmap, aspect="auto", vmin=0, vmax=vmax or 1.0, origin="upper")
    axes.set_xticks(
        range(len(column_labels)), labels=column_labels, rotation=35, ha="right", fontsize=8
    )
    axes.set_yticks(range(len(row_labels)), labels=row_labels, fontsize=8)
    for row in range(counts.shape[0]):
        for column in range(counts.shape[1]):
            if cell_text is not None:
                text = cell_text[row][column]
            else:
                text = f"{counts[row, column]:,.0f}" if counts[row, column] else ""
            if text:
                axes.text(
                    column,
                    row,
                    text,
                    ha="center",
                    va="center",
                    fontsize=7,
                    color=_text_colour(shading[row, column], vmax),
                )
    return image


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
        labels[f_row][int(row.r_score) - 1] = f"{int(row.customers):,}\n{_wrap(row.segment, 12)}"
    figure = Figure(figsize=(8.5, 7), layout="constrained")
    axes = figure.subplots()
    image = _annotated_heatmap(
        axes,
        counts,
        counts,
        [str(s) for s in range(size, 0, -1)],
        [str(s) for s in range(1, size + 1)],
        "Blues",
        labels,
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


METRIC_TITLES = {
    "recency_days": "Recency: days since the last purchase",
    "frequency": "Frequency: orders",
    "monetary": "Monetary: spend",
}


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


SWEEP_METRICS = (
    ("inertia", "Inertia (lower is better; look for the elbow)"),
    ("silhouette", "Silhouette (higher is better)"),
    ("davies_bouldin", "Davies-Bouldin (lower is better)"),
)


def k_sweep_curves(selection: pd.DataFrame) -> Figure:
    """Quality of each algorithm across k: inertia, silhouette and Davies-Bouldin.

    ``selection`` has ``algorithm``, ``k``, the three metrics, ``chosen`` (the selection
    rule's pick, starred) and optionally ``saved`` (every model the report shows, ringed),
    so the reader sees which points the rest of the report is about.
    """
    saved_column = "saved" if "saved" in selection.columns else "chosen"
    figure = Figure(figsize=(14, 4.2), layout="constrained")
    panels = figure.subplots(1, len(SWEEP_METRICS))
    for axes, (metric, title) in zip(panels, SWEEP_METRICS):
        for algorithm, rows in selection.sort_values("k").groupby("algorithm", sort=True):
            rows = rows[rows[metric].notna()]
            if rows.empty:
                continue
            (line,) = axes.plot(
                rows["k"],
                rows[metric],
                marker="o",
                markersize=4,
                label=ALGORITHM_LABELS.get(algorithm, algorithm),
            )
            saved = rows[rows[saved_column].astype(bool)]
            axes.scatter(
                saved["k"],
                saved[metric],
                s=150,
                facecolors="none",
                edgecolors=line.get_color(),
                linewidths=1.6,
            )
            chosen = rows[rows["chosen"].astype(bool)]
            axes.scatter(
                chosen["k"],
                chosen[metric],
                s=110,
                marker="*",
                color=line.get_color(),
                edgecolors="black",
                linewidths=0.6,
                zorder=3,
            )
        axes.set_title(title, fontsize=10)
        axes.set_xlabel("k (number of clusters)")
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.grid(alpha=0.3)
    panels[0].legend(
        fontsize=9, title="ring: model in this report\nstar: the rule's pick", title_fontsize=8
    )
    return figure


def pca_projection(sample: pd.DataFrame, explained_variance: Sequence[float]) -> Figure:
    """The bounded customer sample on the first two principal components, one panel per model.

    ``sample`` has ``algorithm``, ``k``, ``cluster_id``, ``cluster_name``, ``pc1``, ``pc2``;
    every panel shows the same customers, so the panels differ only in the colouring.
    """
    models = sorted({(a, int(k)) for a, k in zip(sample["algorithm"], sample["k"])})
    columns = 2 if len(models) > 1 else 1
    rows = math.ceil(len(models) / columns)
    figure = Figure(figsize=(6.5 * columns, 5.2 * rows), layout="constrained")
    panels = np.atleast_1d(figure.subplots(rows, columns)).ravel()
    variance = list(explained_variance) + [float("nan")] * 2
    palette = colormaps["tab10"]
    for axes, (algorithm, k) in zip(panels, models):
        model_rows = sample[(sample["algorithm"] == algorithm) & (sample["k"] == k)]
        for colour, (cluster_id, cluster_rows) in enumerate(
            model_rows.sort_values("cluster_id").groupby("cluster_id", sort=True)
        ):
            name = cluster_rows["cluster_name"].iloc[0]
            axes.scatter(
                cluster_rows["pc1"],
                cluster_rows["pc2"],
                s=6,
                alpha=0.6,
                color=palette(colour % 10),
                label=f"{cluster_id}: {name}",
                rasterized=True,
            )
        axes.set_title(
            f"{model_label(algorithm, k)} ({len(model_rows):,} customers sampled)", fontsize=10
        )
        axes.set_xlabel(f"PC1 ({variance[0]:.0%} of variance)")
        axes.set_ylabel(f"PC2 ({variance[1]:.0%} of variance)")
        axes.legend(fontsize=7, markerscale=2.5, loc="best")
        axes.grid(alpha=0.3)
    for axes in panels[len(models) :]:
        axes.set_axis_off()
    return figure


def _row_shares(counts: np.ndarray) -> np.ndarray:
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def segment_cluster_heatmap(crosstab: pd.DataFrame, k: int) -> Figure:
    """RFM segment x cluster counts for every algorithm at one k, coloured by row share.

    ``crosstab`` has ``algorithm``, ``k``, ``segment``, ``cluster_id``, ``cluster_name``
    and ``customers``. Colour is the share of the segment's customers in each cluster, so
    small segments are as readable as large ones; the cell text is the count.
    """
    rows_k = crosstab[crosstab["k"] == k]
    algorithms = sorted(set(rows_k["algorithm"]))
    segments = sorted(set(rows_k["segment"]))
    figure = Figure(
        figsize=(6.5 * max(1, len(algorithms)), 0.45 * len(segments) + 3), layout="constrained"
    )
    panels = np.atleast_1d(figure.subplots(1, max(1, len(algorithms))))
    image = None
    for axes, algorithm in zip(panels, algorithms):
        model_rows = rows_k[rows_k["algorithm"] == algorithm]
        clusters = (
            model_rows[["cluster_id", "cluster_name"]]
            .drop_duplicates("cluster_id")
            .sort_values("cluster_id")
        )
        matrix = model_rows.pivot_table(
            index="segment", columns="cluster_id", values="customers", aggfunc="sum", fill_value=0
        ).reindex(index=segments, columns=list(clusters["cluster_id"]), fill_value=0)
        counts = matrix.to_numpy(dtype=float)
        image = _annotated_heatmap(
            axes,
            counts,
            _row_shares(counts),
            segments,
            [
                _wrap(f"{i}: {n}", 18)
                for i, n in zip(clusters["cluster_id"], clusters["cluster_name"])
            ],
            "Purples",
        )
        axes.set_title(model_label(algorithm, k), fontsize=11)
    if image is not None:
        figure.colorbar(
            image, ax=list(panels), label="share of the segment's customers", shrink=0.8
        )
    return figure


def segment_sizes_over_time(history: pd.DataFrame) -> Figure:
    """Customers per segment at every as_of, one line per segment.

    ``history`` has ``as_of``, ``segment`` and ``customers``.
    """
    colours = segment_colours(history["segment"])
    table = history.pivot_table(
        index="as_of", columns="segment", values="customers", aggfunc="sum", fill_value=0
    ).sort_index()
    figure = Figure(figsize=(11, 5), layout="constrained")
    axes = figure.subplots()
    dates = pd.to_datetime(table.index)
    for segment in table.columns:
        axes.plot(
            dates, table[segment], marker="o", markersize=4, color=colours[segment], label=segment
        )
    axes.set_ylabel("customers")
    axes.set_xlabel("as_of")
    axes.set_title("Segment sizes over time")
    axes.grid(alpha=0.3)
    if len(dates) <= 12:
        axes.set_xticks(dates, labels=[d.strftime("%Y-%m-%d") for d in dates])
    figure.legend(fontsize=8, loc="outside right upper")
    figure.autofmt_xdate()
    return figure


def transition_matrix(transitions: pd.DataFrame) -> Figure:
    """Customers moving from each previous segment (rows) to each current one (columns).

    ``transitions`` has ``from_segment``, ``to_segment`` and ``customers``; a missing
    ``from_segment`` is a new customer and a missing ``to_segment`` one no longer active
    in the window. Colour is the share of the row, so retention reads along the diagonal.
    """
    moves = transitions.assign(
        from_segment=transitions["from_segment"].fillna(NEW_CUSTOMERS_LABEL),
        to_segment=transitions["to_segment"].fillna(GONE_CUSTOMERS_LABEL),
    )
    named = sorted(
        {
            s
            for s in set(moves["from_segment"]) | set(moves["to_segment"])
            if s not in (NEW_CUSTOMERS_LABEL, GONE_CUSTOMERS_LABEL)
        }
    )
    row_labels = named + (
        [NEW_CUSTOMERS_LABEL] if NEW_CUSTOMERS_LABEL in set(moves["from_segment"]) else []
    )
    column_labels = named + (
        [GONE_CUSTOMERS_LABEL] if GONE_CUSTOMERS_LABEL in set(moves["to_segment"]) else []
    )
    matrix = moves.pivot_table(
        index="from_segment", columns="to_segment", values="customers", aggfunc="sum", fill_value=0
    ).reindex(index=row_labels, columns=column_labels, fill_value=0)
    counts = matrix.to_numpy(dtype=float)
    figure = Figure(
        figsize=(0.75 * len(column_labels) + 4.5, 0.5 * len(row_labels) + 3), layout="constrained"
    )
    axes = figure.subplots()
    image = _annotated_heatmap(
        axes, counts, _row_shares(counts), row_labels, column_labels, "Greens"
    )
    axes.set_xlabel("segment now")
    axes.set_ylabel("segment at the previous as_of")
    axes.set_title("Segment transitions since the previous run")
    figure.colorbar(image, ax=axes, label="share of the previous segment", shrink=0.8)
    return figure
