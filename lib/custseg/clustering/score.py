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

from custseg import delta_io
from custseg.clustering import features as cluster_features
from custseg.clustering import models as cluster_models
from custseg.clustering import profiles as cluster_profiles
from custseg.clustering.assignments import IS_PRIMARY, ClusterLabels
from custseg.clustering.models import ModelKey
from custseg.clustering.stage import customers_at
from custseg.config import Settings
from custseg.run_context import RunContext
from custseg.tables import CLUSTER_PROFILES, CUSTOMER_CLUSTERS, CUSTOMER_PROFILES


class NoSavedModelError(FileNotFoundError):
    """No model was fitted at or before the as_of: the cluster stage has to run first."""


def run(spark: SparkSession, settings: Settings, context: RunContext) -> dict:
    started = time.perf_counter()
    as_of, root = context.as_of, settings.warehouse_root
    saved = delta_io.read_table(spark, root, CLUSTER_PROFILES.name).filter(
        F.col("as_of") <= F.lit(as_of)
    )
    model_as_of = saved.agg(F.max("as_of")).first()[0]
    if model_as_of is None:
        raise NoSavedModelError(
            f"no saved clustering model at or before {as_of}: run the cluster stage first"
        )
    clusters = (  # k rows per saved model
        saved.filter(F.col("as_of") == F.lit(model_as_of))
        .select(
            "algorithm", "k", "model_cluster", "cluster_id", "cluster_name", _primary_flag(saved)
        )
        .orderBy("algorithm", "k", "model_cluster")
        .collect()
    )
    rfm_df = customers_at(spark, root, as_of)
    profiles = delta_io.maybe_read_table(spark, root, CUSTOMER_PROFILES.name)
    models_root = settings.table_path("_models")
    scored, models_used = [], []
    for key, rows in groupby(clusters, key=lambda r: ModelKey(r["algorithm"], int(r["k"]))):
        rows = list(rows)
        saved_model = PipelineModel.load(
            cluster_models.model_path(models_root, model_as_of.isoformat(), key)
        )
        customers = _with_model_features(rfm_df, profiles, saved_model, as_of)
        scored.append(
            assign_to_saved_model(
                customers,
                saved_model,
                key,
                ClusterLabels.from_rows(rows),
                is_primary=rows[0][IS_PRIMARY],
            )
        )
        models_used.append(key.name)
    customer_clusters = (
        reduce(DataFrame.unionByName, scored)
        .withColumn("as_of", F.lit(as_of))
        .withColumn("model_as_of", F.lit(model_as_of))
    )
    where = f"as_of = {delta_io.sql_string(as_of.isoformat())}"
    delta_io.write_table(spark, root, CUSTOMER_CLUSTERS, customer_clusters, replace_where=where)
    return {
        "as_of": as_of.isoformat(),
        "model_as_of": model_as_of.isoformat(),
        "models": models_used,
        "customers": rfm_df.count(),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _primary_flag(profiles: DataFrame) -> Column:
    """``is_primary`` of saved profiles; null for models saved before custseg flagged one."""
    if IS_PRIMARY in profiles.columns:
        return F.col(IS_PRIMARY)
    return F.lit(None).cast("boolean").alias(IS_PRIMARY)


def _with_model_features(
    rfm_df: DataFrame, profiles: DataFrame | None, saved_model: PipelineModel, as_of: dt.date
) -> DataFrame:
    """The customers with the profile columns the saved model's features need, if any."""
    feature_list = cluster_features.features_from_frame_columns(
        cluster_models.model_input_columns(saved_model)
    )
    return cluster_features.with_profile_columns(rfm_df, profiles, feature_list, as_of)


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
