"""Tables the cluster and score stages write: assignments, the k sweep and profiles."""

from __future__ import annotations

import math

from custseg.layer1_core.tables.spec import (
    AS_OF,
    BIGINT,
    BOOLEAN,
    CUSTOMER_KEY,
    DATE,
    DISPLAY_MONEY,
    DOUBLE,
    INT,
    STRING,
    TableSpec,
    column,
)

# The values of the algorithm column, in the order the report lists them.
ALGORITHMS = ("kmeans", "bisecting_kmeans")
# customer_clusters' flag of the model a run calls primary.
IS_PRIMARY = "is_primary"


def quality_rank(
    value: float, silhouette: float | None, *, larger_is_better: bool = False
) -> tuple[float, float]:
    """Sort key of a model, best first: its selection metric, then the higher silhouette.

    Ties are rare but real (two algorithms that find the same clusters on well separated
    data); silhouette then says which clusters sit more cleanly apart. A missing silhouette
    ranks last. The report's fallback for runs without ``is_primary`` ranks with this too.
    """
    return (
        -value if larger_is_better else value,
        -silhouette if silhouette is not None else math.inf,
    )


CUSTOMER_CLUSTERS = TableSpec(
    "customer_clusters",
    "Cluster of every customer for each chosen model (algorithm, k) at each as_of.",
    (
        column(CUSTOMER_KEY, STRING, "pseudonymised customer", False),
        column(AS_OF, DATE, "RFM reference date the features come from", False),
        column("algorithm", STRING, "kmeans or bisecting_kmeans", False),
        column("k", INT, "number of clusters of the model", False),
        column("cluster_id", INT, "stable cluster id (matched to the previous run)", False),
        column("cluster_name", STRING, "name derived from the cluster profile", False),
        column(
            "distance_to_centre",
            DOUBLE,
            "Euclidean distance to the centre in standardised feature space",
            False,
        ),
        column(
            "model_as_of",
            DATE,
            "as_of of the saved model that assigned the cluster (as_of itself when fitted in the same run; earlier after custseg score)",
            False,
        ),
        column(
            "is_primary",
            BOOLEAN,
            "true for the rows of the run's recommended model, the one to use for campaigns (one model per as_of); null for runs before custseg flagged one",
        ),
    ),
    partition_by=(AS_OF,),
    sorted_by=(CUSTOMER_KEY,),
    stats_columns=(CUSTOMER_KEY,),
)


MODEL_SELECTION = TableSpec(
    "model_selection",
    "The k sweep: quality metrics for each algorithm and k.",
    (
        column(AS_OF, DATE, "RFM reference date of the features", False),
        column("algorithm", STRING, "kmeans or bisecting_kmeans", False),
        column("k", INT, "number of clusters", False),
        column(
            "inertia",
            DOUBLE,
            "within-cluster sum of squared distances (standardised units)",
            False,
        ),
        column("silhouette", DOUBLE, "MLlib ClusteringEvaluator silhouette (squared Euclidean)"),
        column("davies_bouldin", DOUBLE, "Davies-Bouldin index, lower is better"),
        column("calinski_harabasz", DOUBLE, "Calinski-Harabasz index, higher is better"),
        column(
            "smallest_cluster_share",
            DOUBLE,
            "share of customers in the smallest cluster",
            False,
        ),
        column(
            "seconds",
            DOUBLE,
            "wall-clock seconds of the fit (models are judged together after)",
            False,
        ),
        column("sample_size", BIGINT, "customers the model was fitted on", False),
        column("chosen", BOOLEAN, "picked by the selection rule", False),
        column(
            "saved",
            BOOLEAN,
            "model saved and assigned to customers (picked by the rule, listed in clustering.k or the primary model)",
            False,
        ),
        column(
            "is_primary",
            BOOLEAN,
            "the run's recommended model (clustering.primary, by default the best Davies-Bouldin of the chosen models); exactly one row per as_of; null for runs before custseg flagged one",
        ),
    ),
    partition_by=(AS_OF,),
    single_file=True,
)

