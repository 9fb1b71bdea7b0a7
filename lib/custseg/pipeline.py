"""Stage functions and their order. The only module that reads and writes tables.

Each stage reads Delta tables written before it and writes its own; it returns a small
summary dict (counts, paths) that the CLI prints and that tests assert on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg import tables
from custseg.clustering import features as cluster_features
from custseg.clustering import models as cluster_models
from custseg.clustering import profiles as cluster_profiles
from custseg.clustering import selection as cluster_selection
from custseg.clustering import stability as cluster_stability
from custseg.config import Settings
from custseg.report.current import segments_current
from custseg.report.document import write_report
from custseg.report.inputs import gather_report_inputs

log = logging.getLogger("custseg")


@dataclasses.dataclass(frozen=True)
class RunContext:
    """Identity and start time of one invocation; made by the CLI, passed down."""

    run_id: str
    started_at: dt.datetime


def latest_as_of(spark: SparkSession, settings: Settings) -> dt.date:
    """``rfm.as_of`` when configured, else the newest as_of in customer_rfm."""
    if settings.rfm.as_of:
        return dt.date.fromisoformat(settings.rfm.as_of[:10])
    rfm_df = tables.read_table(spark, settings, tables.CUSTOMER_RFM.name)
    value = rfm_df.agg(F.max("as_of")).first()[0]
    if value is None:
        raise ValueError("customer_rfm is empty: run the rfm stage first")
    return value


def ingest(spark: SparkSession, settings: Settings, run: RunContext) -> dict:
    """Raw files -> transactions + quarantine, only files new or changed since last time.

    Writes replace rows by ``source_file`` (Delta replaceWhere, one atomic commit each), and
    a file is recorded in ``ingest_files`` only after its rows are in: a run killed at any
    point leaves each table at a committed version, and the re-run redoes exactly the files
    not yet recorded.
    """
    from custseg.ingest import clean, pseudonym, sources
    from custseg.ingest.reconcile import IngestCounts, check_reconciliation, count_classified

    key = pseudonym.load_hash_key(settings.pseudonym.key_env, settings.pseudonym.key_file)
    files = sources.list_source_files(spark, settings.input)
    to_read = _files_to_ingest(spark, settings, files)
    log.info("ingest: %d file(s) found, %d new or changed", len(files), len(to_read))
    if not to_read:
        counts = IngestCounts.empty()
        _record_ingest_run(spark, settings, run, [], len(files), counts)
        return {"files_read": 0, "files_skipped": len(files), **counts.as_summary()}

    raw = sources.read_sources(spark, to_read, settings.input)
    rules = clean.CleaningRules(
        settings=settings.cleaning,
        timestamp_formats=(settings.input.timestamp_format,),
        min_time=dt.date.fromisoformat(settings.cleaning.min_purchase_time[:10]),
        max_time=_ingest_upper_bound(settings),
        has_order_id=bool(settings.input.columns.get("order_id")),
        has_amount=bool(settings.input.columns.get("amount")),
    )
    classified = clean.mark_duplicates(clean.classify(raw, rules)).persist()
    mapping = pseudonym.key_mapping(classified, key).persist()
    keyed = classified.join(mapping, "canonical_id", "left").persist()
    try:
        pseudonym.check_no_collisions(mapping)
        rows_by_file = {
            row[sources.SOURCE_FILE]: int(row["count"])  # one row per file
            for row in raw.groupBy(sources.SOURCE_FILE).count().collect()
        }
        counts = count_classified(keyed, rows_read=sum(rows_by_file.values()))
        classified.unpersist()
        check_reconciliation(counts)

        file_list = ", ".join(tables.sql_string(f.path) for f in to_read)
        only_these_files = f"source_file IN ({file_list})"
        quarantined = keyed.where(~F.col("is_duplicate") & (F.size("reasons") > 0))
        tables.write_table(
            spark,
            settings,
            tables.QUARANTINE,
            quarantined.select(clean.quarantine_columns(run.run_id)),
            replace_where=only_these_files,
        )
        share = counts.rows_quarantined / counts.rows_read if counts.rows_read else 0.0
        if share > settings.cleaning.max_quarantine_share:
            raise IngestRejected(
                f"{counts.rows_quarantined} of {counts.rows_read} rows ({share:.1%}) were quarantined, "
                f"above cleaning.max_quarantine_share={settings.cleaning.max_quarantine_share}; "
                f"nothing written to transactions. Reasons: {counts.by_reason}"
            )
        clean_rows = keyed.where(~F.col("is_duplicate") & (F.size("reasons") == 0))
        tables.write_table(
            spark,
            settings,
            tables.TRANSACTIONS,
            clean_rows.select(clean.transactions_columns(run.run_id)),
            replace_where=only_these_files,
        )
    finally:
        for cached in (keyed, mapping, classified):
            cached.unpersist()
    registry = spark.createDataFrame(
        [(f.path, f.fingerprint, run.run_id, int(rows_by_file.get(f.path, 0))) for f in to_read],
        tables.INGEST_FILES.schema,
    )
    tables.write_table(
        spark, settings, tables.INGEST_FILES, registry, replace_where=only_these_files
    )
    _record_ingest_run(
        spark, settings, run, [f.path for f in to_read], len(files) - len(to_read), counts
    )
    return {
        "files_read": len(to_read),
        "files_skipped": len(files) - len(to_read),
        **counts.as_summary(),
    }


class IngestRejected(RuntimeError):
    """The run broke a configured limit; transactions were left untouched."""


def _ingest_upper_bound(settings: Settings) -> dt.date | None:
    """Purchases at or after this date are out of range: max_purchase_time, else rfm.as_of."""
    bound = settings.cleaning.max_purchase_time or settings.rfm.as_of
    return dt.date.fromisoformat(bound[:10]) if bound else None


def _files_to_ingest(spark: SparkSession, settings: Settings, files: list) -> list:
    registry = tables.maybe_read_table(spark, settings, tables.INGEST_FILES.name)
    if registry is None:
        return list(files)
    known = {
        (row["source_file"], row["fingerprint"])
        for row in registry.select("source_file", "fingerprint").collect()
    }  # one row per file
    return [f for f in files if (f.path, f.fingerprint) not in known]


def _record_ingest_run(
    spark: SparkSession,
    settings: Settings,
    run: RunContext,
    files_read: list,
    files_skipped: int,
    counts,
) -> None:
    finished = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    started = run.started_at.replace(tzinfo=None)
    row = {
        "ingest_run_id": run.run_id,
        "started_at": started,
        "duration_seconds": (finished - started).total_seconds(),
        "input_path": settings.input.path,
        "files_read": files_read,
        "files_skipped": files_skipped,
        "rows_read": counts.rows_read,
        "rows_written": counts.rows_written,
        "rows_quarantined": counts.rows_quarantined,
        "quarantined_by_reason": counts.by_reason,
        "duplicates_removed": counts.duplicates_removed,
        "distinct_customers": counts.distinct_customers,
        "min_purchase_time": counts.min_purchase_time,
        "max_purchase_time": counts.max_purchase_time,
    }
    frame = spark.createDataFrame([row], tables.INGEST_RUNS.schema)
    tables.write_table(spark, settings, tables.INGEST_RUNS, frame, mode="append")


def rfm(spark: SparkSession, settings: Settings, run: RunContext) -> dict:
    """transactions -> customer_rfm, segment_summary, score_edges, segment_transitions.

    Every write replaces exactly the rows of this ``as_of`` (Delta replaceWhere), so re-running
    a date is idempotent and leaves the other dates alone. ``previous_segment`` and the
    transitions compare with the latest as_of strictly before this one.
    """
    from custseg.rfm import metrics as rfm_metrics
    from custseg.rfm import scoring, segments

    bins = settings.rfm.bins
    segment_map = segments.load_segment_map(settings.rfm.segments_file, bins)  # fail fast
    transactions = tables.read_table(spark, settings, tables.TRANSACTIONS.name)
    last_purchase = (
        None if settings.rfm.as_of else rfm_metrics.last_purchase_micros(transactions).first()[0]
    )
    as_of = rfm_metrics.resolve_as_of(settings.rfm.as_of, last_purchase)
    this_slice = f"as_of = {tables.sql_string(as_of.isoformat())}"
    lines = rfm_metrics.transactions_in_window(transactions, as_of, settings.rfm.window_days)
    metrics = rfm_metrics.customer_metrics(lines, as_of, settings.cleaning.returns).persist()
    try:
        population = rfm_metrics.population_counts(metrics).first()
        scoreable = rfm_metrics.scoreable_customers(
            metrics, settings.rfm.include_non_positive_monetary
        )
        scored = scoring.score_customers(scoreable, bins)  # materialised: metrics no longer read
    finally:
        metrics.unpersist()

    history = tables.maybe_read_table(spark, settings, tables.CUSTOMER_RFM.name)
    previous_as_of = (
        None
        if history is None
        else history.where(F.col("as_of") < F.lit(as_of)).agg(F.max("as_of")).first()[0]
    )
    previous = (
        None if previous_as_of is None else history.where(F.col("as_of") == F.lit(previous_as_of))
    )
    current = (
        segments.with_previous_segment(
            segments.assign_segments(scored.customers, segment_map), previous
        )
        .withColumn("as_of", F.lit(as_of))
        .persist()
    )
    try:
        tables.write_table(spark, settings, tables.CUSTOMER_RFM, current, replace_where=this_slice)
        tables.write_table(
            spark,
            settings,
            tables.SEGMENT_SUMMARY,
            segments.segment_summary(current, segment_map, as_of),
            replace_where=this_slice,
        )
        tables.write_table(
            spark,
            settings,
            tables.SCORE_EDGES,
            scoring.edges_frame(spark, scored.edges, bins, as_of),
            replace_where=this_slice,
        )
        if previous is not None:
            transitions = segments.segment_transitions(current, previous, as_of, previous_as_of)
        elif tables.table_exists(spark, settings.table_path(tables.SEGMENT_TRANSITIONS.name)):
            transitions = spark.createDataFrame([], tables.SEGMENT_TRANSITIONS.schema)
        else:
            transitions = None
        if transitions is not None:  # an empty frame clears a stale slice
            tables.write_table(
                spark, settings, tables.SEGMENT_TRANSITIONS, transitions, replace_where=this_slice
            )
        segment_counts = dict(current.groupBy("segment").count().collect())
    finally:
        current.unpersist()
        scored.release()

    summary = {
        "as_of": as_of.isoformat(),
        "previous_as_of": previous_as_of.isoformat() if previous_as_of else None,
        "window_days": settings.rfm.window_days,
        "bins": bins,
        "transactions_in_window": int(population["transaction_lines"]),
        "customers_in_window": int(population["customers"]),
        "customers_non_positive_monetary": int(population["non_positive_monetary"]),
        "customers_excluded_non_positive_monetary": 0
        if settings.rfm.include_non_positive_monetary
        else int(population["non_positive_monetary"]),
        "customers_scored": scored.count,
        "segments": {name: segment_counts.get(name, 0) for name in segment_map.names},
        "score_edges": {metric: list(edges) for metric, edges in scored.edges.items()},
    }
    log.info(
        "rfm: as_of %s, %d customers scored, %d excluded (monetary <= 0)",
        summary["as_of"],
        summary["customers_scored"],
        summary["customers_excluded_non_positive_monetary"],
    )
    return summary


def cluster(spark: SparkSession, settings: Settings, run: RunContext) -> dict:
    """customer_rfm -> customer_clusters, model_selection, model_comparison, cluster_profiles,
    segment_cluster_crosstab and saved models under ``<warehouse>/_models/<as_of>/``.

    Sweeps k for each algorithm on the training rows (a stable hash sample when
    clustering.sample_size is set), keeps each algorithm's chosen k plus the fixed ks,
    carries cluster ids and names over from the previous as_of, and replaces this as_of's
    rows only. The driver holds k-sized summaries; customers stay in Spark (cached once).
    """
    import time

    from pyspark import StorageLevel

    started = time.perf_counter()
    config = settings.clustering
    as_of = latest_as_of(spark, settings)
    feature_list = cluster_features.parse_features(config.features)
    rfm_df = tables.read_table(spark, settings, tables.CUSTOMER_RFM.name).filter(
        F.col("as_of") == F.lit(as_of)
    )
    customers = rfm_df.count()
    if customers == 0:
        raise ValueError(f"customer_rfm has no customers at as_of {as_of}: run the rfm stage first")
    frame = cluster_models.fixed_partitioning(
        cluster_features.feature_frame(rfm_df, feature_list), config.partitions
    )
    fraction = cluster_models.sample_fraction(config.sample_size, customers)
    scaler = cluster_models.scaler_pipeline(feature_list).fit(
        cluster_models.hash_sample(frame, fraction, config.seed)
    )
    scaled = cluster_models.scaled_frame(scaler, frame).persist(StorageLevel.MEMORY_AND_DISK)
    train = cluster_models.hash_sample(scaled, fraction, config.seed)
    if fraction is not None:
        train = train.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        training_customers = train.count()
        fitted = {
            m.key: m
            for m in cluster_selection.sweep(
                train,
                scaled,
                cluster_selection.sweep_plan(config.algorithms, config.k_range),
                config.seed,
                config.max_iter,
                training_customers,
            )
        }
        chosen = {
            algorithm: cluster_selection.choose_k(
                [m for m in fitted.values() if m.algorithm == algorithm], config.min_cluster_share
            )
            for algorithm in config.algorithms
        }
        kept = cluster_selection.kept_models(config.algorithms, chosen, config.k)
        fitted.update(
            {
                m.key: m
                for m in cluster_selection.sweep(
                    train,
                    scaled,
                    [key for key in kept if key not in fitted],
                    config.seed,
                    config.max_iter,
                    training_customers,
                )
            }
        )
        _write_cluster_outputs(
            spark, settings, as_of, scaler, scaled, feature_list, fitted, chosen, kept
        )
    finally:
        train.unpersist()
        scaled.unpersist()
    return {
        "as_of": as_of.isoformat(),
        "customers": customers,
        "training_customers": training_customers,
        "chosen_k": chosen,
        "models": [f"{algorithm}_k{k}" for algorithm, k in kept],
        "seconds": round(time.perf_counter() - started, 1),
    }


def _rows_frame(spark: SparkSession, spec: tables.TableSpec, rows: list, **constants) -> DataFrame:
    """A small DataFrame (k-sized summaries) in the spec's schema."""
    return spark.createDataFrame(
        [tuple({**row, **constants}.get(c) for c in spec.column_names) for row in rows], spec.schema
    )


