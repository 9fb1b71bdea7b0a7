"""The cluster stage: customer_rfm -> customer_clusters, model_selection, model_comparison,
cluster_features, cluster_profiles, segment_cluster_crosstab and saved models under
``<warehouse>/_models/<as_of>/``.

Sweeps k for each algorithm on the training rows (a stable hash sample when
clustering.sample_size is set), keeps each algorithm's chosen k, the fixed ks and the primary
model (flagged ``is_primary`` in model_selection, cluster_profiles and customer_clusters),
carries cluster ids and names over from the previous as_of, and replaces this as_of's rows
only. The driver holds k-sized summaries; customers stay in Spark (cached once).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from functools import reduce

from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DecimalType, DoubleType, StructField, StructType

from custseg.layer1_core.config import ClusteringSettings, Settings
from custseg.layer1_core.tables import (
    AS_OF,
    CLUSTER_FEATURES,
    CLUSTER_PROFILES,
    CUSTOMER_CLUSTERS,
    CUSTOMER_PROFILES,
    CUSTOMER_RFM,
    MODEL_COMPARISON,
    MODEL_SELECTION,
    SEGMENT_CLUSTER_CROSSTAB,
    TableSpec,
)
from custseg.layer2_io import delta_io
from custseg.layer2_io.run_context import RunContext
from custseg.layer2_io.schemas import table_schema
from custseg.layer2_io.spark import ROW_CACHE, cached
from custseg.layer2_io.table_views import with_feature_maps, with_profile_columns
from custseg.layer3_stages.clustering import features as cluster_features
from custseg.layer3_stages.clustering import metrics as cluster_metrics
from custseg.layer3_stages.clustering import models as cluster_models
from custseg.layer3_stages.clustering import profiles as cluster_profiles
from custseg.layer3_stages.clustering import selection as cluster_selection
from custseg.layer3_stages.clustering import stability as cluster_stability
from custseg.layer3_stages.clustering.models import ModelKey
from custseg.layer3_stages.clustering.summary import ClusterSummary


class NoCustomersError(ValueError):
    """customer_rfm has no customers at the run's as_of: the rfm stage has not run for it."""


@dataclasses.dataclass(frozen=True)
class _Fitted:
    """The outcome of the sweep: every fitted model, the k each algorithm chose, the kept,
    and the primary model among them (None only when nothing was kept)."""

    scaler: PipelineModel
    models: dict
    chosen: dict
    kept: list
    primary: ModelKey | None


def run(spark: SparkSession, settings: Settings, context: RunContext) -> ClusterSummary:
    started = time.perf_counter()
    config, as_of = settings.clustering, context.as_of
    feature_list = cluster_features.parse_features(config.features)
    cluster_features.check_profile_features(feature_list, settings.input.profiles)
    rfm_df = customers_with_features(spark, settings.warehouse_root, as_of, feature_list)
    customers, without_profile = count_customers(rfm_df, feature_list)
    if customers == 0:
        raise NoCustomersError(
            f"customer_rfm has no customers at as_of {as_of}: run the rfm stage first"
        )
    frame = cluster_models.fixed_partitioning(
        cluster_features.feature_frame(rfm_df, feature_list), config.partitions
    )
    fraction = cluster_models.sample_fraction(config.sample_size, customers)
    scaler = cluster_models.scaler_pipeline(feature_list).fit(
        cluster_models.hash_sample(frame, fraction, config.seed)
    )
    with cached(cluster_models.scaled_frame(scaler, frame), ROW_CACHE) as scaled:
        train = cluster_models.training_frame(scaled, fraction, config.seed)
        training_customers = train.count()
        fitted = _fit(train, scaled, scaler, config, training_customers=training_customers)
        _write_outputs(spark, settings, as_of, scaled, feature_list=feature_list, fitted=fitted)
    return ClusterSummary(
        as_of=as_of.isoformat(),
        customers=customers,
        training_customers=training_customers,
        chosen_k=fitted.chosen,
        primary=fitted.primary.name if fitted.primary else None,
        models=[key.name for key in fitted.kept],
        seconds=round(time.perf_counter() - started, 1),
        customers_without_profile=without_profile,
    )


def customers_at(spark: SparkSession, warehouse_root: str, as_of: dt.date) -> DataFrame:
    rfm_df = delta_io.read_table(spark, warehouse_root, CUSTOMER_RFM.name)
    return rfm_df.filter(delta_io.AsOfSlice(as_of).filter)


