"""Every Delta table the project writes: name, schema, comments, partitioning, constraints.

Column names live here and nowhere else; stages import the ``C`` constants or the specs.
Tables are path-based under ``<warehouse>/<name>`` (the BI contract) and are also
registered in the catalog database ``custseg`` so SQL users can query them by name.
"""
from __future__ import annotations

import dataclasses
from typing import Iterable, Optional

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (ArrayType, BooleanType, DataType, DateType, DecimalType,
                               DoubleType, IntegerType, LongType, MapType, StringType,
                               StructField, StructType, TimestampType)

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
        _c("quantity", LongType(), "units on the line; negative for returns (cleaning.returns=net)"),
        _c("unit_price", MONEY, "price per unit in the source currency"),
        _c("amount", MONEY, "line total in the source currency (quantity x unit_price when not given)", False),
        _c("is_return", BooleanType(), "true for cancellations and negative-quantity lines", False),
        _c("purchase_time", TimestampType(), "time of purchase (UTC as written in the source)", False),
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
        _c("raw_record", StringType(), "the source row as JSON (valid customer id replaced by its key)", False),
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
        _c("fingerprint", StringType(), "size and modification time (files) or version (Delta)", False),
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
        _c("files_read", ArrayType(StringType(), False), "files read in this run (new or changed)", False),
        _c("files_skipped", LongType(), "files unchanged since an earlier run, not read again", False),
        _c("rows_read", LongType(), "rows read from the files of this run", False),
        _c("rows_written", LongType(), "rows written to transactions", False),
        _c("rows_quarantined", LongType(), "rows written to quarantine", False),
        _c("quarantined_by_reason", MapType(StringType(), LongType(), False),
           "quarantined rows per reason (a row may have several reasons)", False),
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
        _c("frequency", LongType(), "distinct orders (order ids, or purchase times when no order id)", False),
        _c("monetary", DoubleType(), "spend in the window, source currency", False),
        _c("r_score", IntegerType(), "recency score 1..bins, high = recent", False),
        _c("f_score", IntegerType(), "frequency score 1..bins on the rank, ties by customer_key", False),
        _c("m_score", IntegerType(), "monetary score 1..bins", False),
        _c("segment", StringType(), "named segment from the R x F map", False),
        _c("previous_segment", StringType(), "segment at the previous as_of, null if new"),
        _c("first_purchase_time", TimestampType(), "first purchase in the window"),
        _c("last_purchase_time", TimestampType(), "last purchase in the window"),
        _c("tenure_days", IntegerType(), "whole days from the first purchase to as_of"),
        _c("mean_days_between_orders", DoubleType(), "mean gap between consecutive orders, days; null for one order"),
        _c("average_order_value", DoubleType(), "monetary / frequency"),
        _c("spend_30d", DoubleType(), "spend in the 30 days before as_of"),
        _c("spend_90d", DoubleType(), "spend in the 90 days before as_of"),
        _c("spend_365d", DoubleType(), "spend in the 365 days before as_of"),
        _c("orders_30d", LongType(), "orders in the 30 days before as_of"),
        _c("orders_90d", LongType(), "orders in the 90 days before as_of"),
        _c("orders_365d", LongType(), "orders in the 365 days before as_of"),
        _c("returned_value_share", DoubleType(), "returned value / purchased value (0 when returns dropped)"),
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
        _c("distance_to_centre", DoubleType(), "Euclidean distance to the centre in standardised feature space", False),
    ),
    partition_by=("as_of",),
)

ALL_TABLES: dict[str, TableSpec] = {}


def register_spec(spec: TableSpec) -> TableSpec:
    ALL_TABLES[spec.name] = spec
    return spec


for _spec in (TRANSACTIONS, QUARANTINE, INGEST_FILES, INGEST_RUNS, CUSTOMER_RFM, CUSTOMER_CLUSTERS):
    register_spec(_spec)


def conform(df: DataFrame, spec: TableSpec) -> DataFrame:
    """Selects the spec's columns in order, cast to the declared types; a missing column fails."""
    missing = [c for c in spec.column_names if c not in df.columns]
    if missing:
        raise ValueError(f"table {spec.name}: DataFrame lacks column(s) {', '.join(missing)}")
    return df.select([F.col(c.name).cast(c.type).alias(c.name) for c in spec.columns])


def table_exists(spark: SparkSession, path: str) -> bool:
    return DeltaTable.isDeltaTable(spark, path)


def ensure_table(spark: SparkSession, spec: TableSpec, path: str) -> None:
    """Creates the table with its declared schema, comments and constraints if absent."""
    if table_exists(spark, path):
        return
    builder = DeltaTable.createIfNotExists(spark).location(path).comment(spec.comment)
    for col in spec.columns:
        builder = builder.addColumn(col.name, col.type, nullable=col.nullable, comment=col.comment)
    if spec.partition_by:
        builder = builder.partitionedBy(*spec.partition_by)
    builder.execute()
    for name, expression in spec.constraints:
        spark.sql(f"ALTER TABLE delta.`{path}` ADD CONSTRAINT {name} CHECK ({expression})")


def write_table(spark: SparkSession, settings: Settings, spec: TableSpec, df: DataFrame,
                mode: str = "overwrite", replace_where: Optional[str] = None) -> None:
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
            f"table '{name}' not found at {path}: run the stage that writes it first")
    return spark.read.format("delta").load(path)


def maybe_read_table(spark: SparkSession, settings: Settings, name: str) -> Optional[DataFrame]:
    path = settings.table_path(name)
    return spark.read.format("delta").load(path) if table_exists(spark, path) else None


def register_in_catalog(spark: SparkSession, settings: Settings,
                        names: Iterable[str] | None = None) -> list[str]:
    """Registers existing tables as ``custseg.<name>`` pointing at their paths."""
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
    registered = []
    for name in names or ALL_TABLES:
        path = settings.table_path(name)
        if table_exists(spark, path):
            spark.sql(f"CREATE TABLE IF NOT EXISTS {DATABASE}.{name} USING DELTA LOCATION '{path}'")
            registered.append(name)
    return registered


def sql_string(value: str) -> str:
    """A SQL string literal (for replaceWhere predicates on file names and dates)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
