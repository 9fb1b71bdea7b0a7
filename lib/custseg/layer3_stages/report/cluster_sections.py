"""Sections about the clustering. They lead with the run's primary model, the one a
marketer should use: its clusters, names, actions and how the RFM segments fall into them;
then how that model was chosen, KMeans and Bisecting KMeans side by side; the other kept
models last, in a compact appendix.

Every one of them says so instead of drawing when the cluster stage has not run for the
as_of yet, so a first run still produces the whole page.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from custseg.layer1_core.config.feature_names import NAMING_COLUMNS
from custseg.layer3_stages.report.cluster_figures import (
    k_sweep_curves,
    pca_projection,
    segment_cluster_heatmap,
)
from custseg.layer3_stages.report.contents import (
    K_SWEEP_FILE,
    PROJECTION_FILE,
    SECTION_HEADINGS,
    SEGMENT_CLUSTER_FILE,
)
from custseg.layer3_stages.report.html import Section, TableColumn, table_html
from custseg.layer3_stages.report.inputs import COMPARED_KS, PrimaryModel, ReportInputs
from custseg.layer3_stages.report.plotting import model_label
from custseg.layer3_stages.report.section_parts import (
    as_count,
    as_decimal,
    as_metric,
    as_share,
    figure_image,
)

COMPARISON_COLUMNS = (
    TableColumn("k", "k", as_count, numeric=True),
    TableColumn("kmeans_silhouette", "KMeans silhouette", as_metric, numeric=True),
    TableColumn("bisecting_silhouette", "Bisecting silhouette", as_metric, numeric=True),
    TableColumn("kmeans_davies_bouldin", "KMeans Davies-Bouldin", as_metric, numeric=True),
    TableColumn("bisecting_davies_bouldin", "Bisecting Davies-Bouldin", as_metric, numeric=True),
    TableColumn("adjusted_rand_index", "Agreement (adjusted Rand index)", as_metric, numeric=True),
)


def _primary_label(primary: PrimaryModel | None) -> str:
    return model_label(primary.algorithm, primary.k) if primary else ""


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
                "KMeans and Bisecting KMeans at every kept k",
            ),
        )
    primary = inputs.primary
    return Section(
        "k-sweep",
        heading,
        paragraphs=(
            "Both algorithms were fitted for a range of cluster counts. Inertia always falls "
            "as k grows, so look for the bend; silhouette rewards well separated clusters and "
            "Davies-Bouldin penalises overlapping ones. Per algorithm the rule picks (star) the "
            f"lowest Davies-Bouldin index from k={inputs.min_k} up (fewer clusters, shaded, "
            "give a campaign too little to choose between) among the ks whose smallest "
            "cluster is big enough, the higher silhouette breaking ties. Of the algorithms' picks the "
            "lower Davies-Bouldin becomes the recommended model unless clustering.primary "
            "names one"
            + (f"; this run recommends {_primary_label(primary)}." if primary else ".")
            + " Rings mark every kept model. The table sets the two algorithms side by side; "
            "an agreement near 1 means they found the same clusters.",
        ),
        images=(
            figure_image(
                K_SWEEP_FILE,
                k_sweep_curves(
                    inputs.model_selection,
                    min_k=inputs.min_k,
                    primary=(primary.algorithm, primary.k) if primary else None,
                ),
                "Inertia, silhouette and Davies-Bouldin against k per algorithm",
            ),
        ),
        tables=tables,
    )


SPLIT_METRIC_COLUMNS = (
    TableColumn("model", "Model"),
    TableColumn("silhouette", "Silhouette", as_metric, numeric=True),
    TableColumn("davies_bouldin", "Davies-Bouldin", as_metric, numeric=True),
    TableColumn("inertia", "Inertia", as_decimal, numeric=True),
)
SPLIT_COLUMNS = (
    TableColumn("from_cluster", f"Cluster of k={COMPARED_KS[0]}"),
    TableColumn("to_cluster", f"Cluster of k={COMPARED_KS[1]}"),
    TableColumn("customers", "Customers", as_count, numeric=True),
    TableColumn("from_share", f"Share of the k={COMPARED_KS[0]} cluster", as_share, numeric=True),
)
# Flows smaller than this share of their k=4 cluster are left out of the table.
MIN_SPLIT_SHARE = 0.01


def _split_flows(split: pd.DataFrame) -> pd.DataFrame:
    """The split's rows with their share of the fewer-cluster model's cluster, in cluster
    order and largest flow first, tiny flows dropped."""
    totals = split.groupby("from_cluster_id")["customers"].transform("sum")
    flows = split.assign(
        from_share=split["customers"] / totals,
        from_cluster=[
            f"{i}: {n}" for i, n in zip(split["from_cluster_id"], split["from_cluster_name"])
        ],
        to_cluster=[f"{i}: {n}" for i, n in zip(split["to_cluster_id"], split["to_cluster_name"])],
    )
    flows = flows[flows["from_share"] >= MIN_SPLIT_SHARE]
    return flows.sort_values(["from_cluster_id", "customers"], ascending=[True, False])


def _most_divided(flows: pd.DataFrame) -> str:
    """The k=4 cluster whose customers end up least together in the k=5 model."""
    kept = flows.groupby("from_cluster")["from_share"].max()
    name, share = kept.idxmin(), kept.min()
    return (
        f"Cluster {name} is the most divided: its largest part in the five-cluster model holds "
        f"{share:.0%} of its customers."
    )


def cluster_split_section(inputs: ReportInputs) -> Section:
    heading = SECTION_HEADINGS["four-vs-five"]
    split = inputs.cluster_split
    if split.empty:
        fewer, more = COMPARED_KS
        return Section(
            "four-vs-five",
            heading,
            notes=(
                f"The k={fewer} and k={more} models were not both kept for this as_of "
                "(clustering.k lists the ks always kept).",
            ),
        )
    algorithm = str(split["algorithm"].iloc[0])
    selection = inputs.model_selection
    compared = selection[selection["k"].isin(COMPARED_KS)].sort_values(["algorithm", "k"])
    metrics = compared.assign(
        model=[model_label(a, k) for a, k in zip(compared["algorithm"], compared["k"])]
    )
    flows = _split_flows(split)
    return Section(
        "four-vs-five",
        heading,
        paragraphs=(
            f"The seed studies weighed four clusters against five. Both are kept every run; "
            f"the table follows the customers of {model_label(algorithm, COMPARED_KS[0])} into "
            f"the five clusters of the same algorithm. A cluster sent whole to one cluster "
            "is the same group in both; one shared between two is what the fifth cluster "
            f"separates. {_most_divided(flows)} Lower Davies-Bouldin and higher silhouette "
            "mean better separated clusters.",
        ),
        tables=(
            table_html(metrics, SPLIT_METRIC_COLUMNS, "Quality of the compared models"),
            table_html(
                flows,
                SPLIT_COLUMNS,
                f"Where the customers of each k={COMPARED_KS[0]} cluster go at "
                f"k={COMPARED_KS[1]} (flows under {MIN_SPLIT_SHARE:.0%} left out)",
            ),
        ),
    )


def projection_section(inputs: ReportInputs) -> Section:
    heading = SECTION_HEADINGS["projection"]
    if inputs.projection.empty:
        return Section(
            "projection",
            heading,
            notes=(
                "No cluster assignments for this as_of yet (run the cluster stage first), or "
                "a clustering feature needs the customer_profiles table and it is missing.",
            ),
        )
    sampled = int(inputs.projection.groupby(["algorithm", "k"]).size().max())
    variance = sum(inputs.explained_variance[:2])
    coloured_by = (
        f"the clusters of {_primary_label(inputs.primary)}" if inputs.primary else "cluster"
    )
    return Section(
        "projection",
        heading,
        paragraphs=(
            f"The clustering features ({', '.join(inputs.features)}) are standardised "
            "and projected on their first two principal components, fitted on all "
            f"customers; together they explain {variance:.0%} of the variance. "
            f"{sampled:,} customers are drawn (chosen by a hash of their key, so the picture "
            f"is stable between runs) and coloured by {coloured_by}.",
        ),
        images=(
            figure_image(
                PROJECTION_FILE,
                pca_projection(inputs.projection, inputs.explained_variance),
                "Customers on the first two principal components, coloured by cluster",
            ),
        ),
    )


def _means(value: Any) -> dict:
    """A profile's feature_means as a dict; empty when the row has none."""
    if value is None or (not isinstance(value, (dict, list)) and pd.isna(value)):
        return {}
    return dict(value)


