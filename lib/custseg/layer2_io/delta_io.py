"""Reading and writing the project's Delta tables under a warehouse root.

Tables are path-based under ``<warehouse>/<name>`` (the BI contract) and are also registered
in the catalog database ``custseg`` so SQL users can query them by name. Functions take the
warehouse root, not the settings: the root is the only thing they need to know.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import time
from collections.abc import Iterable

from delta.exceptions import (
    ConcurrentAppendException,
    ConcurrentDeleteDeleteException,
    ConcurrentDeleteReadException,
    ConcurrentTransactionException,
    ConcurrentWriteException,
    MetadataChangedException,
    ProtocolChangedException,
)
from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.layer1_core.tables import (
    ALL_TABLES,
    AS_OF,
    DATABASE,
    STATS_COLUMNS_PROPERTY,
    TableSpec,
    table_location,
)
from custseg.layer2_io.locations import file_system, hadoop_path
from custseg.layer2_io.schemas import column_type

log = logging.getLogger("custseg")


class TableNotFoundError(FileNotFoundError):
    """A stage needs a table an earlier stage has not written yet."""


class SchemaMismatchError(ValueError):
    """A stage built a DataFrame that lacks columns its table declares (a programming error)."""


def conform(df: DataFrame, spec: TableSpec) -> DataFrame:
    """Selects the spec's columns in order, cast to the declared types; a missing column fails."""
    missing = [c for c in spec.column_names if c not in df.columns]
    if missing:
        raise SchemaMismatchError(
            f"table {spec.name}: DataFrame lacks column(s) {', '.join(missing)}"
        )
    current = {field.name: field.dataType for field in df.schema.fields}
    return df.select(
        [
            F.col(c.name)
            if current[c.name].simpleString() == column_type(c).simpleString()
            else F.col(c.name).cast(column_type(c)).alias(c.name)
            for c in spec.columns
        ]
    )


def with_comments(df: DataFrame, spec: TableSpec) -> DataFrame:
    """The spec's column comments as field metadata, where Delta takes them from when a
    write replaces the schema."""
    return df.select(
        [F.col(c.name).alias(c.name, metadata={"comment": c.comment}) for c in spec.columns]
    )


def schema_differs(spark: SparkSession, spec: TableSpec, path: str) -> bool:
    """The table at ``path`` has other columns, another order or other types than declared
    (a table written by an older custseg): one read of its log."""
    current = spark.read.format("delta").load(path).schema
    declared = [(c.name, column_type(c).simpleString()) for c in spec.columns]
    return [(f.name, f.dataType.simpleString()) for f in current.fields] != declared


def table_exists(spark: SparkSession, path: str) -> bool:
    return DeltaTable.isDeltaTable(spark, path)


# A log folder without a commit is only taken for a killed run's leftover once it has not
# changed for this long: another run may be creating the same table at this very moment.
STALE_LOG_SECONDS = 5.0


def _remove_uncommitted_log(spark: SparkSession, path: str) -> None:
    """Deletes a ``_delta_log`` folder that holds no commit and does not change.

    A run killed while creating a table leaves such a folder, and Delta then refuses to
    create the table there. Without a commit file nothing was ever committed, so removing
    it loses nothing. A folder still changing, or gaining a commit, belongs to a creation
    under way in another run and is left to it.
    """
    log_location = f"{path.rstrip('/')}/_delta_log"
    log_dir, fs = hadoop_path(spark, log_location), file_system(spark, log_location)
    seen, unchanged_since = None, time.monotonic()
    while fs.exists(log_dir):
        listing = sorted(
            (status.getPath().getName(), status.getLen()) for status in fs.listStatus(log_dir)
        )
        if any(re.fullmatch(r"\d{20}\.(json|checkpoint.*parquet)", name) for name, _ in listing):
            return
        if listing != seen:
            seen, unchanged_since = listing, time.monotonic()
        elif time.monotonic() - unchanged_since >= STALE_LOG_SECONDS:
            fs.delete(log_dir, True)
            return
        time.sleep(0.5)


