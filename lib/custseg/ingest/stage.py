"""The ingest stage: raw files -> transactions + quarantine, only files new or changed.

Writes replace rows by ``source_file`` (Delta replaceWhere, one atomic commit each), and a
file is recorded in ``ingest_files`` only after its rows are in: a run killed at any point
leaves each table at a committed version, and the re-run redoes exactly the files not yet
recorded. The only code that writes transactions, quarantine, ingest_files, ingest_runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg import delta_io
from custseg.config import Settings
from custseg.ingest import clean, pseudonym, sources
from custseg.ingest.reconcile import IngestCounts, check_reconciliation, count_classified
from custseg.run_context import RunContext
from custseg.tables import INGEST_FILES, INGEST_RUNS, QUARANTINE, TRANSACTIONS

log = logging.getLogger("custseg")


class IngestRejected(RuntimeError):
    """The run broke a configured limit; transactions were left untouched."""


@dataclasses.dataclass(frozen=True)
class _Batch:
    """The classified, keyed rows of the files read in this run (cached while written)."""

    files: list
    keyed: DataFrame
    rows_by_file: dict
    counts: IngestCounts


def run(spark: SparkSession, settings: Settings, context: RunContext) -> dict:
    key = pseudonym.load_hash_key(settings.pseudonym.key_env, settings.pseudonym.key_file)
    root = settings.warehouse_root
    files = sources.list_source_files(spark, settings.input)
    to_read = _files_to_ingest(spark, root, files)
    log.info("ingest: %d file(s) found, %d new or changed", len(files), len(to_read))
    counts = IngestCounts.empty()
    if to_read:
        counts = _ingest_files(spark, settings, context, to_read, key=key)
    _record_ingest_run(
        spark,
        settings,
        context,
        files_read=[f.path for f in to_read],
        files_skipped=len(files) - len(to_read),
        counts=counts,
    )
    return {
        "files_read": len(to_read),
        "files_skipped": len(files) - len(to_read),
        **counts.as_summary(),
    }


def cleaning_rules(settings: Settings) -> clean.CleaningRules:
    """The row rules of this configuration; the upper time bound is max_purchase_time,
    else the configured rfm.as_of (purchases at or after it are out of range)."""
    return clean.CleaningRules(
        settings=settings.cleaning,
        timestamp_formats=(settings.input.timestamp_format,),
        min_time=settings.cleaning.min_purchase_time,
        max_time=settings.cleaning.max_purchase_time or settings.rfm.as_of,
        has_order_id=bool(settings.input.columns.get("order_id")),
        has_amount=bool(settings.input.columns.get("amount")),
    )


def check_quarantine_share(counts: IngestCounts, limit: float) -> None:
    """Refuses a batch whose quarantined share is above ``cleaning.max_quarantine_share``:
    that many bad rows usually means a wrong column mapping or format, not bad data."""
    share = counts.rows_quarantined / counts.rows_read if counts.rows_read else 0.0
    if share > limit:
        raise IngestRejected(
            f"{counts.rows_quarantined} of {counts.rows_read} rows ({share:.1%}) were "
            f"quarantined, above cleaning.max_quarantine_share={limit}; nothing written to "
            f"transactions. Reasons: {counts.by_reason}"
        )


def _ingest_files(
    spark: SparkSession, settings: Settings, context: RunContext, to_read: list, *, key: bytes
) -> IngestCounts:
    raw = sources.read_sources(spark, to_read, settings.input)
    classified = clean.classify(clean.collapse_duplicates(raw), cleaning_rules(settings)).persist()
    mapping = pseudonym.key_mapping(classified, key).persist()
    keyed = classified.join(mapping, on="canonical_id", how="left").persist()
    try:
        pseudonym.check_no_collisions(mapping)
        # Counted on the cached rows before the join (not on the CSV again): a second pass
        # over every file cost as much as the classification, and the identity checked
        # below still compares two plans, so a join that loses or doubles rows shows.
        rows_by_file = {  # one row per file
            row[sources.SOURCE_FILE]: int(row["rows"])
            for row in classified.groupBy(sources.SOURCE_FILE)
            .agg(F.sum(clean.COPIES).alias("rows"))
            .collect()
        }
        counts = count_classified(keyed, rows_read=sum(rows_by_file.values()))
        classified.unpersist()
        check_reconciliation(counts)
        batch = _Batch(files=to_read, keyed=keyed, rows_by_file=rows_by_file, counts=counts)
        _write_batch(spark, settings, context, batch)
    finally:
        for cached in (keyed, mapping, classified):
            cached.unpersist()
    return counts


def _write_batch(spark: SparkSession, settings: Settings, context: RunContext, batch: _Batch):
    """Quarantine first (kept even when the batch is refused), then transactions, then the
    file registry: each write replaces exactly the rows of these files."""
    root = settings.warehouse_root
    only_these_files = "source_file IN ({})".format(
        ", ".join(delta_io.sql_string(f.path) for f in batch.files)
    )
    clean_row = F.size("reasons") == 0
    quarantined = batch.keyed.where(~clean_row)
    delta_io.write_table(
        spark,
        root,
        QUARANTINE,
        quarantined.select(clean.quarantine_columns(context.run_id)),
        replace_where=only_these_files,
    )
    check_quarantine_share(batch.counts, settings.cleaning.max_quarantine_share)
    delta_io.write_table(
        spark,
        root,
        TRANSACTIONS,
        batch.keyed.where(clean_row).select(clean.transactions_columns(context.run_id)),
        replace_where=only_these_files,
    )
    registry = spark.createDataFrame(
        [
            (f.path, f.fingerprint, context.run_id, int(batch.rows_by_file.get(f.path, 0)))
            for f in batch.files
        ],
        INGEST_FILES.schema,
    )
    delta_io.write_table(spark, root, INGEST_FILES, registry, replace_where=only_these_files)


def _files_to_ingest(spark: SparkSession, warehouse_root: str, files: list) -> list:
    registry = delta_io.maybe_read_table(spark, warehouse_root, INGEST_FILES.name)
    if registry is None:
        return list(files)
    known = {  # one row per file
        (row["source_file"], row["fingerprint"])
        for row in registry.select("source_file", "fingerprint").collect()
    }
    return [f for f in files if (f.path, f.fingerprint) not in known]


def _record_ingest_run(
    spark: SparkSession,
    settings: Settings,
    context: RunContext,
    *,
    files_read: list,
    files_skipped: int,
    counts: IngestCounts,
) -> None:
    finished = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    started = context.started_at.replace(tzinfo=None)
    row = {
        "ingest_run_id": context.run_id,
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
    frame = spark.createDataFrame([row], INGEST_RUNS.schema)
    delta_io.write_table(spark, settings.warehouse_root, INGEST_RUNS, frame, mode="append")
