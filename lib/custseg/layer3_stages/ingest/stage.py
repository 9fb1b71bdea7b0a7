"""The ingest stage: raw files -> transactions + quarantine, only files new or changed;
with ``input.profiles``, the profile snapshot -> customer_profiles + quarantine.

Writes replace rows by ``source_file`` (Delta replaceWhere, one atomic commit each), and a
file is recorded in ``ingest_files`` only after its rows are in: a run killed at any point
leaves each table at a committed version, and the re-run redoes exactly the files not yet
recorded. Profiles are a snapshot: every run reads them whole and replaces customer_profiles
and the profile rows of quarantine. The only code that writes transactions,
customer_profiles, quarantine, ingest_files, ingest_runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import logging

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.layer1_core.config import Settings
from custseg.layer1_core.tables import (
    CUSTOMER_KEY,
    CUSTOMER_PROFILES,
    INGEST_FILES,
    INGEST_RUNS,
    KEY_CHECK,
    QUARANTINE,
    TRANSACTIONS,
)
from custseg.layer2_io import delta_io
from custseg.layer2_io.console import step
from custseg.layer2_io.run_context import RunContext
from custseg.layer2_io.schemas import table_schema
from custseg.layer2_io.spark import ROW_CACHE, cached, task_failures_unlogged
from custseg.layer3_stages.ingest import clean, profiles, pseudonym, sources
from custseg.layer3_stages.ingest.reconcile import (
    IngestCounts,
    check_reconciliation,
    count_classified,
    count_profiles,
)
from custseg.layer3_stages.ingest.summary import IngestSummary

log = logging.getLogger("custseg")


class IngestRejected(RuntimeError):
    """The run broke a configured limit; the refused table was left untouched."""

    def __init__(self, message: str, counts: IngestCounts | None = None):
        super().__init__(message)
        self.counts = counts


@dataclasses.dataclass(frozen=True)
class _Splits:
    """What one aggregate over the cached lines says about the scan's splits: the rows per
    file, per file split its first scan order and the rows of the file's earlier splits
    (one row per split: a summary, not customer rows), and whether each scan task holds
    kept lines of at most one purchase month."""

    rows_by_file: dict
    blocks: DataFrame
    one_month_per_task: bool


@dataclasses.dataclass(frozen=True)
class _Batch:
    """The classified, keyed rows of the files read in this run, read from a cache while
    they are written."""

    files: list
    keyed: DataFrame
    splits: _Splits
    counts: IngestCounts
    key: bytes
    key_recorded: bool  # the warehouse's key check value is already in KEY_CHECK


def run(spark: SparkSession, settings: Settings, context: RunContext) -> IngestSummary:
    key = pseudonym.load_hash_key(settings.pseudonym.key_env, settings.pseudonym.key_file)
    root = settings.warehouse_root
    recorded_check = recorded_key_check(spark, root)
    pseudonym.check_key_matches(recorded_check, key)
    files = sources.list_source_files(spark, settings.input)
    to_read = _files_to_ingest(spark, root, files, rules_fingerprint(settings))
    profile_source = _profile_source(spark, settings)  # its file errors before any write
    log.info("ingest: %d file(s) found, %d new or changed", len(files), len(to_read))
    counts = IngestCounts.empty()
    if to_read:
        counts = _ingest_files(
            spark, settings, context, to_read, key=key, key_recorded=recorded_check is not None
        )
    profile_counts, refused = None, None
    if profile_source is not None:
        key_recorded = recorded_check is not None or bool(to_read)
        try:
            profile_counts = _ingest_profiles(
                spark, settings, context, profile_source, key=key, key_recorded=key_recorded
            )
        except IngestRejected as error:  # the transactions are committed: record the run
            profile_counts = dataclasses.replace(error.counts, rows_written=0)
            refused = error
    _record_ingest_run(
        spark,
        settings,
        context,
        files_read=[f.path for f in to_read],
        files_skipped=len(files) - len(to_read),
        counts=counts,
        profile_counts=profile_counts,
    )
    if refused is not None:
        raise refused
    return IngestSummary.of(
        files_read=len(to_read),
        files_skipped=len(files) - len(to_read),
        counts=counts,
        profile_counts=profile_counts,
    )


def cleaning_rules(settings: Settings) -> clean.CleaningRules:
    """The row rules of this configuration (no upper time bound unless configured)."""
    return clean.CleaningRules(
        settings=settings.cleaning,
        timestamp_formats=(settings.input.timestamp_format,),
        min_time=settings.cleaning.min_purchase_time,
        max_time=settings.cleaning.max_purchase_time,
        has_order_id=bool(settings.input.columns.get("order_id")),
        has_amount=bool(settings.input.columns.get("amount")),
    )


def rules_fingerprint(settings: Settings) -> str:
    """A hash of everything that decides what a file's rows become: the column mapping,
    the reading options and the cleaning rules (not the quarantine share limit, which only
    decides whether a run is accepted). A file ingested under other rules is read again."""
    cleaning = settings.cleaning.model_dump()
    cleaning.pop("max_quarantine_share")
    inputs = settings.input.model_dump()
    inputs.pop("path")
    inputs.pop("profiles")  # profiles are read whole by every run, never per file
    text = json.dumps({"input": inputs, "cleaning": cleaning}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_quarantine_share(
    counts: IngestCounts, limit: float, table: str = TRANSACTIONS.name
) -> None:
    """Refuses a batch whose quarantined share is above ``cleaning.max_quarantine_share``:
    that many bad rows usually means a wrong column mapping or format, not bad data."""
    share = counts.rows_quarantined / counts.rows_read if counts.rows_read else 0.0
    if share > limit:
        raise IngestRejected(
            f"{counts.rows_quarantined} of {counts.rows_read} rows ({share:.1%}) were "
            f"quarantined, above cleaning.max_quarantine_share={limit}; nothing written to "
            f"{table}. Reasons: {counts.by_reason}",
            counts,
        )


def _ingest_files(
    spark: SparkSession,
    settings: Settings,
    context: RunContext,
    to_read: list,
    *,
    key: bytes,
    key_recorded: bool,
) -> IngestCounts:
    raw = sources.read_sources(spark, to_read, settings.input)
    with contextlib.ExitStack() as caches:  # released in reverse order, on every path
        classified = clean.without_clean_rows_raw_fields(
            clean.classify(raw, cleaning_rules(settings))
        )
        lines = caches.enter_context(cached(_keyed_lines(classified, key), ROW_CACHE))
        step(log, f"read, check and key {len(to_read)} file(s)")
        customers = _first_read(
            spark, lambda: pseudonym.check_no_collisions(lines, counted=F.size("reasons") == 0)
        )
        splits = _file_splits(spark, lines, clean.purchase_month())
        repeated = caches.enter_context(cached(clean.repeated_lines(lines)))
        repeats = repeated.agg(
            F.count(F.lit(1)).alias("distinct"), F.sum(F.col("occurrences") - 1).alias("copies")
        ).first()
        identical = int(repeats["copies"] or 0)
        dropping = settings.cleaning.duplicate_lines == "drop"
        keyed = (
            _without_repeats(caches, lines, repeated, repeats["distinct"]) if dropping else lines
        )
        own_cache = keyed is not lines and keyed.is_cached  # the shuffle join's, rows moved
        if own_cache:
            splits = dataclasses.replace(splits, one_month_per_task=False)
        step(log, "count and reconcile the lines")
        counts = count_classified(
            keyed,
            rows_read=sum(splits.rows_by_file.values()),
            identical_lines=identical,
            duplicates_removed=identical if dropping else 0,
            distinct_customers=customers,
        )
        if own_cache:  # keyed holds every row it needs from here on; under ``keep`` keyed
            lines.unpersist()  # is lines, whose cache the writes still read
        check_reconciliation(counts)
        _warn_about_replacement_characters(settings, counts)
        batch = _Batch(to_read, keyed, splits, counts, key, key_recorded)
        step(log, "write transactions and quarantine")
        _write_batch(spark, settings, context, batch)
    return counts


def _keyed_lines(classified: DataFrame, key: bytes) -> DataFrame:
    """The lines keyed as they are read (see ``pseudonym``), to be cached once (ROW_CACHE):
    every later pass, the collision check included, reads that copy."""
    return pseudonym.with_customer_key(classified, F.col("canonical_id"), key)


# Repeated lines up to this many (distinct) are broadcast into the join that drops their
# copies: their two hashes and first position, a hash table of under 100 MB.
BROADCAST_REPEATED_LINES = 1_000_000


def _without_repeats(
    caches: contextlib.ExitStack, lines: DataFrame, repeated: DataFrame, distinct_repeated: int
) -> DataFrame:
    """``lines`` without the copies of repeated lines. The lines are read four more times
    (counts, reasons, both writes): with the repeated lines broadcast, each read redoes a
    hash lookup per line; more of them than a broadcast holds would mean a shuffle of every
    line on each read, so that join is cached once instead (released with ``caches``)."""
    firsts = repeated.select(*clean.LINE_HASH_COLUMNS, "first_occurrence")
    if distinct_repeated <= BROADCAST_REPEATED_LINES:
        return clean.drop_repeated_lines(lines, F.broadcast(firsts))
    return caches.enter_context(cached(clean.drop_repeated_lines(lines, firsts), ROW_CACHE))


def _first_read(spark: SparkSession, action):
    """Runs the first action over the source files, turning Spark's failure to read one
    (truncated gzip, corrupt file) into a SourceError naming it, without the task's stack
    trace on the console."""
    try:
        with task_failures_unlogged(spark):
            return action()
    except Exception as error:
        failure = sources.read_failure(error)
        if failure is None:
            raise
        raise failure from None


def _file_splits(
    spark: SparkSession, classified: DataFrame, month: Column | None = None
) -> _Splits:
    """The scan's splits (see ``_Splits``), from one small grouped pass over the cached
    lines. ``month`` is a kept line's purchase month; without it no task counts as holding
    one month. A split is read by one task, so grouping by the task too adds no rows."""
    month = month if month is not None else F.lit(None).cast("string")
    splits = (
        classified.groupBy(
            sources.SOURCE_FILE, sources.BLOCK_START, F.spark_partition_id().alias("task")
        )
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.min(sources.SCAN_ORDER).alias("first"),
            F.min(month).alias("first_month"),
            F.max(month).alias("last_month"),
        )
        .collect()
    )
    rows_by_file: dict[str, int] = {}
    blocks = []
    for split in sorted(
        splits, key=lambda r: (r[sources.SOURCE_FILE], r[sources.BLOCK_START] or 0)
    ):
        name = split[sources.SOURCE_FILE]
        before = rows_by_file.get(name, 0)
        blocks.append((name, split[sources.BLOCK_START], int(split["first"]), before))
        rows_by_file[name] = before + int(split["rows"])
    schema = (
        f"{sources.SOURCE_FILE} string, {sources.BLOCK_START} long, "
        "first_scan_order long, rows_before long"
    )
    return _Splits(rows_by_file, spark.createDataFrame(blocks, schema), one_month_per_task(splits))


def one_month_per_task(splits: list) -> bool:
    """Whether every task's kept lines fall in one month (a task without kept lines counts
    as one). Then the transactions write needs no shuffle by month: each task writes one
    file into one month, as monthly export files give when each is read by its own tasks."""
    months: dict[int, set] = {}
    for split in splits:
        seen = months.setdefault(split["task"], set())
        seen.update(m for m in (split["first_month"], split["last_month"]) if m is not None)
    return any(months.values()) and all(len(seen) <= 1 for seen in months.values())


def _warn_about_replacement_characters(settings: Settings, counts: IngestCounts) -> None:
    if (
        counts.rows_with_replacement_characters
        and settings.cleaning.replacement_characters == "warn"
    ):
        log.warning(
            "ingest: %d row(s) hold U+FFFD, bytes that input.csv.encoding=%s could not "
            "decode; check the encoding (cleaning.replacement_characters: quarantine "
            "quarantines them)",
            counts.rows_with_replacement_characters,
            settings.input.csv.encoding,
        )


def _quarantine_rows(keyed: DataFrame, blocks: DataFrame, key: bytes) -> DataFrame:
    """Quarantined rows with their position in the file and ``id_key``: the HMAC of the
    trimmed id text, valid or not (a valid id's is its customer key; the invalid ids are
    keyed here, on the quarantined rows only)."""
    quarantined = keyed.where(F.size("reasons") > 0).withColumn(
        "id_text", F.when(F.trim("customer_id") != "", F.trim("customer_id"))
    )
    with_keys = pseudonym.with_customer_key(
        quarantined, F.col("id_text"), key, output="text_key"
    ).withColumn("id_key", F.coalesce(CUSTOMER_KEY, "text_key"))
    return clean.with_source_row(with_keys, blocks)


def _write_batch(spark: SparkSession, settings: Settings, context: RunContext, batch: _Batch):
    """Key check, quarantine (kept even when the batch is refused), transactions, then the
    file registry: each write replaces exactly the rows of these files."""
    root = settings.warehouse_root
    only_these_files = "source_file IN ({})".format(
        ", ".join(delta_io.sql_string(f.path) for f in batch.files)
    )
    if not batch.key_recorded:
        _record_key_check(spark, root, context, batch.key)
    delta_io.write_table(
        spark,
        root,
        QUARANTINE,
        _quarantine_rows(batch.keyed, batch.splits.blocks, batch.key).select(
            clean.quarantine_columns(context.run_id, TRANSACTIONS.name)
        ),
        replace_where=only_these_files,
    )
    check_quarantine_share(batch.counts, settings.cleaning.max_quarantine_share)
    delta_io.write_table(
        spark,
        root,
        TRANSACTIONS,
        batch.keyed.where(F.size("reasons") == 0).select(
            clean.transactions_columns(context.run_id)
        ),
        replace_where=only_these_files,
        # files that are months, each read by its own tasks, are written without a shuffle
        optimize_write=not batch.splits.one_month_per_task,
    )
    fingerprint = rules_fingerprint(settings)
    registry = spark.createDataFrame(
        [
            (
                f.path,
                f.fingerprint,
                context.run_id,
                int(batch.splits.rows_by_file.get(f.path, 0)),
                fingerprint,
            )
            for f in batch.files
        ],
        table_schema(INGEST_FILES),
    )
    delta_io.write_table(spark, root, INGEST_FILES, registry, replace_where=only_these_files)


def _profile_source(spark: SparkSession, settings: Settings) -> DataFrame | None:
    """The rows of the configured profile files, their files listed and headers checked
    (nothing is scanned yet); None when ``input.profiles`` is not set."""
    if settings.input.profiles is None:
        return None
    files = sources.list_source_files(spark, settings.input.profiles)
    return sources.read_sources(spark, files, settings.input.profiles)


def _ingest_profiles(
    spark: SparkSession,
    settings: Settings,
    context: RunContext,
    raw: DataFrame,
    *,
    key: bytes,
    key_recorded: bool,
) -> IngestCounts:
    """Profiles classified and keyed with the transactions' key and function; quarantine's
    profile rows, then customer_profiles, are replaced whole (a refused snapshot leaves
    customer_profiles as it was)."""
    root, configured = settings.warehouse_root, settings.input.profiles
    classified = profiles.classify_profiles(raw, configured, settings.cleaning)
    with contextlib.ExitStack() as caches:  # released in reverse order, on every path
        lines = caches.enter_context(cached(_keyed_lines(classified, key), ROW_CACHE))
        _first_read(spark, lambda: pseudonym.check_no_collisions(lines))
        splits = _file_splits(spark, lines)
        keyed = caches.enter_context(cached(profiles.with_conflicts(lines)))
        counts = count_profiles(keyed, rows_read=sum(splits.rows_by_file.values()))
        check_reconciliation(counts)
        if not key_recorded:
            _record_key_check(spark, root, context, key)
        quarantined = _quarantine_rows(keyed, splits.blocks, key).select(
            clean.quarantine_columns(
                context.run_id, CUSTOMER_PROFILES.name, sources.canonical_names(configured)
            )
        )
        this_target = f"target_table = {delta_io.sql_string(CUSTOMER_PROFILES.name)}"
        delta_io.write_table(spark, root, QUARANTINE, quarantined, replace_where=this_target)
        check_quarantine_share(
            counts, settings.cleaning.max_quarantine_share, CUSTOMER_PROFILES.name
        )
        rows = profiles.profile_rows(keyed, context.run_id)
        delta_io.write_table(spark, root, CUSTOMER_PROFILES, rows, mode="overwrite")
    log.info("ingest: %d customer profile(s) written", counts.rows_written)
    return counts


def recorded_key_check(spark: SparkSession, warehouse_root: str) -> str | None:
    """The warehouse's key check value; None before its first ingest (or without one)."""
    table = delta_io.maybe_read_table(spark, warehouse_root, KEY_CHECK.name)
    row = table.select("check_value").first() if table is not None else None
    return row["check_value"] if row is not None else None


