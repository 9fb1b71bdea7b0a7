"""Sections about the clustering: the choice of k, the PCA picture, how clusters meet
segments and what each cluster stands for.

Every one of them says so instead of drawing when the cluster stage has not run for the
as_of yet, so a first run still produces the whole page.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from custseg.clustering.features import NAMING_COLUMNS
from custseg.report.cluster_figures import (
    k_sweep_curves,
    pca_projection,
    segment_cluster_heatmap,
)
from custseg.report.contents import (
    K_SWEEP_FILE,
    PROJECTION_FILE,
    SECTION_HEADINGS,
    segment_cluster_file,
)
from custseg.report.html import Section, TableColumn, table_html
from custseg.report.inputs import ReportInputs
from custseg.report.plotting import model_label
from custseg.report.section_parts import as_count, as_metric, as_share, figure_image

COMPARISON_COLUMNS = (
    TableColumn("k", "k", as_count, numeric=True),
    TableColumn("kmeans_silhouette", "KMeans silhouette", as_metric, numeric=True),
    TableColumn("bisecting_silhouette", "Bisecting silhouette", as_metric, numeric=True),
    TableColumn("kmeans_davies_bouldin", "KMeans Davies-Bouldin", as_metric, numeric=True),
    TableColumn("bisecting_davies_bouldin", "Bisecting Davies-Bouldin", as_metric, numeric=True),
    TableColumn("adjusted_rand_index", "Agreement (adjusted Rand index)", as_metric, numeric=True),
)


def k_sweep_section(inputs: ReportInputs) -> Section:
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
            figure_image(
                K_SWEEP_FILE,
                k_sweep_curves(inputs.model_selection),
                "Inertia, silhouette and Davies-Bouldin against k per algorithm",
            ),
        ),
        tables=tables,
    )


def projection_section(inputs: ReportInputs) -> Section:
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
            figure_image(
                PROJECTION_FILE,
                pca_projection(inputs.projection, inputs.explained_variance),
                "Customers on the first two principal components, coloured by cluster",
            ),
        ),
    )


def segment_cluster_section(inputs: ReportInputs) -> Section:
    heading = SECTION_HEADINGS["segment-cluster"]
    if inputs.crosstab.empty:
        return Section(
            "segment-cluster", heading, notes=("No segment x cluster table for this as_of yet.",)
        )
    images = tuple(
        figure_image(
            segment_cluster_file(k),
            segment_cluster_heatmap(inputs.crosstab, k),
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
    TableColumn("cluster_id", "Cluster", as_count, numeric=True),
    TableColumn("cluster_name", "Name"),
    TableColumn("customers", "Customers", as_count, numeric=True),
    TableColumn("customer_share", "Share of customers", as_share, numeric=True),
    TableColumn("revenue_share", "Share of revenue", as_share, numeric=True),
    TableColumn("typical_customer", "Mean profile"),
    TableColumn("actions", "Recommended actions"),
)


def cluster_profiles_section(inputs: ReportInputs) -> Section:
    heading = SECTION_HEADINGS["cluster-profiles"]
    profiles = inputs.cluster_profiles
    if profiles.empty:
        return Section(
            "cluster-profiles", heading, notes=("No cluster profiles for this as_of yet.",)
        )
    shown = profiles.assign(
        model=[model_label(a, k) for a, k in zip(profiles["algorithm"], profiles["k"])],
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
