"""Tables the cluster and score stages write: assignments, the k sweep and profiles."""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
)

from custseg.tables.spec import TableSpec, column

CUSTOMER_CLUSTERS = TableSpec(
    "customer_clusters",
    "Cluster of every customer for each chosen model (algorithm, k) at each as_of.",
    (
        column("customer_key", StringType(), "pseudonymised customer", False),
        column("as_of", DateType(), "RFM reference date the features come from", False),
        column("algorithm", StringType(), "kmeans or bisecting_kmeans", False),
        column("k", IntegerType(), "number of clusters of the model", False),
        column(
            "cluster_id", IntegerType(), "stable cluster id (matched to the previous run)", False
        ),
        column("cluster_name", StringType(), "name derived from the cluster profile", False),
        column(
            "distance_to_centre",
            DoubleType(),
            "Euclidean distance to the centre in standardised feature space",
            False,
        ),
        column(
            "model_as_of",
            DateType(),
            "as_of of the saved model that assigned the cluster (as_of itself when fitted in the same run; earlier after custseg score)",
            False,
        ),
        column(
            "is_primary",
            BooleanType(),
            "true for the rows of the run's recommended model, the one to use for campaigns (one model per as_of); null for runs before custseg flagged one",
        ),
    ),
    partition_by=("as_of",),
)


MODEL_SELECTION = TableSpec(
    "model_selection",
    "The k sweep: quality metrics for each algorithm and k.",
    (
        column("as_of", DateType(), "RFM reference date of the features", False),
        column("algorithm", StringType(), "kmeans or bisecting_kmeans", False),
        column("k", IntegerType(), "number of clusters", False),
        column(
            "inertia",
            DoubleType(),
            "within-cluster sum of squared distances (standardised units)",
            False,
        ),
        column(
            "silhouette", DoubleType(), "MLlib ClusteringEvaluator silhouette (squared Euclidean)"
        ),
        column("davies_bouldin", DoubleType(), "Davies-Bouldin index, lower is better"),
        column("calinski_harabasz", DoubleType(), "Calinski-Harabasz index, higher is better"),
        column(
            "smallest_cluster_share",
            DoubleType(),
            "share of customers in the smallest cluster",
            False,
        ),
        column(
            "seconds",
            DoubleType(),
            "wall-clock seconds of the fit (models are judged together after)",
            False,
        ),
        column("sample_size", LongType(), "customers the model was fitted on", False),
        column("chosen", BooleanType(), "picked by the selection rule", False),
        column(
            "saved",
            BooleanType(),
            "model saved and assigned to customers (picked by the rule, listed in clustering.k or the primary model)",
            False,
        ),
        column(
            "is_primary",
            BooleanType(),
            "the run's recommended model (clustering.primary, by default the best Davies-Bouldin of the chosen models); exactly one row per as_of; null for runs before custseg flagged one",
        ),
    ),
    partition_by=("as_of",),
)

MODEL_COMPARISON = TableSpec(
    "model_comparison",
    "KMeans and BisectingKMeans side by side for each chosen k, with their agreement.",
    (
        column("as_of", DateType(), "RFM reference date", False),
        column("k", IntegerType(), "number of clusters", False),
        column("kmeans_inertia", DoubleType(), "KMeans inertia"),
        column("bisecting_inertia", DoubleType(), "BisectingKMeans inertia"),
        column("kmeans_silhouette", DoubleType(), "KMeans silhouette"),
        column("bisecting_silhouette", DoubleType(), "BisectingKMeans silhouette"),
        column("kmeans_davies_bouldin", DoubleType(), "KMeans Davies-Bouldin"),
        column("bisecting_davies_bouldin", DoubleType(), "BisectingKMeans Davies-Bouldin"),
        column("kmeans_calinski_harabasz", DoubleType(), "KMeans Calinski-Harabasz"),
        column("bisecting_calinski_harabasz", DoubleType(), "BisectingKMeans Calinski-Harabasz"),
        column(
            "adjusted_rand_index", DoubleType(), "agreement of the two assignments (1 = identical)"
        ),
    ),
    partition_by=("as_of",),
)

CLUSTER_PROFILES = TableSpec(
    "cluster_profiles",
    "Per model and cluster: size, revenue share, feature means/medians, centre and a name.",
    (
        column("as_of", DateType(), "RFM reference date", False),
        column("algorithm", StringType(), "kmeans or bisecting_kmeans", False),
        column("k", IntegerType(), "number of clusters", False),
        column("cluster_id", IntegerType(), "stable cluster id", False),
        column(
            "cluster_name", StringType(), "name from the profile relative to the population", False
        ),
        column("customers", LongType(), "customers in the cluster", False),
        column("customer_share", DoubleType(), "customers / all", False),
        column("revenue_share", DoubleType(), "monetary / all monetary", False),
        column(
            "feature_means",
            MapType(StringType(), DoubleType()),
            "mean of each profile feature, original units",
            False,
        ),
        column(
            "feature_medians",
            MapType(StringType(), DoubleType()),
            "median of each profile feature, original units",
            False,
        ),
        column(
            "centre",
            MapType(StringType(), DoubleType()),
            "model centre mapped back to original feature units",
            False,
        ),
        column("actions", ArrayType(StringType()), "recommended actions for the name"),
        column(
            "match_distance",
            DoubleType(),
            "distance to the matched centre of the previous run (this run's standardised units); null if none",
        ),
        column(
            "model_cluster",
            IntegerType(),
            "index the saved MLlib model predicts for this cluster (model-internal; use cluster_id)",
            False,
        ),
        column(
            "feature_z_scores",
            MapType(StringType(), DoubleType()),
            "cluster mean of log1p(feature) minus the population mean, in population standard deviations; the naming rules read recency_days, frequency, monetary",
            False,
        ),
        column(
            "is_primary",
            BooleanType(),
            "true for the clusters of the run's recommended model (one model per as_of); null for runs before custseg flagged one",
        ),
    ),
    partition_by=("as_of",),
)

SEGMENT_CLUSTER_CROSSTAB = TableSpec(
    "segment_cluster_crosstab",
    "RFM segment x cluster customer counts for each chosen model.",
    (
        column("as_of", DateType(), "RFM reference date", False),
        column("algorithm", StringType(), "kmeans or bisecting_kmeans", False),
        column("k", IntegerType(), "number of clusters", False),
        column("segment", StringType(), "RFM segment", False),
        column("cluster_id", IntegerType(), "cluster id", False),
        column("cluster_name", StringType(), "cluster name", False),
        column("customers", LongType(), "customers in both", False),
    ),
    partition_by=("as_of",),
)
