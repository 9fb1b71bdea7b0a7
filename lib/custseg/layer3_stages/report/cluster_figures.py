"""Figures of the clustering: how k was chosen, what the clusters look like, how they map.

Each function takes a small aggregate (or the bounded PCA sample) and returns a
``matplotlib.figure.Figure``; nothing here touches Spark or the file system. The sweep
figure covers every fitted model so the reader compares algorithms side by side; the others
draw whichever models their frame holds (the report gives them the primary model only).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from custseg.layer3_stages.report.plotting import (
    ALGORITHM_LABELS,
    annotated_heatmap,
    model_label,
    row_shares,
    wrap_label,
)

SWEEP_METRICS = (
    ("inertia", "Inertia (lower is better; look for the elbow)"),
    ("silhouette", "Silhouette (higher is better)"),
    ("davies_bouldin", "Davies-Bouldin (lower is better)"),
)


RECOMMENDED_LABEL = "recommended"


def _sweep_lines(
    axes, selection: pd.DataFrame, metric: str, primary: tuple[str, int] | None
) -> None:
    """One metric against k per algorithm: rings on the kept models, a star on each
    algorithm's pick and a label on the primary model."""
    saved_column = "saved" if "saved" in selection.columns else "chosen"
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
        for k, value in zip(rows["k"], rows[metric]):
            if (algorithm, int(k)) == primary:
                axes.annotate(
                    RECOMMENDED_LABEL,
                    (k, value),
                    xytext=(7, 7),
                    textcoords="offset points",
                    fontsize=8,
                    fontweight="bold",
                    color=line.get_color(),
                )


def k_sweep_curves(
    selection: pd.DataFrame,
    *,
    min_k: int | None = None,
    primary: tuple[str, int] | None = None,
) -> Figure:
    """Quality of each algorithm across k: inertia, silhouette and Davies-Bouldin.

    ``selection`` has ``algorithm``, ``k``, the three metrics, ``chosen`` (each algorithm's
    pick, starred) and optionally ``saved`` (every kept model, ringed), so the
    reader sees which points the rest of the report is about. The ks below ``min_k`` are
    shaded: they are measured for the curves but the rule never picks them. ``primary``
    (algorithm, k) is labelled as the recommended model.
    """
    figure = Figure(figsize=(14, 4.2), layout="constrained")
    panels = figure.subplots(1, len(SWEEP_METRICS))
    lowest_k = int(selection["k"].min())
    for index, (axes, (metric, title)) in enumerate(zip(panels, SWEEP_METRICS)):
        if min_k is not None and min_k > lowest_k:
            axes.axvspan(
                lowest_k - 0.5,
                min_k - 0.5,
                color="0.88",
                zorder=0,
                label=f"k below {min_k}: never picked" if index == 0 else None,
            )
        _sweep_lines(axes, selection, metric, primary)
        axes.set_title(title, fontsize=10)
        axes.set_xlabel("k (number of clusters)")
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.grid(alpha=0.3)
    panels[0].legend(
        fontsize=9,
        title="ring: kept model\nstar: each algorithm's pick",
        title_fontsize=8,
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
        image = annotated_heatmap(
            axes,
            counts,
            row_shares(counts),
            row_labels=segments,
            column_labels=[
                wrap_label(f"{i}: {n}", 18)
                for i, n in zip(clusters["cluster_id"], clusters["cluster_name"])
            ],
            cmap="Purples",
        )
        axes.set_title(model_label(algorithm, k), fontsize=11)
    if image is not None:
        figure.colorbar(
            image, ax=list(panels), label="share of the segment's customers", shrink=0.8
        )
    return figure