def _profile_features(value: Any) -> str:
    means = _means(value)
    return "; ".join(
        f"{n.replace('_', ' ')} {float(means[n]):,.1f}"
        for n in _feature_order(means)
        if means[n] is not None
    )


def _feature_order(names) -> list[str]:
    """Recency, frequency and monetary first (the names are built from them), then the rest."""
    names = set(names)
    return [n for n in NAMING_COLUMNS if n in names] + sorted(names - set(NAMING_COLUMNS))


PRIMARY_COLUMNS = (
    TableColumn("cluster_id", "Cluster", as_count, numeric=True),
    TableColumn("cluster_name", "Name"),
    TableColumn("customers", "Customers", as_count, numeric=True),
    TableColumn("customer_share", "Share of customers", as_share, numeric=True),
    TableColumn("revenue_share", "Share of revenue", as_share, numeric=True),
)
ACTIONS_COLUMN = TableColumn("actions", "Recommended actions", lines=True)


def _primary_table(profiles: pd.DataFrame) -> str:
    """One row per cluster: size, the mean of every profile feature, the actions."""
    means = [_means(v) for v in profiles["feature_means"]]
    features = _feature_order({name for row in means for name in row})
    shown = profiles.assign(**{f"mean {f}": [row.get(f) for row in means] for f in features})
    feature_columns = tuple(
        TableColumn(f"mean {f}", f"Mean {f.replace('_', ' ')}", as_decimal, numeric=True)
        for f in features
    )
    return table_html(shown, PRIMARY_COLUMNS + feature_columns + (ACTIONS_COLUMN,))


