"""Figures that compare runs: segment sizes across as_of dates and moves between segments.

They need at least two runs, which is why they live apart from the figures of a single
run. Each function takes a small aggregate and returns a ``matplotlib.figure.Figure``;
nothing here touches Spark or the file system.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from custseg.layer1_core.tables import AS_OF
from custseg.layer3_stages.report.plotting import annotated_heatmap, row_shares, segment_colours

NEW_CUSTOMERS_LABEL = "(new)"
GONE_CUSTOMERS_LABEL = "(gone)"


def segment_sizes_over_time(history: pd.DataFrame) -> Figure:
    """Customers per segment at every as_of, one line per segment.

    ``history`` has ``as_of``, ``segment`` and ``customers``.
    """
    colours = segment_colours(history["segment"])
    table = history.pivot_table(
        index=AS_OF, columns="segment", values="customers", aggfunc="sum", fill_value=0
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
    image = annotated_heatmap(
        axes,
        counts,
        row_shares(counts),
        row_labels=row_labels,
        column_labels=column_labels,
        cmap="Greens",
    )
    axes.set_xlabel("segment now")
    axes.set_ylabel("segment at the previous as_of")
    axes.set_title("Segment transitions since the previous run")
    figure.colorbar(image, ax=axes, label="share of the previous segment", shrink=0.8)
    return figure
