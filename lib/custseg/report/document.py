"""What the report says: its sections, in order, and the files it leaves on disk.

Each section always appears (the table of contents stays the same from run to run); when
its data does not exist yet, for instance the transition matrix on the first run, the
section says why instead of showing a chart.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from custseg.clustering.features import NAMING_COLUMNS
from custseg.report import figures
from custseg.report.html import (
    Image,
    Section,
    TableColumn,
    key_figures_html,
    render_page,
    table_html,
)
from custseg.report.inputs import ReportInputs

SECTION_HEADINGS = {
    "overview": "Overview",
    "segments": "Segments: customers and revenue",
    "rf-grid": "Recency x frequency grid",
    "distributions": "Recency, frequency and monetary distributions",
    "k-sweep": "Choosing the number of clusters",
    "projection": "Customers in two dimensions (PCA)",
    "segment-cluster": "RFM segments x clusters",
    "cluster-profiles": "Cluster profiles and recommended actions",
    "over-time": "Segment sizes over time",
    "transitions": "Segment transitions",
}

TREEMAP_FILE = "segment_treemap.png"
RF_GRID_FILE = "rf_grid_heatmap.png"
DISTRIBUTIONS_FILE = "rfm_distributions.png"
K_SWEEP_FILE = "k_sweep.png"
PROJECTION_FILE = "pca_projection.png"
SIZES_OVER_TIME_FILE = "segment_sizes_over_time.png"
TRANSITIONS_FILE = "segment_transitions.png"
PAGE_FILE = "report.html"


def segment_cluster_file(k: int) -> str:
    return f"segment_cluster_k{int(k)}.png"


@dataclasses.dataclass(frozen=True)
class WrittenReport:
    page: Path
    figures: list[Path]


def _count(value: Any) -> str:
    return f"{int(value):,}"


def _money(value: Any) -> str:
    return f"{float(value):,.2f}"


def _decimal(value: Any) -> str:
    return f"{float(value):,.1f}"


def _share(value: Any) -> str:
    return f"{float(value):.1%}"


def _metric(value: Any) -> str:
    return f"{float(value):,.3f}"


def _image(file_name: str, figure: Figure, alt: str, caption: str = "") -> Image:
    return Image(file_name, figures.png_bytes(figure), alt, caption)


def _overview(inputs: ReportInputs) -> Section:
    customers = int(inputs.rf_grid["customers"].sum()) if not inputs.rf_grid.empty else 0
    tiles = [("as_of", inputs.as_of.isoformat()), ("customers scored", _count(customers))]
    summary = inputs.segment_summary
    if not summary.empty:
        tiles.append(("revenue in the window", _money(summary["revenue"].sum())))
        tiles.append(("segments", _count(len(summary))))
        top = summary.sort_values(["revenue", "segment"], ascending=[False, True]).iloc[0]
        if pd.notna(top["revenue_share"]):  # null when the window's revenue is zero
            tiles.append((f"of revenue from {top['segment']}", _share(top["revenue_share"])))
    if not inputs.cluster_profiles.empty:
        models = inputs.cluster_profiles[["algorithm", "k"]].drop_duplicates()
        tiles.append(("cluster models", _count(len(models))))
    runs = inputs.segment_history["as_of"].nunique() if not inputs.segment_history.empty else 1
    tiles.append(("runs so far", _count(runs)))
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
    TableColumn("customers", "Customers", _count, numeric=True),
    TableColumn("customer_share", "Share of customers", _share, numeric=True),
    TableColumn("revenue", "Revenue", _money, numeric=True),
    TableColumn("revenue_share", "Share of revenue", _share, numeric=True),
    TableColumn("median_recency_days", "Median days since last purchase", _decimal, numeric=True),
    TableColumn("median_frequency", "Median orders", _decimal, numeric=True),
    TableColumn("median_monetary", "Median spend", _money, numeric=True),
    TableColumn("description", "What it means"),
    TableColumn("actions", "Recommended actions"),
)


def _segments(inputs: ReportInputs) -> Section:
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
            _image(
                TREEMAP_FILE,
                figures.segment_treemap(ordered),
                "Treemaps of customers and revenue per segment",
            ),
        ),
        tables=(table_html(ordered, [c for c in SEGMENT_COLUMNS if c.name in ordered.columns]),),
    )


def _rf_grid(inputs: ReportInputs) -> Section:
    return Section(
        "rf-grid",
        SECTION_HEADINGS["rf-grid"],
        paragraphs=(
            "Each cell counts the customers with that recency and frequency score and "
            "names the segment the cell belongs to. The top-right corner holds recent, "
            "frequent buyers; the bottom-left those who bought once, long ago.",
        ),
        images=(
            _image(
                RF_GRID_FILE,
                figures.rf_grid_heatmap(inputs.rf_grid, inputs.score_bins),
                "Heatmap of customers per recency and frequency score",
            ),
        ),
    )


def _distributions(inputs: ReportInputs) -> Section:
    return Section(
        "distributions",
        SECTION_HEADINGS["distributions"],
        paragraphs=(
            "How the raw measures behind the scores are spread. Orders and spend are "
            "shown on a logarithmic axis because a few customers buy far more than the "
            "rest; the dashed line is the median.",
        ),
        images=(
            _image(
                DISTRIBUTIONS_FILE,
                figures.rfm_distributions(inputs.histograms),
                "Histograms of recency, frequency and monetary value",
            ),
        ),
    )


COMPARISON_COLUMNS = (
    TableColumn("k", "k", _count, numeric=True),
    TableColumn("kmeans_silhouette", "KMeans silhouette", _metric, numeric=True),
    TableColumn("bisecting_silhouette", "Bisecting silhouette", _metric, numeric=True),
    TableColumn("kmeans_davies_bouldin", "KMeans Davies-Bouldin", _metric, numeric=True),
    TableColumn("bisecting_davies_bouldin", "Bisecting Davies-Bouldin", _metric, numeric=True),
    TableColumn("adjusted_rand_index", "Agreement (adjusted Rand index)", _metric, numeric=True),
)


def _k_sweep(inputs: ReportInputs) -> Section:
    heading = SECTION_HEADINGS["k-sweep"]
    if inputs.model_selection.empty:
        return Section(
            "k-sweep",
            heading,
            notes=("No clustering results for this as_of yet: run the cluster stage first.",),
        )
    tables = ()
    if not inputs.model_comparison.empty:
        tables = (
            table_html(
                inputs.model_comparison,
                COMPARISON_COLUMNS,
                "KMeans and Bisecting KMeans at the chosen k",
            ),
        )
    return Section(
        "k-sweep",
        heading,
        paragraphs=(
            "Every algorithm was fitted for a range of cluster counts. Inertia always "
            "falls as k grows, so look for the bend; silhouette rewards well separated "
            "clusters and Davies-Bouldin penalises overlapping ones. Ringed points are "
            "the models used in the rest of this report; the star marks the one the "
            "selection rule prefers.",
        ),
        images=(
            _image(
                K_SWEEP_FILE,
                figures.k_sweep_curves(inputs.model_selection),
                "Inertia, silhouette and Davies-Bouldin against k per algorithm",
            ),
        ),
        tables=tables,
    )


def _projection(inputs: ReportInputs) -> Section:
    heading = SECTION_HEADINGS["projection"]
    if inputs.projection.empty:
        return Section(
            "projection",
            heading,
            notes=("No cluster assignments for this as_of yet: run the cluster stage first.",),
        )
    sampled = int(inputs.projection.groupby(["algorithm", "k"]).size().max())
    variance = sum(inputs.explained_variance[:2])
    return Section(
        "projection",
        heading,
        paragraphs=(
            f"The clustering features ({', '.join(inputs.features)}) are standardised "
            "and projected on their first two principal components, fitted on all "
            f"customers; together they explain {variance:.0%} of the variance. "
            f"{sampled:,} customers are drawn (the same ones in every panel, chosen by a "
            "hash of their key, so the picture is stable between runs) and coloured by "
            "cluster.",
        ),
        images=(
            _image(
                PROJECTION_FILE,
                figures.pca_projection(inputs.projection, inputs.explained_variance),
                "Customers on the first two principal components, coloured by cluster",
            ),
        ),
    )


def _segment_cluster(inputs: ReportInputs) -> Section:
    heading = SECTION_HEADINGS["segment-cluster"]
    if inputs.crosstab.empty:
        return Section(
            "segment-cluster", heading, notes=("No segment x cluster table for this as_of yet.",)
        )
    images = tuple(
        _image(
            segment_cluster_file(k),
            figures.segment_cluster_heatmap(inputs.crosstab, k),
            f"RFM segment by cluster for the {k}-cluster models",
            f"{k} clusters: cell text is the number of customers, colour the share of the "
            "segment's customers",
        )
        for k in sorted({int(k) for k in inputs.crosstab["k"]})
    )
    return Section(
        "segment-cluster",
        heading,
        paragraphs=(
            "Where the rule-based segments and the data-driven clusters agree, a "
            "segment's row is dark in one column; a row spread over several clusters "
            "shows a segment that mixes different behaviours.",
        ),
        images=images,
    )


def _profile_features(value: Any) -> str:
    if value is None or (not isinstance(value, (dict, list)) and pd.isna(value)):
        return ""
    means = dict(value)
    names = [n for n in NAMING_COLUMNS if n in means]
    names += sorted(n for n in means if n not in NAMING_COLUMNS)
    return "; ".join(
        f"{n.replace('_', ' ')} {float(means[n]):,.1f}" for n in names if means[n] is not None
    )


PROFILE_COLUMNS = (
    TableColumn("model", "Model"),
    TableColumn("cluster_id", "Cluster", _count, numeric=True),
    TableColumn("cluster_name", "Name"),
    TableColumn("customers", "Customers", _count, numeric=True),
    TableColumn("customer_share", "Share of customers", _share, numeric=True),
    TableColumn("revenue_share", "Share of revenue", _share, numeric=True),
    TableColumn("typical_customer", "Mean profile"),
    TableColumn("actions", "Recommended actions"),
)


def _cluster_profiles(inputs: ReportInputs) -> Section:
    heading = SECTION_HEADINGS["cluster-profiles"]
    profiles = inputs.cluster_profiles
    if profiles.empty:
        return Section(
            "cluster-profiles", heading, notes=("No cluster profiles for this as_of yet.",)
        )
    shown = profiles.assign(
        model=[figures.model_label(a, k) for a, k in zip(profiles["algorithm"], profiles["k"])],
        typical_customer=[_profile_features(v) for v in profiles["feature_means"]],
    )
    return Section(
        "cluster-profiles",
        heading,
        paragraphs=(
            "Each cluster is named from how its customers compare with the whole "
            "population; the actions are the suggested way to address them.",
        ),
        tables=(table_html(shown, PROFILE_COLUMNS),),
    )


def _over_time(inputs: ReportInputs) -> Section:
    heading = SECTION_HEADINGS["over-time"]
    history = inputs.segment_history
    if history.empty or history["as_of"].nunique() < 2:
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
            f"Customers per segment at each of the {history['as_of'].nunique()} "
            "as_of dates the pipeline has scored.",
        ),
        images=(
            _image(
                SIZES_OVER_TIME_FILE,
                figures.segment_sizes_over_time(history),
                "Segment sizes at every as_of date",
            ),
        ),
    )


def _transitions(inputs: ReportInputs) -> Section:
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
            f"'{figures.NEW_CUSTOMERS_LABEL}' are first-time buyers, "
            f"'{figures.GONE_CUSTOMERS_LABEL}' customers no longer in the window.",
        ),
        images=(
            _image(
                TRANSITIONS_FILE,
                figures.transition_matrix(moves),
                "Matrix of customers moving between segments",
            ),
        ),
    )


def build_sections(inputs: ReportInputs) -> list[Section]:
    """All sections in reading order, one per entry of ``SECTION_HEADINGS``."""
    return [
        _overview(inputs),
        _segments(inputs),
        _rf_grid(inputs),
        _distributions(inputs),
        _k_sweep(inputs),
        _projection(inputs),
        _segment_cluster(inputs),
        _cluster_profiles(inputs),
        _over_time(inputs),
        _transitions(inputs),
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