def cluster_profiles_section(inputs: ReportInputs) -> Section:
    heading = SECTION_HEADINGS["cluster-profiles"]
    primary = inputs.primary
    profiles = primary.rows(inputs.cluster_profiles) if primary else pd.DataFrame()
    if profiles.empty:
        return Section(
            "cluster-profiles", heading, notes=("No cluster profiles for this as_of yet.",)
        )
    how = (
        "the cluster stage's recommendation: the best of the algorithms' picks unless "
        "clustering.primary names another"
        if primary.flagged
        else "the best of the algorithms' picks, worked out here because this run's tables "
        "predate the is_primary column"
    )
    crosstab = primary.rows(inputs.crosstab)
    images = ()
    if not crosstab.empty:
        images = (
            figure_image(
                SEGMENT_CLUSTER_FILE,
                segment_cluster_heatmap(crosstab, primary.k),
                f"RFM segment by cluster for {_primary_label(primary)}",
                "Cell text is the number of customers, colour the share of the segment's "
                "customers. A segment's row dark in one column means segment and cluster agree; "
                "a row spread over several clusters is a segment that mixes behaviours.",
            ),
        )
    return Section(
        "cluster-profiles",
        heading,
        paragraphs=(
            f"The recommended model is {_primary_label(primary)} ({how}). Each cluster is "
            "named from how its customers compare with the whole population, and the actions "
            "are the suggested way to address them. Means are in original units (days, "
            "orders, money).",
        ),
        tables=(_primary_table(profiles),),
        images=images,
    )


APPENDIX_COLUMNS = (
    TableColumn("model", "Model"),
    TableColumn("cluster_id", "Cluster", as_count, numeric=True),
    TableColumn("cluster_name", "Name"),
    TableColumn("customer_share", "Share of customers", as_share, numeric=True),
    TableColumn("revenue_share", "Share of revenue", as_share, numeric=True),
    TableColumn("typical_customer", "Mean profile"),
)


def other_models_section(inputs: ReportInputs) -> Section:
    heading = SECTION_HEADINGS["other-models"]
    profiles = inputs.cluster_profiles
    if not profiles.empty and inputs.primary:
        profiles = profiles.drop(inputs.primary.rows(profiles).index)
    if profiles.empty:
        return Section("other-models", heading, notes=("No other model was kept for this as_of.",))
    shown = profiles.assign(
        model=[model_label(a, k) for a, k in zip(profiles["algorithm"], profiles["k"])],
        typical_customer=[_profile_features(v) for v in profiles["feature_means"]],
    )
    return Section(
        "other-models",
        heading,
        paragraphs=(
            "The cluster stage also keeps each algorithm's pick and the ks listed in "
            "clustering.k, for comparison and for campaigns that need another grain. Their "
            "customers are in customer_clusters and their full profiles, actions included, "
            "in cluster_profiles.",
        ),
        tables=(table_html(shown, APPENDIX_COLUMNS),),
    )