def _create_table(spark: SparkSession, spec: TableSpec, path: str) -> bool:
    """Creates the table, or lets a run creating the same table at this moment finish.
    True when this run's creation made it (with its constraints); False when another run
    did, which may have been an older custseg that added constraints in later commits.

    While another run's creation is under way the log folder exists without a commit and
    Delta refuses to create or load the table there ([DELTA_TABLE_NOT_FOUND]); waiting for
    that commit (or for the folder to be found stale) and looking again settles the race.
    """
    for attempt in (1, 2):
        _remove_uncommitted_log(spark, path)
        try:
            _table_builder(spark, spec, path).execute()
            return True
        except Exception:
            _remove_uncommitted_log(spark, path)
            if table_exists(spark, path):  # another run created it first: fine
                return False
            if attempt == 2:
                raise


def _table_builder(spark: SparkSession, spec: TableSpec, path: str):
    builder = DeltaTable.createIfNotExists(spark).location(path).comment(spec.comment)
    for col in spec.columns:
        builder = builder.addColumn(
            col.name, column_type(col), nullable=col.nullable, comment=col.comment
        )
    if spec.partition_by:
        builder = builder.partitionedBy(*spec.partition_by)
    for key, value in spec.delta_properties:
        builder = builder.property(key, value)
    for name, expression in spec.constraints:
        builder = builder.property(constraint_property(name), expression)
    return builder


def path_identifier(path: str) -> str:
    """``delta.`<path>` `` for SQL, a backtick in the path doubled as SQL escapes it."""
    return "delta.`{}`".format(path.replace("`", "``"))


def table_properties(spark: SparkSession, path: str) -> dict[str, str]:
    """The table's properties from its metadata alone: no Spark job (``DESCRIBE DETAIL``
    computes the file count and size from the whole log, three jobs)."""
    rows = spark.sql(f"SHOW TBLPROPERTIES {path_identifier(path)}").collect()
    return {row["key"]: row["value"] for row in rows}


def constraint_property(name: str) -> str:
    """Where Delta keeps a CHECK constraint: a table property, its name in lower case (as
    ADD CONSTRAINT stores it)."""
    return f"delta.constraints.{name.lower()}"


def _set_stats_columns(
    spark: SparkSession, spec: TableSpec, path: str, properties: dict[str, str]
) -> None:
    """A table created before its spec named the columns to keep statistics for gets them
    (one commit; the files written before keep the statistics they have)."""
    wanted = ",".join(spec.stats_columns)
    if spec.stats_columns and properties.get(STATS_COLUMNS_PROPERTY) != wanted:
        log.info("table %s: file statistics from now on only for %s", spec.name, wanted)
        _alter_unless_done(
            spark,
            f"ALTER TABLE {path_identifier(path)} SET TBLPROPERTIES "
            f"({sql_string(STATS_COLUMNS_PROPERTY)} = {sql_string(wanted)})",
            lambda: table_properties(spark, path).get(STATS_COLUMNS_PROPERTY) == wanted,
        )


def _add_new_columns(spark: SparkSession, spec: TableSpec, path: str) -> None:
    """Columns a newer custseg declares are added to a table written by an older one.

    Only nullable columns can be added (old rows hold null in them); a new non-null column
    needs a migration of its own, so it is refused with the table's name.
    """
    present = set(spark.read.format("delta").load(path).columns)
    new = [c for c in spec.columns if c.name not in present]
    if not new:
        return
    required = [c.name for c in new if not c.nullable]
    if required:
        raise SchemaMismatchError(
            f"table {spec.name} at {path} lacks non-null column(s) {', '.join(required)}"
        )
    added = ", ".join(
        f"`{c.name}` {column_type(c).simpleString()} COMMENT {sql_string(c.comment)}" for c in new
    )
    _alter_unless_done(
        spark,
        f"ALTER TABLE {path_identifier(path)} ADD COLUMNS ({added})",
        lambda: {c.name for c in new} <= set(spark.read.format("delta").load(path).columns),
    )