def customers_with_features(
    spark: SparkSession, warehouse_root: str, as_of: dt.date, feature_list: list
) -> DataFrame:
    """The customers at ``as_of`` with every column ``feature_list`` reads: customer_profiles
    is joined only when a feature comes from it."""
    customers = customers_at(spark, warehouse_root, as_of)
    if not any(feature.from_profile for feature in feature_list):
        return customers
    profiles = delta_io.maybe_read_table(spark, warehouse_root, CUSTOMER_PROFILES.name)
    return with_profile_columns(customers, profiles, feature_list, as_of)


def count_customers(customers: DataFrame, feature_list: list) -> tuple[int, int | None]:
    """Customers, and of them those without a profile (None when no feature needs one)."""
    if not any(feature.from_profile for feature in feature_list):
        return customers.count(), None
    row = customers.agg(
        F.count(F.lit(1)).alias("customers"),
        F.count(F.when(~F.col(cluster_features.HAS_PROFILE), F.lit(1))).alias("without"),
    ).first()
    return int(row["customers"]), int(row["without"])


def _fit(
    train: DataFrame,
    scaled: DataFrame,
    scaler: PipelineModel,
    config: ClusteringSettings,
    *,
    training_customers: int,
) -> _Fitted:
    """The k sweep, each algorithm's choice and the primary model, then the kept models the
    sweep did not fit."""
    effort = {
        "seed": config.seed,
        "max_iter": config.max_iter,
        "training_customers": training_customers,
        "parallel_fits": config.parallel_fits,
    }
    plan = cluster_selection.sweep_plan(config.algorithms, config.k_range)
    fitted = {m.key: m for m in cluster_selection.sweep(train, scaled, plan, **effort)}
    chosen = {
        algorithm: cluster_selection.choose_k(
            [m for m in fitted.values() if m.algorithm == algorithm],
            config.min_cluster_share,
            min_k=config.min_k,
        )
        for algorithm in config.algorithms
    }
    primary = (
        ModelKey(*config.primary_model)
        if config.primary_model
        else cluster_selection.primary_model(fitted, chosen, config.algorithms)
    )
    kept = cluster_selection.kept_models(config.algorithms, chosen, config.k, primary)
    primary = primary or (kept[0] if kept else None)  # no model judged: still one to point to
    missing = [key for key in kept if key not in fitted]
    fitted.update({m.key: m for m in cluster_selection.sweep(train, scaled, missing, **effort)})
    return _Fitted(scaler=scaler, models=fitted, chosen=chosen, kept=kept, primary=primary)


def _kept_assignments(scaled: DataFrame, fitted: _Fitted) -> tuple[DataFrame, dict]:
    """Every customer with one cluster column per kept model ({key: column}): the profiles,
    the agreement and customer_clusters all read these assignments, made once."""
    columns = {key: f"kept_{i}" for i, key in enumerate(fitted.kept)}
    models_by_column = {column: fitted.models[key].model for key, column in columns.items()}
    return cluster_models.assign_each(scaled, models_by_column), columns


def _label_kept(
    spark: SparkSession,
    settings: Settings,
    as_of: dt.date,
    assigned: DataFrame,
    *,
    columns: dict,
    feature_list: list,
    fitted: _Fitted,
) -> tuple[dict, list]:
    """Profiles and names of the kept models (ids matched to the previous as_of's), and the
    customers labelled with them."""
    earlier = [
        delta_io.maybe_read_table(spark, settings.warehouse_root, spec.name)
        for spec in (CLUSTER_PROFILES, CLUSTER_FEATURES)
    ]
    previous = cluster_stability.previous_clusters(with_feature_maps(*earlier), as_of)
    profile_columns = cluster_features.profile_columns(feature_list)
    population = cluster_profiles.population_statistics(assigned, profile_columns)
    scaler_statistics = cluster_models.scaler_statistics(fitted.scaler)
    statistics = cluster_profiles.models_cluster_statistics(
        assigned, list(columns.values()), profile_columns
    )
    described, labelled = {}, []
    for key, stats in zip(columns, statistics):
        model = fitted.models[key]
        described[key] = cluster_profiles.describe(
            stats,
            centres=model.centres,
            features=feature_list,
            scaler=scaler_statistics,
            population=population,
            previous=previous.get(key, ()),
            threshold=settings.clustering.name_threshold,
        )
        labelled.append(
            cluster_profiles.label_assignments(
                assigned.drop(*[c for k, c in columns.items() if k != key]).withColumnRenamed(
                    columns[key], cluster_models.PREDICTION
                ),
                key=key,
                centres=model.centres,
                labels=cluster_profiles.ids_and_names(described[key]),
                is_primary=key == fitted.primary,
            )
        )
    return described, labelled