def _record_key_check(spark: SparkSession, root: str, context: RunContext, key: bytes) -> None:
    """The first write of a warehouse records which key hashes its ids (a warehouse from
    before key checks gets the key of its next run). The check is read once per run, so two
    first runs racing both append: the same value with the same key, two values with two
    keys (not refused yet; the check would need a create-if-absent commit)."""
    row = (
        pseudonym.key_check_value(key),
        context.run_id,
        dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
    )
    frame = spark.createDataFrame([row], table_schema(KEY_CHECK))
    delta_io.write_table(spark, root, KEY_CHECK, frame, mode="append")


def _files_to_ingest(spark: SparkSession, warehouse_root: str, files: list, rules: str) -> list:
    """Files not yet ingested in this version, or ingested under other rules."""
    registry = delta_io.maybe_read_table(spark, warehouse_root, INGEST_FILES.name)
    if registry is None:
        return list(files)
    columns = ["source_file", "fingerprint"]
    has_rules = "rules_fingerprint" in registry.columns
    known = {  # one row per file
        (row["source_file"], row["fingerprint"], row["rules_fingerprint"] if has_rules else None)
        for row in registry.select(
            *columns, *(["rules_fingerprint"] if has_rules else [])
        ).collect()
    }
    return [f for f in files if (f.path, f.fingerprint, rules) not in known]


def _record_ingest_run(
    spark: SparkSession,
    settings: Settings,
    context: RunContext,
    *,
    files_read: list,
    files_skipped: int,
    counts: IngestCounts,
    profile_counts: IngestCounts | None,
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
        "identical_lines": counts.identical_lines,
        "rows_with_replacement_characters": counts.rows_with_replacement_characters,
        "distinct_customers": counts.distinct_customers,
        "min_purchase_time": counts.min_purchase_time,
        "max_purchase_time": counts.max_purchase_time,
        "profiles_read": profile_counts.rows_read if profile_counts else None,
        "profiles_written": profile_counts.rows_written if profile_counts else None,
        "profiles_quarantined": profile_counts.rows_quarantined if profile_counts else None,
    }
    frame = spark.createDataFrame([row], table_schema(INGEST_RUNS))
    delta_io.write_table(spark, settings.warehouse_root, INGEST_RUNS, frame, mode="append")