def _alter_unless_done(spark: SparkSession, statement: str, done) -> None:
    """Runs an ALTER TABLE; a failure is only an error when what it was to do is still
    undone (another run may have added the same column or constraint first)."""
    try:
        spark.sql(statement)
    except Exception:
        if not done():
            raise


def ensure_table(spark: SparkSession, spec: TableSpec, path: str) -> None:
    """Creates the table with its declared schema, comments, properties and constraints,
    all in the creating commit. An uncommitted log left by a killed creation is cleared.

    Older custseg versions added each constraint in a commit of its own after the creation,
    and set no statistics columns, so on an existing table of a spec with constraints or
    statistics columns the table's properties are read (one small log read) and what is
    missing is added.
    """
    if not table_exists(spark, path) and _create_table(spark, spec, path):
        return
    _add_new_columns(spark, spec, path)
    if not spec.constraints and not spec.stats_columns:
        return

    present = table_properties(spark, path)
    _set_stats_columns(spark, spec, path, present)
    for name, expression in spec.constraints:
        key = constraint_property(name)
        if key not in present:
            _alter_unless_done(
                spark,
                f"ALTER TABLE {path_identifier(path)} ADD CONSTRAINT {name} CHECK ({expression})",
                lambda key=key: key in table_properties(spark, path),
            )


# Conflicts Delta's optimistic concurrency reports when another run committed to the same
# table first (two runs of different as_of, two creations of one table). Every custseg
# write replaces a slice named by a predicate (or appends a run record), so writing again
# on the new table version gives the result the write would have had alone.
_CONCURRENT_COMMITS = (
    ConcurrentAppendException,
    ConcurrentDeleteDeleteException,
    ConcurrentDeleteReadException,
    ConcurrentTransactionException,
    ConcurrentWriteException,
    MetadataChangedException,
    ProtocolChangedException,
)
WRITE_ATTEMPTS = 5


def in_write_order(frame: DataFrame, spec: TableSpec) -> DataFrame:
    """Rows range-partitioned by ``spec.sorted_by``, each task's rows sorted by the partition
    columns then those: each task writes one file per partition value, and the files cover
    disjoint key ranges. The partition columns lead the sort because the writer needs its
    rows grouped by them; with that order already in place it adds no sort of its own.
    The range partitioning first samples the whole input in a job of its own, so an
    expensive input should be cached by the caller.

    A ``single_file`` table's rows go to one task (``coalesce(1)``, no shuffle): one file
    per partition value written, the same rows."""
    if spec.single_file:
        return frame.coalesce(1)
    if not spec.sorted_by:
        return frame
    return frame.repartitionByRange(*spec.sorted_by).sortWithinPartitions(
        *spec.partition_by, *spec.sorted_by
    )


def write_table(
    spark: SparkSession,
    warehouse_root: str,
    spec: TableSpec,
    df: DataFrame,
    *,
    mode: str = "overwrite",
    replace_where: str | None = None,
    replace_schema: bool = False,
    optimize_write: bool | None = None,
) -> None:
    """The one way stages write: declared schema, then append, overwrite or replaceWhere.

    ``replace_where`` overwrites exactly the rows matching the predicate in one atomic
    commit, so re-running a slice (an as_of, a set of source files) is idempotent and a
    killed run leaves the previous version in place. A commit that loses a race with
    another run's commit to the same table is tried again, up to ``WRITE_ATTEMPTS`` times.
    ``replace_schema`` is for tables rewritten in full (snapshots, ``layer2_io.table_upgrades``): when
    a table written by an older custseg has other columns or types, the overwrite also
    replaces its schema (with the column comments), in the same single commit.
    ``optimize_write`` overrides the spec's for this write (a writer that knows its tasks
    already hold one partition value each needs no shuffle by it).
    """
    path = table_location(warehouse_root, spec.name)
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            outdated = (
                replace_schema and table_exists(spark, path) and schema_differs(spark, spec, path)
            )
            if outdated:
                writer = with_comments(in_write_order(conform(df, spec), spec), spec)
                writer = writer.write.format("delta").mode(mode)
                # one commit: the statistics columns come with the next write (ensure_table)
                writer = writer.option("overwriteSchema", "true")
                if spec.partition_by:  # else Delta drops the partitioning with the old schema
                    writer = writer.partitionBy(*spec.partition_by)
            else:
                ensure_table(spark, spec, path)
                writer = in_write_order(conform(df, spec), spec).write.format("delta").mode(mode)
            if replace_where is not None:
                writer = writer.option("replaceWhere", replace_where)
            if spec.optimize_write if optimize_write is None else optimize_write:
                writer = writer.option("optimizeWrite", "true")
            writer.save(path)
            return
        except _CONCURRENT_COMMITS as error:
            if attempt == WRITE_ATTEMPTS:
                raise
            log.warning(
                "table %s: another run committed first (%s); writing again, attempt %d of %d",
                spec.name,
                type(error).__name__,
                attempt + 1,
                WRITE_ATTEMPTS,
            )
            time.sleep(0.5 * attempt)


