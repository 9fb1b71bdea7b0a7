"""Every Delta table the project writes: name, schema, comments, partitioning, constraints.

Column names live here and nowhere else; stages import the ``C`` constants or the specs.
Tables are path-based under ``<warehouse>/<name>`` (the BI contract) and are also
registered in the catalog database ``custseg`` so SQL users can query them by name.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from custseg.config import Settings

DATABASE = "custseg"
MONEY = DecimalType(18, 4)


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    type: DataType
    comment: str
    nullable: bool = True


@dataclasses.dataclass(frozen=True)
class TableSpec:
    name: str
    comment: str
    columns: tuple[Column, ...]
    partition_by: tuple[str, ...] = ()
    constraints: tuple[tuple[str, str], ...] = ()

    @property
    def schema(self) -> StructType:
        return StructType([StructField(c.name, c.type, c.nullable) for c in self.columns])

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name, type_, comment, nullable=True):
    return Column(name, type_, comment, nullable)


TRANSACTIONS = TableSpec(
    "transactions",
    "Clean, typed purchase lines; customer ids replaced by a keyed hash (HMAC-SHA256).",
    (
        _c("customer_key", StringType(), "HMAC-SHA256 (hex) of the canonical customer id", False),
        _c("order_id", StringType(), "order / invoice id as in the source; null when not mapped"),
        _c("item_id", StringType(), "product id as in the source"),
        _c("item_name", StringType(), "product name as in the source"),
        _c(
            "quantity", LongType(), "units on the line; negative for returns (cleaning.returns=net)"
        ),
        _c("unit_price", MONEY, "price per unit in the source currency"),
        _c(
            "amount",
            MONEY,
            "line total in the source currency (quantity x unit_price when not given)",
            False,
        ),
        _c("is_return", BooleanType(), "true for cancellations and negative-quantity lines", False),
        _c(
            "purchase_time",
            TimestampType(),
            "time of purchase (UTC as written in the source)",
            False,
        ),
        _c("purchase_date", DateType(), "calendar date of purchase_time", False),
        _c("purchase_month", StringType(), "yyyy-MM of purchase_time; the partition column", False),
        _c("source_file", StringType(), "file (or table) the line came from", False),
        _c("ingest_run_id", StringType(), "ingest run that wrote the line", False),
    ),
    partition_by=("purchase_month",),
    constraints=(
        ("valid_customer_key", "length(customer_key) = 64"),
        ("amount_sign_matches_return", "is_return OR amount >= 0"),
    ),
)

QUARANTINE = TableSpec(
    "quarantine",
    "Input rows not written to transactions, with why. Raw customer ids are replaced by their key.",
    (
        _c(
            "raw_record",
            StringType(),
            "the source row as JSON (valid customer id replaced by its key)",
            False,
        ),
        _c("source_file", StringType(), "file (or table) the row came from", False),
        _c("reasons", ArrayType(StringType(), False), "every rule the row broke", False),
        _c("customer_key", StringType(), "key of the customer when the id was valid"),
        _c("ingest_run_id", StringType(), "ingest run that quarantined the row", False),
    ),
    partition_by=(),
)

INGEST_FILES = TableSpec(
    "ingest_files",
    "Which source files are in transactions, with the fingerprint they had when read.",
    (
        _c("source_file", StringType(), "file path or table path", False),
        _c(
            "fingerprint",
            StringType(),
            "size and modification time (files) or version (Delta)",
            False,
        ),
        _c("ingest_run_id", StringType(), "run that ingested this version of the file", False),
        _c("rows_read", LongType(), "rows read from the file in that run", False),
    ),
)

INGEST_RUNS = TableSpec(
    "ingest_runs",
    "One row per ingest run: reconciliation of rows read, written, quarantined and deduplicated.",
    (
        _c("ingest_run_id", StringType(), "run id", False),
        _c("started_at", TimestampType(), "run start (UTC)", False),
        _c("duration_seconds", DoubleType(), "wall-clock seconds", False),
        _c("input_path", StringType(), "input.path as configured", False),
        _c(
            "files_read",
            ArrayType(StringType(), False),
            "files read in this run (new or changed)",
            False,
        ),
        _c(
            "files_skipped",
            LongType(),
            "files unchanged since an earlier run, not read again",
            False,
        ),
        _c("rows_read", LongType(), "rows read from the files of this run", False),
        _c("rows_written", LongType(), "rows written to transactions", False),
        _c("rows_quarantined", LongType(), "rows written to quarantine", False),
        _c(
            "quarantined_by_reason",
            MapType(StringType(), LongType(), False),
            "quarantined rows per reason (a row may have several reasons)",
            False,
        ),
        _c("duplicates_removed", LongType(), "exact duplicate lines dropped", False),
        _c("distinct_customers", LongType(), "distinct customer keys written", False),
        _c("min_purchase_time", TimestampType(), "earliest purchase written"),
        _c("max_purchase_time", TimestampType(), "latest purchase written"),
    ),
)

CUSTOMER_RFM = TableSpec(
    "customer_rfm",
    "Recency, frequency, monetary, scores and segment per customer at each as_of date.",
    (
        _c("customer_key", StringType(), "pseudonymised customer", False),
        _c("as_of", DateType(), "reference date; only purchases before it count", False),
        _c("recency_days", IntegerType(), "whole days from the last purchase to as_of", False),
        _c(
            "frequency",
            LongType(),
            "distinct orders (order ids, or purchase times when no order id)",
            False,
        ),
        _c("monetary", DoubleType(), "spend in the window, source currency", False),
        _c("r_score", IntegerType(), "recency score 1..bins, high = recent", False),
        _c(
            "f_score",
            IntegerType(),
            "frequency score 1..bins on the rank, ties by customer_key",
            False,
        ),
        _c("m_score", IntegerType(), "monetary score 1..bins", False),
        _c(
            "frequency_rank",
            LongType(),
            "1..customers: rank of frequency, ties by customer_key; f_score cuts it",
            False,
        ),
        _c("segment", StringType(), "named segment from the R x F map", False),
        _c("previous_segment", StringType(), "segment at the previous as_of, null if new"),
        _c("first_purchase_time", TimestampType(), "first purchase in the window"),
        _c("last_purchase_time", TimestampType(), "last purchase in the window"),
        _c("tenure_days", IntegerType(), "whole days from the first purchase to as_of"),
        _c(
            "mean_days_between_orders",
            DoubleType(),
            "mean gap between consecutive orders, days; null for one order",
        ),
        _c("average_order_value", DoubleType(), "monetary / frequency"),
        _c("spend_30d", DoubleType(), "spend in the 30 days before as_of"),
        _c("spend_90d", DoubleType(), "spend in the 90 days before as_of"),
        _c("spend_365d", DoubleType(), "spend in the 365 days before as_of"),
        _c("orders_30d", LongType(), "orders in the 30 days before as_of"),
        _c("orders_90d", LongType(), "orders in the 90 days before as_of"),
        _c("orders_365d", LongType(), "orders in the 365 days before as_of"),
        _c(
            "returned_value_share",
            DoubleType(),
            "returned value / purchased value (0 when returns dropped)",
        ),
    ),
    partition_by=("as_of",),
)

CUSTOMER_CLUSTERS = TableSpec(
    "customer_clusters",
    "Cluster of every customer for each chosen model (algorithm, k) at each as_of.",
    (
        _c("customer_key", StringType(), "pseudonymised customer", False),
        _c("as_of", DateType(), "RFM reference date the features come from", False),
        _c("algorithm", StringType(), "kmeans or bisecting_kmeans", False),
        _c("k", IntegerType(), "number of clusters of the model", False),
        _c("cluster_id", IntegerType(), "stable cluster id (matched to the previous run)", False),
        _c("cluster_name", StringType(), "name derived from the cluster profile", False),
        _c(
            "distance_to_centre",
            DoubleType(),
            "Euclidean distance to the centre in standardised feature space",
            False,
        ),
        _c(
            "model_as_of",
            DateType(),
            "as_of of the saved model that assigned the cluster (as_of itself when fitted in the same run; earlier after custseg score)",
            False,
        ),
    ),
    partition_by=("as_of",),
)

SEGMENT_SUMMARY = TableSpec(
    "segment_summary",
    "Per as_of and RFM segment: size, revenue and the typical R, F, M.",
    (
        _c("as_of", DateType(), "RFM reference date", False),
        _c("segment", StringType(), "segment name", False),
        _c(
            "segment_order", IntegerType(), "position of the segment in the map (for display order)"
        ),
        _c("r_scores", StringType(), "recency scores of the segment, e.g. 4-5"),
        _c("f_scores", StringType(), "frequency scores of the segment, e.g. 4-5"),
        _c("customers", LongType(), "customers in the segment", False),
        _c("customer_share", DoubleType(), "customers / all scored customers", False),
        _c("revenue", DoubleType(), "sum of monetary", False),
        _c("revenue_share", DoubleType(), "revenue / all revenue; null when all revenue is 0"),
        _c("mean_recency_days", DoubleType(), "mean recency, days", False),
        _c("median_recency_days", DoubleType(), "median recency, days", False),
        _c("mean_frequency", DoubleType(), "mean orders", False),
        _c("median_frequency", DoubleType(), "median orders", False),
        _c("mean_monetary", DoubleType(), "mean spend", False),
        _c("median_monetary", DoubleType(), "median spend", False),
        _c("description", StringType(), "what the segment means (conf/segments.yaml)"),
        _c("actions", ArrayType(StringType()), "recommended actions (conf/segments.yaml)"),
    ),
    partition_by=("as_of",),
)

SCORE_EDGES = TableSpec(
    "score_edges",
    "Cut points used for the R, F and M scores (pandas qcut semantics, right-closed bins).",
    (
        _c("as_of", DateType(), "RFM reference date", False),
        _c("metric", StringType(), "recency_days, frequency_rank or monetary", False),
        _c("bins", IntegerType(), "requested number of bins", False),
        _c("edge_index", IntegerType(), "0..number of unique edges - 1", False),
        _c(
            "edge",
            DoubleType(),
            "cut point; a value v gets the bin whose (left, right] holds it",
            False,
        ),
    ),
    partition_by=("as_of",),
)

SEGMENT_TRANSITIONS = TableSpec(
    "segment_transitions",
    "Customers moving between segments from the previous as_of to this one.",
    (
        _c("as_of", DateType(), "RFM reference date", False),
        _c("previous_as_of", DateType(), "the earlier as_of compared with", False),
        _c("from_segment", StringType(), "segment at previous_as_of; null for new customers"),
        _c("to_segment", StringType(), "segment at as_of; null for customers gone from the window"),
        _c("customers", LongType(), "customers making this move", False),
    ),
    partition_by=("as_of",),
)

MODEL_SELECTION = TableSpec(
    "model_selection",
    "The k sweep: quality metrics for each algorithm and k.",
    (
        _c("as_of", DateType(), "RFM reference date of the features", False),
        _c("algorithm", StringType(), "kmeans or bisecting_kmeans", False),
        _c("k", IntegerType(), "number of clusters", False),
        _c(
            "inertia",
            DoubleType(),
            "within-cluster sum of squared distances (standardised units)",
            False,
        ),
        _c("silhouette", DoubleType(), "MLlib ClusteringEvaluator silhouette (squared Euclidean)"),
        _c("davies_bouldin", DoubleType(), "Davies-Bouldin index, lower is better"),
        _c("calinski_harabasz", DoubleType(), "Calinski-Harabasz index, higher is better"),
        _c(
            "smallest_cluster_share",
            DoubleType(),
            "share of customers in the smallest cluster",
            False,
        ),
        _c("seconds", DoubleType(), "fit and evaluation wall-clock seconds", False),
        _c("sample_size", LongType(), "customers the model was fitted on", False),
        _c("chosen", BooleanType(), "picked by the selection rule", False),
        _c(
            "saved",
            BooleanType(),
            "model saved and assigned to customers (picked by the rule or listed in clustering.k)",
            False,
        ),
    ),
    partition_by=("as_of",),
)

MODEL_COMPARISON = TableSpec(
    "model_comparison",
    "KMeans and BisectingKMeans side by side for each chosen k, with their agreement.",
    (
        _c("as_of", DateType(), "RFM reference date", False),
        _c("k", IntegerType(), "number of clusters", False),
        _c("kmeans_inertia", DoubleType(), "KMeans inertia"),
        _c("bisecting_inertia", DoubleType(), "BisectingKMeans inertia"),
        _c("kmeans_silhouette", DoubleType(), "KMeans silhouette"),
        _c("bisecting_silhouette", DoubleType(), "BisectingKMeans silhouette"),
        _c("kmeans_davies_bouldin", DoubleType(), "KMeans Davies-Bouldin"),
        _c("bisecting_davies_bouldin", DoubleType(), "BisectingKMeans Davies-Bouldin"),
        _c("kmeans_calinski_harabasz", DoubleType(), "KMeans Calinski-Harabasz"),
        _c("bisecting_calinski_harabasz", DoubleType(), "BisectingKMeans Calinski-Harabasz"),
        _c("adjusted_rand_index", DoubleType(), "agreement of the two assignments (1 = identical)"),
    ),
    partition_by=("as_of",),
)

CLUSTER_PROFILES = TableSpec(
    "cluster_profiles",
    "Per model and cluster: size, revenue share, feature means/medians, centre and a name.",
    (
        _c("as_of", DateType(), "RFM reference date", False),
        _c("algorithm", StringType(), "kmeans or bisecting_kmeans", False),
        _c("k", IntegerType(), "number of clusters", False),
        _c("cluster_id", IntegerType(), "stable cluster id", False),
        _c("cluster_name", StringType(), "name from the profile relative to the population", False),
        _c("customers", LongType(), "customers in the cluster", False),
        _c("customer_share", DoubleType(), "customers / all", False),
        _c("revenue_share", DoubleType(), "monetary / all monetary", False),
        _c(
            "feature_means",
            MapType(StringType(), DoubleType()),
            "mean of each profile feature, original units",
            False,
        ),
        _c(
            "feature_medians",
            MapType(StringType(), DoubleType()),
            "median of each profile feature, original units",
            False,
        ),
        _c(
            "centre",
            MapType(StringType(), DoubleType()),
            "model centre mapped back to original feature units",
            False,
        ),
        _c("actions", ArrayType(StringType()), "recommended actions for the name"),
        _c(
            "match_distance",
            DoubleType(),
            "distance to the matched centre of the previous run (this run's standardised units); null if none",
        ),
        _c(
            "model_cluster",
            IntegerType(),
            "index the saved MLlib model predicts for this cluster (model-internal; use cluster_id)",
            False,
        ),
        _c(
            "feature_z_scores",
            MapType(StringType(), DoubleType()),
            "cluster mean of log1p(feature) minus the population mean, in population standard deviations; the naming rules read recency_days, frequency, monetary",
            False,
        ),
    ),
    partition_by=("as_of",),
)

SEGMENT_CLUSTER_CROSSTAB = TableSpec(
    "segment_cluster_crosstab",
    "RFM segment x cluster customer counts for each chosen model.",
    (
        _c("as_of", DateType(), "RFM reference date", False),
        _c("algorithm", StringType(), "kmeans or bisecting_kmeans", False),
        _c("k", IntegerType(), "number of clusters", False),
        _c("segment", StringType(), "RFM segment", False),
        _c("cluster_id", IntegerType(), "cluster id", False),
        _c("cluster_name", StringType(), "cluster name", False),
        _c("customers", LongType(), "customers in both", False),
    ),
    partition_by=("as_of",),
)

SEGMENTS_CURRENT = TableSpec(
    "segments_current",
    "One row per customer: latest RFM segment, scores, cluster names per chosen model.",
    (
        _c("customer_key", StringType(), "pseudonymised customer", False),
        _c("as_of", DateType(), "latest RFM reference date", False),
        _c("segment", StringType(), "RFM segment", False),
        _c("previous_segment", StringType(), "segment at the previous as_of"),
        _c("r_score", IntegerType(), "recency score", False),
        _c("f_score", IntegerType(), "frequency score", False),
        _c("m_score", IntegerType(), "monetary score", False),
        _c("recency_days", IntegerType(), "days since last purchase", False),
        _c("frequency", LongType(), "orders", False),
        _c("monetary", DoubleType(), "spend", False),
        _c("clusters", MapType(StringType(), StringType()), "model ('kmeans_k5') -> cluster name"),
    ),
)

ALL_TABLES: dict[str, TableSpec] = {}


def register_spec(spec: TableSpec) -> TableSpec:
    ALL_TABLES[spec.name] = spec
    return spec


for _spec in (
    TRANSACTIONS,
    QUARANTINE,
    INGEST_FILES,
    INGEST_RUNS,
    CUSTOMER_RFM,
    SEGMENT_SUMMARY,
    SCORE_EDGES,
    SEGMENT_TRANSITIONS,
    CUSTOMER_CLUSTERS,
    MODEL_SELECTION,
    MODEL_COMPARISON,
    CLUSTER_PROFILES,
    SEGMENT_CLUSTER_CROSSTAB,
    SEGMENTS_CURRENT,
):
    register_spec(_spec)


def conform(df: DataFrame, spec: TableSpec) -> DataFrame:
    """Selects the spec's columns in order, cast to the declared types; a missing column fails."""
    missing = [c for c in spec.column_names if c not in df.columns]
    if missing:
        raise ValueError(f"table {spec.name}: DataFrame lacks column(s) {', '.join(missing)}")
    current = dict((field.name, field.dataType) for field in df.schema.fields)
    return df.select(
        [
            F.col(c.name)
            if current[c.name].simpleString() == c.type.simpleString()
            else F.col(c.name).cast(c.type).alias(c.name)
            for c in spec.columns
        ]
    )