def _write_cluster_outputs(
    spark: SparkSession,
    settings: Settings,
    as_of: dt.date,
    scaler,
    scaled: DataFrame,
    feature_list: list,
    fitted: dict,
    chosen: dict,
    kept: list,
) -> None:
    """Profiles, names, ids and agreement of the kept models; then models first, tables after,
    so a profile never points at a model that was not saved."""
    from functools import reduce

    shift, scale = cluster_models.scaler_statistics(scaler)
    profile_columns = cluster_features.profile_columns(feature_list)
    population = cluster_profiles.population_statistics(scaled, profile_columns)
    previous = cluster_stability.previous_clusters(
        tables.maybe_read_table(spark, settings, tables.CLUSTER_PROFILES.name), as_of
    )
    described, labelled = {}, []
    for key in kept:
        model = fitted[key]
        assigned = cluster_models.assign(scaled, model.model, cluster_models.PREDICTION)
        described[key] = cluster_profiles.describe_model(
            assigned,
            cluster_models.PREDICTION,
            model.centres,
            feature_list,
            shift,
            scale,
            population,
            previous.get(key, ()),
        )
        labelled.append(
            cluster_profiles.label_assignments(
                assigned,
                cluster_models.PREDICTION,
                cluster_models.VECTOR,
                model.centres,
                *cluster_profiles.ids_and_names(described[key]),
                *key,
            )
        )
    comparison = []
    for k in cluster_selection.comparison_ks(kept):
        kmeans, bisecting = fitted.get(("kmeans", k)), fitted.get(("bisecting_kmeans", k))
        agreement = (
            cluster_selection.agreement(scaled, kmeans.model, bisecting.model)
            if kmeans and bisecting
            else None
        )
        comparison.append(cluster_selection.comparison_row(k, kmeans, bisecting, agreement))

    as_of_text = as_of.isoformat()
    where = f"as_of = '{as_of_text}'"
    for key in kept:
        cluster_models.pipeline_model(scaler, fitted[key].model).write().overwrite().save(
            cluster_models.model_path(settings.table_path("_models"), as_of_text, *key)
        )
    selection_rows = cluster_selection.selection_rows(fitted.values(), chosen, kept)
    profile_rows = [
        row for key in kept for row in cluster_profiles.profile_rows(described[key], *key)
    ]
    for spec, rows in (
        (tables.MODEL_SELECTION, selection_rows),
        (tables.MODEL_COMPARISON, comparison),
        (tables.CLUSTER_PROFILES, profile_rows),
    ):
        tables.write_table(
            spark, settings, spec, _rows_frame(spark, spec, rows, as_of=as_of), replace_where=where
        )
    customer_clusters = (
        reduce(DataFrame.unionByName, labelled)
        .withColumn("as_of", F.lit(as_of))
        .withColumn("model_as_of", F.lit(as_of))
    )
    tables.write_table(
        spark, settings, tables.CUSTOMER_CLUSTERS, customer_clusters, replace_where=where
    )
    crosstab = cluster_profiles.segment_crosstab(customer_clusters).withColumn(
        "as_of", F.lit(as_of)
    )
    tables.write_table(
        spark, settings, tables.SEGMENT_CLUSTER_CROSSTAB, crosstab, replace_where=where
    )