def read_table(spark: SparkSession, warehouse_root: str, name: str) -> DataFrame:
    path = table_location(warehouse_root, name)
    if not table_exists(spark, path):
        raise TableNotFoundError(
            f"table '{name}' not found at {path}: run the stage that writes it first"
        )
    return spark.read.format("delta").load(path)


def maybe_read_table(spark: SparkSession, warehouse_root: str, name: str) -> DataFrame | None:
    path = table_location(warehouse_root, name)
    return spark.read.format("delta").load(path) if table_exists(spark, path) else None


def register_in_catalog(
    spark: SparkSession, warehouse_root: str, names: Iterable[str] | None = None
) -> list[str]:
    """Registers existing tables as ``custseg.<name>`` pointing at their paths.

    A name registered earlier (possibly for another warehouse) is dropped first: for an
    external table that removes only the catalog entry, never the data.
    """
    database_location = table_location(warehouse_root, f"_catalog/{DATABASE}.db")
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {DATABASE} LOCATION {sql_string(database_location)}")
    registered = []
    for name in names or ALL_TABLES:
        path = table_location(warehouse_root, name)
        if table_exists(spark, path):
            spark.sql(f"DROP TABLE IF EXISTS {DATABASE}.{name}")
            spark.sql(f"CREATE TABLE {DATABASE}.{name} USING DELTA LOCATION {sql_string(path)}")
            registered.append(name)
    return registered


def sql_string(value: str) -> str:
    """A SQL string literal (for replaceWhere predicates on file names and dates)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclasses.dataclass(frozen=True)
class AsOfSlice:
    """The rows of one ``as_of``: the slice a stage replaces in a table partitioned by it,
    and reads back. ``predicate`` is the SQL text (``as_of = '2024-01-31'``, the date in
    ISO form) for ``write_table(replace_where=...)``; ``filter`` the same condition as a
    Column for ``where``/``filter``."""

    as_of: dt.date

    @property
    def predicate(self) -> str:
        return f"{AS_OF} = {sql_string(self.as_of.isoformat())}"

    @property
    def filter(self) -> Column:
        return F.col(AS_OF) == F.lit(self.as_of)


def table_file_count(spark: SparkSession, path: str) -> int:
    """Data files in the table's current version (from the Delta log, no listing)."""
    return int(DeltaTable.forPath(spark, path).detail().first()["numFiles"])


def optimize_table(spark: SparkSession, path: str) -> dict[str, int]:
    """Compacts small files. The replaced files stay on disk for time travel until a VACUUM
    (an operator's schedule, not a job step) removes them once older than
    ``delta.deletedFileRetentionDuration``. Returns file counts before/after.
    """
    before = table_file_count(spark, path)
    DeltaTable.forPath(spark, path).optimize().executeCompaction()
    return {"files_before": before, "files_after": table_file_count(spark, path)}