MODEL_COMPARISON = TableSpec(
    "model_comparison",
    "KMeans and BisectingKMeans side by side for each chosen k, with their agreement.",
    (
        column(AS_OF, DATE, "RFM reference date", False),
        column("k", INT, "number of clusters", False),
        column("kmeans_inertia", DOUBLE, "KMeans inertia"),
        column("bisecting_inertia", DOUBLE, "BisectingKMeans inertia"),
        column("kmeans_silhouette", DOUBLE, "KMeans silhouette"),
        column("bisecting_silhouette", DOUBLE, "BisectingKMeans silhouette"),
        column("kmeans_davies_bouldin", DOUBLE, "KMeans Davies-Bouldin"),
        column("bisecting_davies_bouldin", DOUBLE, "BisectingKMeans Davies-Bouldin"),
        column("kmeans_calinski_harabasz", DOUBLE, "KMeans Calinski-Harabasz"),
        column("bisecting_calinski_harabasz", DOUBLE, "BisectingKMeans Calinski-Harabasz"),
        column("adjusted_rand_index", DOUBLE, "agreement of the two assignments (1 = identical)"),
    ),
    partition_by=(AS_OF,),
)

CLUSTER_PROFILES = TableSpec(
    "cluster_profiles",
    "Per model and cluster: size, revenue share, mean R, F, M, actions and a name; every "
    "profile feature's mean, median, centre and z-score are in cluster_features. Flat: no "
    "nested columns.",
    (
        column(AS_OF, DATE, "RFM reference date", False),
        column("algorithm", STRING, "kmeans or bisecting_kmeans", False),
        column("k", INT, "number of clusters", False),
        column("cluster_id", INT, "stable cluster id", False),
        column("cluster_name", STRING, "name from the profile relative to the population", False),
        column("customers", BIGINT, "customers in the cluster", False),
        column("customer_share", DOUBLE, "customers / all", False),
        column("revenue_share", DOUBLE, "monetary / all monetary", False),
        column(
            "mean_recency_days",
            DOUBLE,
            "mean days from the last purchase to as_of; null for a cluster without customers",
        ),
        column("mean_frequency", DOUBLE, "mean orders; null for a cluster without customers"),
        column(
            "mean_monetary",
            DISPLAY_MONEY,
            "mean spend, rounded to cents; null for a cluster without customers",
        ),
        column("actions", STRING, "recommended actions for the name, one per line"),
        column(
            "match_distance",
            DOUBLE,
            "distance to the matched centre of the previous run (this run's standardised units); null if none",
        ),
        column(
            "model_cluster",
            INT,
            "index the saved MLlib model predicts for this cluster (model-internal; use cluster_id)",
            False,
        ),
        column(
            "is_primary",
            BOOLEAN,
            "true for the clusters of the run's recommended model (one model per as_of); null for runs before custseg flagged one",
        ),
    ),
    partition_by=(AS_OF,),
    single_file=True,
)

CLUSTER_FEATURES = TableSpec(
    "cluster_features",
    "Per model, cluster and profile feature (R, F, M and every other model input): mean, "
    "median, model centre and z-score; join to cluster_profiles on as_of, algorithm, k and "
    "cluster_id.",
    (
        column(AS_OF, DATE, "RFM reference date", False),
        column("algorithm", STRING, "kmeans or bisecting_kmeans", False),
        column("k", INT, "number of clusters", False),
        column("cluster_id", INT, "stable cluster id (as in cluster_profiles)", False),
        column(
            "feature",
            STRING,
            "customer_rfm or customer_profiles column, e.g. monetary, days_since_signup",
            False,
        ),
        column("mean", DOUBLE, "mean of the feature, original units; null without customers"),
        column(
            "median",
            DOUBLE,
            "approximate median of the feature, original units; null without customers",
        ),
        column(
            "centre",
            DOUBLE,
            "model centre mapped back to original units; null for a column the model does not read",
        ),
        column(
            "z_score",
            DOUBLE,
            "cluster mean of log1p(feature) minus the population mean, in population standard deviations; the naming rules read recency_days, frequency, monetary",
        ),
    ),
    partition_by=(AS_OF,),
)

SEGMENT_CLUSTER_CROSSTAB = TableSpec(
    "segment_cluster_crosstab",
    "RFM segment x cluster customer counts for each chosen model.",
    (
        column(AS_OF, DATE, "RFM reference date", False),
        column("algorithm", STRING, "kmeans or bisecting_kmeans", False),
        column("k", INT, "number of clusters", False),
        column("segment", STRING, "RFM segment", False),
        column("cluster_id", INT, "cluster id", False),
        column("cluster_name", STRING, "cluster name", False),
        column("customers", BIGINT, "customers in both", False),
    ),
    partition_by=(AS_OF,),
)
