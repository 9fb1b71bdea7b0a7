"""Spark reductions that turn customer-level tables into what the report can plot.

Every function takes DataFrames and returns a DataFrame whose size does not grow with the
number of customers (a few hundred rows), except ``projection_sample``, which is bounded
by the ``sample_size`` it is given. Only these results are ever brought to the driver.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pyspark.ml import Pipeline
from pyspark.ml.feature import PCA, StandardScaler, VectorAssembler
from pyspark.ml.functions import vector_to_array
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.layer1_core.config.feature_names import parse_features
from custseg.layer1_core.tables import AS_OF, CUSTOMER_KEY
from custseg.layer2_io import delta_io
from custseg.layer2_io.table_views import feature_expression
from custseg.layer3_stages.report.errors import ReportError

# Metric -> whether its histogram uses log(1 + x) bins. Orders and spend are heavy-tailed:
# on equal-width bins nearly every customer would fall into the first bar.
HISTOGRAM_METRICS = (("recency_days", False), ("frequency", True), ("monetary", True))


def at_as_of(df: DataFrame, as_of: dt.date) -> DataFrame:
    return df.where(delta_io.AsOfSlice(as_of).filter)


def rf_grid_counts(rfm: DataFrame) -> DataFrame:
    """Customers per (r_score, f_score) cell with the cell's segment.

    The segment map assigns segments from R and F, so a cell has one segment; the
    deterministic mode still gives a stable answer should a map ever split a cell.
    """
    return (
        rfm.groupBy("r_score", "f_score")
        .agg(
            F.count(F.lit(1)).alias("customers"),
            F.mode("segment", deterministic=True).alias("segment"),
        )
        .orderBy("r_score", "f_score")
    )


def _stacked_metrics(rfm: DataFrame) -> DataFrame:
    """One row per customer and metric, so a single aggregation bins all three at once.

    ``scaled`` is the value on the axis the bins are equal on: log(1 + x) for the
    heavy-tailed metrics, the value itself otherwise.
    """
    log_metrics = [name for name, log_scale in HISTOGRAM_METRICS if log_scale]
    return (
        rfm.select(
            F.explode(
                F.array(
                    *[
                        F.struct(
                            F.lit(name).alias("metric"), F.col(name).cast("double").alias("value")
                        )
                        for name, _ in HISTOGRAM_METRICS
                    ]
                )
            ).alias("point")
        )
        .select("point.*")
        .withColumn("log_scale", F.col("metric").isin(log_metrics))
        .withColumn(
            "scaled",
            F.when(F.col("log_scale"), F.log1p(F.greatest(F.col("value"), F.lit(0.0)))).otherwise(
                F.col("value")
            ),
        )
    )


def _bin_width(bins: int) -> Column:
    return (F.col("high") - F.col("low")) / F.lit(bins)


def _bin_counts(stacked: DataFrame, bins: int) -> DataFrame:
    """Customers per metric and bin, with low, high and median carried along.

    Carrying the bounds lets the caller turn bin numbers back into edges without a second
    join; they are three rows, so they are broadcast rather than shuffled.
    """
    bounds = stacked.groupBy("metric").agg(
        F.min("scaled").alias("low"),
        F.max("scaled").alias("high"),
        F.percentile_approx("value", 0.5).alias("median"),
    )
    bucket = (
        F.when(
            F.col("high") > F.col("low"),
            F.least(F.floor((F.col("scaled") - F.col("low")) / _bin_width(bins)), F.lit(bins - 1)),
        )
        .otherwise(F.lit(0))
        .cast("int")
    )
    return (
        stacked.join(F.broadcast(bounds), "metric", how="inner")
        .groupBy("metric", "log_scale", "low", "high", "median", bucket.alias("bin"))
        .agg(F.count(F.lit(1)).alias("customers"))
    )


def _original_units(scaled: Column) -> Column:
    return F.when(F.col("log_scale"), F.expm1(scaled)).otherwise(scaled)


def metric_histograms(rfm: DataFrame, bins: int) -> DataFrame:
    """Equal-width histograms of recency, frequency and monetary, plus each metric's median.

    Columns: metric, bin, lower, upper (original units), customers, median, log_scale.
    Two passes over the customers (bounds, then counts); empty bins are left out.
    """
    counts = _bin_counts(_stacked_metrics(rfm), bins)
    safe_width = F.when(F.col("high") > F.col("low"), _bin_width(bins)).otherwise(F.lit(1.0))
    return counts.select(
        "metric",
        "bin",
        _original_units(F.col("low") + F.col("bin") * safe_width).alias("lower"),
        _original_units(F.col("low") + (F.col("bin") + 1) * safe_width).alias("upper"),
        "customers",
        "median",
        "log_scale",
    ).orderBy("metric", "bin")


def projection_sample(
    rfm: DataFrame, clusters: DataFrame, features: Sequence[str], sample_size: int
) -> tuple[DataFrame, list[float]]:
    """First two principal components of the standardised features, for a bounded sample.

    The scaler and PCA are fitted in Spark on every customer of ``rfm``; only the
    ``sample_size`` customers with the smallest xxhash64 of their key (a deterministic,
    uniform-looking choice) are returned, once per model in ``clusters``. The sample is
    chosen before the projection, so only it is transformed (the transform is row by row,
    so the figures are the same as projecting everyone). Also returns the share of variance
    each component explains. Needs at least two features.
    """
    if len(features) < 2:
        raise ReportError("a 2-D projection needs at least two clustering features")
    parsed = parse_features(features)  # the models' own definitions: same transforms, aliases
    featured = rfm.select(CUSTOMER_KEY, *[feature_expression(f) for f in parsed])
    model = Pipeline(
        stages=[
            VectorAssembler(inputCols=[f.frame_column for f in parsed], outputCol="raw_features"),
            StandardScaler(
                inputCol="raw_features", outputCol="scaled_features", withMean=True, withStd=True
            ),
            PCA(k=2, inputCol="scaled_features", outputCol="components"),
        ]
    ).fit(featured)
    explained = [float(v) for v in model.stages[-1].explainedVariance.toArray()]
    components = vector_to_array(F.col("components"))
    chosen = featured.orderBy(F.xxhash64(CUSTOMER_KEY), CUSTOMER_KEY).limit(sample_size)
    sample = model.transform(chosen).select(
        CUSTOMER_KEY, components[0].alias("pc1"), components[1].alias("pc2")
    )
    labelled = (  # the sample is small: broadcast it rather than shuffle every assignment
        F.broadcast(sample)
        .join(
            clusters.select(CUSTOMER_KEY, "algorithm", "k", "cluster_id", "cluster_name"),
            CUSTOMER_KEY,
            how="inner",
        )
        .select("algorithm", "k", "cluster_id", "cluster_name", "pc1", "pc2")
        .orderBy("algorithm", "k", "cluster_id", "pc1", "pc2")
    )
    return labelled, explained


def segment_history(summary: DataFrame) -> DataFrame:
    """Customers per segment at every as_of (one row per run and segment)."""
    return summary.select(AS_OF, "segment", "customers").orderBy(AS_OF, "segment")


def cluster_split(clusters: DataFrame, algorithm: str, fewer: int, more: int) -> DataFrame:
    """Customers per (cluster of the ``fewer``-cluster model, cluster of the ``more`` one)
    of one algorithm: at most fewer x more rows, empty when either model was not kept."""

    def side(k: int, prefix: str) -> DataFrame:
        return clusters.where((F.col("algorithm") == algorithm) & (F.col("k") == k)).select(
            CUSTOMER_KEY,
            F.col("cluster_id").alias(f"{prefix}_cluster_id"),
            F.col("cluster_name").alias(f"{prefix}_cluster_name"),
        )

    return (
        side(fewer, "from")
        .join(side(more, "to"), on=CUSTOMER_KEY)
        .groupBy("from_cluster_id", "from_cluster_name", "to_cluster_id", "to_cluster_name")
        .agg(F.count(F.lit(1)).alias("customers"))
        .select(F.lit(algorithm).alias("algorithm"), "*")
    )