def score(spark: SparkSession, settings: Settings, run: RunContext) -> dict:
    """Assigns the customers of the latest customer_rfm as_of to the newest saved models
    (fitted at or before it) without refitting; ids and names come from those models'
    cluster_profiles. Writes customer_clusters for that as_of, with model_as_of saying
    which models were used. Not part of ``run``: it is for months between refits.
    """
    import time
    from functools import reduce
    from itertools import groupby

    from pyspark.ml import PipelineModel

    started = time.perf_counter()
    as_of = latest_as_of(spark, settings)
    saved = tables.read_table(spark, settings, tables.CLUSTER_PROFILES.name).filter(
        F.col("as_of") <= F.lit(as_of)
    )
    model_as_of = saved.agg(F.max("as_of")).first()[0]
    if model_as_of is None:
        raise FileNotFoundError(
            f"no saved clustering model at or before {as_of}: run the cluster stage first"
        )
    clusters = (
        saved.filter(F.col("as_of") == F.lit(model_as_of))
        .select("algorithm", "k", "model_cluster", "cluster_id", "cluster_name")
        .orderBy("algorithm", "k", "model_cluster")
        .collect()
    )
    rfm_df = tables.read_table(spark, settings, tables.CUSTOMER_RFM.name).filter(
        F.col("as_of") == F.lit(as_of)
    )
    scored, models_used = [], []
    for (algorithm, k), rows in groupby(clusters, key=lambda r: (r["algorithm"], int(r["k"]))):
        rows = list(rows)
        saved_model = PipelineModel.load(
            cluster_models.model_path(
                settings.table_path("_models"), model_as_of.isoformat(), algorithm, k
            )
        )
        feature_list = cluster_features.features_from_frame_columns(
            cluster_models.model_input_columns(saved_model)
        )
        assigned = saved_model.transform(cluster_features.feature_frame(rfm_df, feature_list))
        scored.append(
            cluster_profiles.label_assignments(
                assigned,
                cluster_models.PREDICTION,
                cluster_models.VECTOR,
                cluster_models.centres(cluster_models.cluster_stage(saved_model)),
                [r["cluster_id"] for r in rows],
                [r["cluster_name"] for r in rows],
                algorithm,
                k,
            )
        )
        models_used.append(f"{algorithm}_k{k}")
    customer_clusters = (
        reduce(DataFrame.unionByName, scored)
        .withColumn("as_of", F.lit(as_of))
        .withColumn("model_as_of", F.lit(model_as_of))
    )
    tables.write_table(
        spark,
        settings,
        tables.CUSTOMER_CLUSTERS,
        customer_clusters,
        replace_where=f"as_of = '{as_of.isoformat()}'",
    )
    return {
        "as_of": as_of.isoformat(),
        "model_as_of": model_as_of.isoformat(),
        "models": models_used,
        "customers": rfm_df.count(),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _write_segments_current(spark: SparkSession, settings: Settings, as_of: dt.date) -> int:
    """Rewrites segments_current in full: it is a snapshot, its history lives in customer_rfm."""
    snapshot = segments_current(
        tables.read_table(spark, settings, tables.CUSTOMER_RFM.name),
        tables.maybe_read_table(spark, settings, tables.CUSTOMER_CLUSTERS.name),
        as_of,
    )
    tables.write_table(spark, settings, tables.SEGMENTS_CURRENT, snapshot, mode="overwrite")
    # Delta answers a bare count from the file statistics of the log, without a scan.
    return tables.read_table(spark, settings, tables.SEGMENTS_CURRENT.name).count()


def _optimize_tables(spark: SparkSession, settings: Settings, as_of: dt.date | None = None) -> dict:
    """Compaction, and Z-order on customer_key for the tables looked up by customer.

    With ``as_of``, partitioned customer tables are Z-ordered only in that partition: a
    Z-order rewrites every file it covers and earlier partitions were done by earlier runs.
    Returns the data file count of each table before and after.
    """
    stats = {}
    for name in tables.ZORDER_BY_CUSTOMER + tables.COMPACT_ONLY:
        path = settings.table_path(name)
        if not tables.table_exists(spark, path):
            continue
        where = None
        if as_of is not None and "as_of" in tables.ALL_TABLES[name].partition_by:
            where = f"as_of = {tables.sql_string(as_of.isoformat())}"
        zorder_by = ("customer_key",) if name in tables.ZORDER_BY_CUSTOMER else ()
        stats[name] = tables.optimize_table(spark, path, zorder_by, where)
    return stats


def report(spark: SparkSession, settings: Settings, run: RunContext) -> dict:
    """segments_current, table maintenance, then the HTML report and its PNGs for the as_of.

    The report reads Delta tables only and brings nothing customer-level to the driver
    beyond the bounded PCA sample (``report.sample_size``). Tables are registered as
    ``custseg.<name>`` at the end; the default catalog is in-memory, so that lasts for the
    session.
    """
    as_of = latest_as_of(spark, settings)
    current_rows = _write_segments_current(spark, settings, as_of)
    optimize_stats = _optimize_tables(spark, settings, as_of)
    sources = (
        tables.CUSTOMER_RFM,
        tables.SEGMENT_SUMMARY,
        tables.SEGMENT_TRANSITIONS,
        tables.CUSTOMER_CLUSTERS,
        tables.MODEL_SELECTION,
        tables.MODEL_COMPARISON,
        tables.CLUSTER_PROFILES,
        tables.SEGMENT_CLUSTER_CROSSTAB,
    )
    frames = {spec.name: tables.maybe_read_table(spark, settings, spec.name) for spec in sources}
    inputs = gather_report_inputs(
        frames, as_of, settings.rfm.bins, settings.clustering.features, settings.report.sample_size
    )
    written = write_report(
        inputs,
        f"{settings.report.path.rstrip('/')}/{as_of.isoformat()}",
        footer=(
            f"custseg run {run.run_id}; source: Delta tables under "
            f"{settings.table_path('').rstrip('/')}; as_of {as_of.isoformat()}. Customer "
            "keys are pseudonymised and the page holds aggregates and an anonymous sample "
            "only."
        ),
    )
    registered = tables.register_in_catalog(spark, settings)
    log.info("report for as_of %s written to %s", as_of, written.page)
    return {
        "as_of": as_of.isoformat(),
        "report_path": str(written.page),
        "figures": [str(p) for p in written.figures],
        "segments_current_rows": current_rows,
        "optimize": optimize_stats,
        "registered_tables": registered,
    }


STAGES: dict[str, Callable[[SparkSession, Settings, RunContext], dict]] = {
    "ingest": ingest,
    "rfm": rfm,
    "cluster": cluster,
    "report": report,
}


def run_all(
    spark: SparkSession,
    settings: Settings,
    run: RunContext,
    on_stage: Callable[[str, dict], None] | None = None,
) -> dict:
    """Runs every stage in order; ``on_stage`` hears each stage's summary as it finishes."""
    summaries = {}
    for name, stage in STAGES.items():
        summaries[name] = STAGES[name](spark, settings, run)
        if on_stage:
            on_stage(name, summaries[name])
    return summaries