def _comparison_rows(assigned: DataFrame, columns: dict, fitted: _Fitted) -> list[dict]:
    """KMeans against BisectingKMeans at every kept k, with the agreement when both exist."""
    rows = []
    for k in cluster_selection.comparison_ks(fitted.kept):
        kmeans_key, bisecting_key = ModelKey("kmeans", k), ModelKey("bisecting_kmeans", k)
        agreement = (
            cluster_metrics.adjusted_rand_index(
                assigned, columns[kmeans_key], columns[bisecting_key]
            )
            if kmeans_key in columns and bisecting_key in columns
            else None
        )
        rows.append(
            cluster_selection.comparison_row(
                k, fitted.models.get(kmeans_key), fitted.models.get(bisecting_key), agreement
            )
        )
    return rows


def rows_frame(spark: SparkSession, spec: TableSpec, rows: list, **constants) -> DataFrame:
    """A small DataFrame (k-sized summaries) in the spec's schema. Money comes as floats
    and is rounded to its decimal type by Spark's cast (``delta_io.conform``), as it is
    for every other table."""
    schema = StructType(
        [
            StructField(f.name, DoubleType(), f.nullable)
            if isinstance(f.dataType, DecimalType)
            else f
            for f in table_schema(spec).fields
        ]
    )
    frame = spark.createDataFrame(
        [tuple({**row, **constants}.get(c) for c in spec.column_names) for row in rows], schema
    )
    return delta_io.conform(frame, spec)


def _write_outputs(
    spark: SparkSession,
    settings: Settings,
    as_of: dt.date,
    scaled: DataFrame,
    *,
    feature_list: list,
    fitted: _Fitted,
) -> None:
    """The kept models' assignments are cached once: profiles, agreement, customer_clusters
    and the crosstab all read them."""
    assignments, columns = _kept_assignments(scaled, fitted)
    with cached(assignments, ROW_CACHE) as assigned:
        _write_kept(
            spark,
            settings,
            as_of,
            assigned,
            columns=columns,
            feature_list=feature_list,
            fitted=fitted,
        )


def _summary_tables(described: dict, comparison: list, fitted: _Fitted) -> tuple:
    """(spec, rows) of the k-sized tables, cluster_features before cluster_profiles: a
    profile row then never lacks its features."""
    kept, primary = fitted.kept, fitted.primary
    selection = cluster_selection.selection_rows(
        fitted.models.values(), fitted.chosen, kept, primary=primary
    )
    features = [row for key in kept for row in cluster_profiles.feature_rows(described[key], key)]
    profiles = [
        row
        for key in kept
        for row in cluster_profiles.profile_rows(described[key], key, is_primary=key == primary)
    ]
    return (
        (MODEL_SELECTION, selection),
        (MODEL_COMPARISON, comparison),
        (CLUSTER_FEATURES, features),
        (CLUSTER_PROFILES, profiles),
    )


def _write_kept(
    spark: SparkSession,
    settings: Settings,
    as_of: dt.date,
    assigned: DataFrame,
    *,
    columns: dict,
    feature_list: list,
    fitted: _Fitted,
) -> None:
    """Models first, tables after, so a profile never points at a model that was not saved."""
    root = settings.warehouse_root
    described, labelled = _label_kept(
        spark, settings, as_of, assigned, columns=columns, feature_list=feature_list, fitted=fitted
    )
    comparison = _comparison_rows(assigned, columns, fitted)
    where = delta_io.AsOfSlice(as_of).predicate
    for key in fitted.kept:
        saved = cluster_models.pipeline_model(fitted.scaler, fitted.models[key].model)
        saved.write().overwrite().save(
            cluster_models.model_path(settings.table_path("_models"), as_of.isoformat(), key)
        )
    for spec, rows in _summary_tables(described, comparison, fitted):
        frame = rows_frame(spark, spec, rows, as_of=as_of)
        delta_io.write_table(spark, root, spec, frame, replace_where=where)
    customer_clusters = (
        reduce(DataFrame.unionByName, labelled)
        .withColumn(AS_OF, F.lit(as_of))
        .withColumn("model_as_of", F.lit(as_of))
    )
    delta_io.write_table(spark, root, CUSTOMER_CLUSTERS, customer_clusters, replace_where=where)
    crosstab = cluster_profiles.segment_crosstab(customer_clusters).withColumn(AS_OF, F.lit(as_of))
    delta_io.write_table(spark, root, SEGMENT_CLUSTER_CROSSTAB, crosstab, replace_where=where)
