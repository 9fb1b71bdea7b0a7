"""The score stage: assigns the customers of the run's as_of to the newest saved models
(fitted at or before it) without refitting; ids and names come from those models'
cluster_profiles rows. Writes customer_clusters for that as_of, with model_as_of saying
which models were used and ``is_primary`` the primary model of the run that fitted them. Not
part of ``run``: it is for months between refits.
"""

from __future__ import annotations

import datetime as dt
import time
from functools import reduce
from itertools import groupby

from pyspark.ml import PipelineModel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.layer1_core.config import Settings
from custseg.layer1_core.tables import AS_OF, CLUSTER_PROFILES, CUSTOMER_CLUSTERS
from custseg.layer1_core.tables.cluster_tables import IS_PRIMARY
from custseg.layer2_io import delta_io
from custseg.layer2_io.run_context import RunContext
from custseg.layer2_io.spark import ROW_CACHE, cached
from custseg.layer3_stages.clustering import features as cluster_features
from custseg.layer3_stages.clustering import models as cluster_models
from custseg.layer3_stages.clustering import profiles as cluster_profiles
from custseg.layer3_stages.clustering.assignments import ClusterLabels
from custseg.layer3_stages.clustering.models import ModelKey
from custseg.layer3_stages.clustering.stage import count_customers, customers_with_features
from custseg.layer3_stages.clustering.summary import ScoreSummary


class NoSavedModelError(FileNotFoundError):
    """No model was fitted at or before the as_of: the cluster stage has to run first."""


def run(spark: SparkSession, settings: Settings, context: RunContext) -> ScoreSummary:
    started = time.perf_counter()
    as_of, root = context.as_of, settings.warehouse_root
    saved = delta_io.read_table(spark, root, CLUSTER_PROFILES.name).filter(
        F.col(AS_OF) <= F.lit(as_of)
    )
    model_as_of = saved.agg(F.max(AS_OF)).first()[0]
    if model_as_of is None:
        raise NoSavedModelError(
            f"no saved clustering model at or before {as_of}: run the cluster stage first"
        )
    clusters = (  # k rows per saved model
        saved.filter(delta_io.AsOfSlice(model_as_of).filter)
        .select(
            "algorithm", "k", "model_cluster", "cluster_id", "cluster_name", _primary_flag(saved)
        )
        .orderBy("algorithm", "k", "model_cluster")
        .collect()
    )
    saved_models = _load_saved_models(settings, model_as_of, clusters)
    feature_list = _features_of(model for model, _ in saved_models.values())
    customers_df = customers_with_features(spark, root, as_of, feature_list)
    customers, without_profile = count_customers(customers_df, feature_list)
    scored = [
        assign_to_saved_model(
            customers_df,
            saved_model,
            key,
            ClusterLabels.from_rows(rows),
            is_primary=rows[0][IS_PRIMARY],
        )
        for key, (saved_model, rows) in saved_models.items()
    ]
    customer_clusters = (
        reduce(DataFrame.unionByName, scored)
        .withColumn(AS_OF, F.lit(as_of))
        .withColumn("model_as_of", F.lit(model_as_of))
    )
    _write_assignments(spark, root, customer_clusters, as_of)
    return ScoreSummary(
        as_of=as_of.isoformat(),
        model_as_of=model_as_of.isoformat(),
        models=[key.name for key in saved_models],
        customers=customers,
        seconds=round(time.perf_counter() - started, 1),
        customers_without_profile=without_profile,
    )


def _write_assignments(
    spark: SparkSession, root: str, customer_clusters: DataFrame, as_of: dt.date
) -> None:
    """Cached on disk for the write: customer_clusters is written in key order, and the range
    partitioning samples its whole input in a job of its own, which would otherwise run
    every saved model over every customer a second time."""
    with cached(customer_clusters, ROW_CACHE) as assignments:
        where = delta_io.AsOfSlice(as_of).predicate
        delta_io.write_table(spark, root, CUSTOMER_CLUSTERS, assignments, replace_where=where)


def _load_saved_models(settings: Settings, model_as_of: dt.date, clusters: list) -> dict:
    """Each saved model of ``model_as_of`` with its cluster_profiles rows, by model key."""
    models_root = settings.table_path("_models")
    return {
        key: (
            PipelineModel.load(
                cluster_models.model_path(models_root, model_as_of.isoformat(), key)
            ),
            list(rows),
        )
        for key, rows in groupby(clusters, key=lambda r: ModelKey(r["algorithm"], int(r["k"])))
    }


def _primary_flag(profiles: DataFrame) -> Column:
    """``is_primary`` of saved profiles; null for models saved before custseg flagged one."""
    if IS_PRIMARY in profiles.columns:
        return F.col(IS_PRIMARY)
    return F.lit(None).cast("boolean").alias(IS_PRIMARY)


def _features_of(saved_models) -> list:
    """Every feature any of the saved models reads, so customer_profiles is joined once."""
    columns = [
        column
        for saved_model in saved_models
        for column in cluster_models.model_input_columns(saved_model)
    ]
    return cluster_features.features_from_frame_columns(dict.fromkeys(columns))


def assign_to_saved_model(
    rfm_df: DataFrame,
    saved_model: PipelineModel,
    key: ModelKey,
    labels: ClusterLabels,
    *,
    is_primary: bool | None,
) -> DataFrame:
    """Customers labelled by a saved model: its own feature list, centres and labels."""
    feature_list = cluster_features.features_from_frame_columns(
        cluster_models.model_input_columns(saved_model)
    )
    assigned = saved_model.transform(cluster_features.feature_frame(rfm_df, feature_list))
    return cluster_profiles.label_assignments(
        assigned,
        key=key,
        centres=cluster_models.centres(cluster_models.cluster_stage(saved_model)),
        labels=labels,
        is_primary=is_primary,
    )
