"""Plotting pieces every figure of the report shares.

Kept apart from the figures themselves so that a segment keeps its colour, a model its
label and a heatmap its look whichever section draws it. Figures are built with
``Figure`` rather than ``pyplot`` so no global figure state is kept between runs and no
display backend is ever needed.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Iterable, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

ALGORITHM_LABELS = {"kmeans": "KMeans", "bisecting_kmeans": "Bisecting KMeans"}


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


def wrap_label(label: str, width: int) -> str:
    return "\n".join(textwrap.wrap(str(label), width=width)) or str(label)


def _text_colour(value: float, vmax: float) -> str:
    return "white" if vmax > 0 and value / vmax > 0.55 else "black"


def row_shares(counts: np.ndarray) -> np.ndarray:
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def annotated_heatmap(
    axes,
    counts: np.ndarray,
    shading: np.ndarray,
    *,
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