def table_exists(spark: SparkSession, path: str) -> bool:
    return DeltaTable.isDeltaTable(spark, path)


def _remove_uncommitted_log(spark: SparkSession, path: str) -> None:
    """Deletes a ``_delta_log`` folder that holds no commit.

    A run killed while creating a table leaves such a folder, and Delta then refuses to
    create the table there. Without a commit file nothing was ever committed, so removing
    it loses nothing.
    """
    jvm = spark.sparkContext._jvm
    log_dir = jvm.org.apache.hadoop.fs.Path(f"{path.rstrip('/')}/_delta_log")
    fs = log_dir.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(log_dir):
        return
    names = [status.getPath().getName() for status in fs.listStatus(log_dir)]
    if not any(re.fullmatch(r"\d{20}\.(json|checkpoint.*parquet)", name) for name in names):
        fs.delete(log_dir, True)


def ensure_table(spark: SparkSession, spec: TableSpec, path: str) -> None:
    """Creates the table with its declared schema, comments and constraints if absent.

    Idempotent and safe to re-run after a crash at any point: an uncommitted log is
    cleared, and constraints missing from an existing table are added.
    """
    if not table_exists(spark, path):
        _remove_uncommitted_log(spark, path)
        builder = DeltaTable.createIfNotExists(spark).location(path).comment(spec.comment)
        for col in spec.columns:
            builder = builder.addColumn(
                col.name, col.type, nullable=col.nullable, comment=col.comment
            )
        if spec.partition_by:
            builder = builder.partitionedBy(*spec.partition_by)
        builder.execute()
    if spec.constraints:
        properties = DeltaTable.forPath(spark, path).detail().first()["properties"] or {}
        for name, expression in spec.constraints:
            if f"delta.constraints.{name.lower()}" not in properties:
                spark.sql(f"ALTER TABLE delta.`{path}` ADD CONSTRAINT {name} CHECK ({expression})")


def write_table(
    spark: SparkSession,
    settings: Settings,
    spec: TableSpec,
    df: DataFrame,
    mode: str = "overwrite",
    replace_where: str | None = None,
) -> None:
    """The one way stages write: declared schema, then append, overwrite or replaceWhere.

    ``replace_where`` overwrites exactly the rows matching the predicate in one atomic
    commit, so re-running a slice (an as_of, a set of source files) is idempotent and a
    killed run leaves the previous version in place.
    """
    path = settings.table_path(spec.name)
    ensure_table(spark, spec, path)
    writer = conform(df, spec).write.format("delta").mode(mode)
    if replace_where is not None:
        writer = writer.option("replaceWhere", replace_where)
    writer.save(path)


def read_table(spark: SparkSession, settings: Settings, name: str) -> DataFrame:
    path = settings.table_path(name)
    if not table_exists(spark, path):
        raise FileNotFoundError(
            f"table '{name}' not found at {path}: run the stage that writes it first"
        )
    return spark.read.format("delta").load(path)


def maybe_read_table(spark: SparkSession, settings: Settings, name: str) -> DataFrame | None:
    path = settings.table_path(name)
    return spark.read.format("delta").load(path) if table_exists(spark, path) else None


def register_in_catalog(
    spark: SparkSession, settings: Settings, names: Iterable[str] | None = None
) -> list[str]:
    """Registers existing tables as ``custseg.<name>`` pointing at their paths.

    A name registered earlier (possibly for another warehouse) is dropped first: for an
    external table that removes only the catalog entry, never the data.
    """
    spark.sql(
        f"CREATE DATABASE IF NOT EXISTS {DATABASE} "
        f"LOCATION {sql_string(settings.table_path('_catalog') + '/' + DATABASE + '.db')}"
    )
    registered = []
    for name in names or ALL_TABLES:
        path = settings.table_path(name)
        if table_exists(spark, path):
            spark.sql(f"DROP TABLE IF EXISTS {DATABASE}.{name}")
            spark.sql(f"CREATE TABLE {DATABASE}.{name} USING DELTA LOCATION {sql_string(path)}")
            registered.append(name)
    return registered


def sql_string(value: str) -> str:
    """A SQL string literal (for replaceWhere predicates on file names and dates)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --- Retention and file layout (maintenance run by the report stage) -------------------------
#
# Delta's own defaults, spelled out so they can be set on every table at creation
# (``DeltaTable.createIfNotExists(...).property(key, value)``) and then show in
# ``SHOW TBLPROPERTIES`` where BI users look: the transaction log keeps 30 days of history
# (time travel reaches that far back while the data files still exist), and VACUUM deletes
# data files only once they have been unreferenced for 7 days, so running readers and time
# travel within a week are never broken. Deletion vectors and column mapping stay off so
# non-Spark readers (delta-rs) read every table.
TABLE_PROPERTIES = {
    "delta.logRetentionDuration": "interval 30 days",
    "delta.deletedFileRetentionDuration": "interval 7 days",
    "delta.enableDeletionVectors": "false",
}

# Tables read by customer_key lookups (CRM exports, joins): Z-ordered so a key touches few files.
ZORDER_BY_CUSTOMER = ("customer_rfm", "customer_clusters", "segments_current")
# Tables only compacted: appended in many small per-file batches, scanned by month.
COMPACT_ONLY = ("transactions",)


def table_file_count(spark: SparkSession, path: str) -> int:
    """Data files in the table's current version (from the Delta log, no listing)."""
    return int(DeltaTable.forPath(spark, path).detail().first()["numFiles"])


def optimize_table(
    spark: SparkSession, path: str, zorder_by: tuple[str, ...] = (), where: str | None = None
) -> dict[str, int]:
    """Compacts small files (and Z-orders by ``zorder_by`` when given).

    ``where`` limits the rewrite to some partitions (a Z-order rewrites every file it covers,
    so only the partition a run wrote should be given). The replaced files stay on disk for
    time travel until a VACUUM (an operator's schedule, not a job step) removes them once
    older than ``delta.deletedFileRetentionDuration``. Returns file counts before/after.
    """
    before = table_file_count(spark, path)
    builder = DeltaTable.forPath(spark, path).optimize()
    if where is not None:
        builder = builder.where(where)
    if zorder_by:
        builder.executeZOrderBy(*zorder_by)
    else:
        builder.executeCompaction()
    return {"files_before": before, "files_after": table_file_count(spark, path)}
