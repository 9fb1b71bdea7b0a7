"""Finding and reading raw transaction files (CSV, Parquet) or a Delta table.

Every raw column is read as a string and mapped to its canonical name by the header of
*its own file*: Spark's CSV reader otherwise applies the first file's header to every
file by position, which would silently shift values when a month's export has its
columns in another order.
"""

from __future__ import annotations

import csv
import dataclasses

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType, TimestampType

from custseg.config import InputSettings
from custseg.locations import file_system, hadoop_path

CORRUPT_COLUMN = "_corrupt_record"
SOURCE_FILE = "source_file"
TYPED_TIME_COLUMN = "_purchase_time_typed"


class SourceError(ValueError):
    """Input that cannot be read as configured; the message names the file and columns."""


@dataclasses.dataclass(frozen=True)
class SourceFile:
    """A file as Hadoop names it (``file:/data/a b.csv``) and its change fingerprint."""

    path: str
    fingerprint: str


def list_source_files(spark: SparkSession, settings: InputSettings) -> list[SourceFile]:
    """Data files under ``input.path`` (file, folder or glob) with a change fingerprint.

    The fingerprint (size and modification time, as incremental file loaders use) decides
    whether a file was ingested before in this exact version. A Delta input is one source
    whose fingerprint is its table version.
    """
    if settings.format == "delta":
        from delta.tables import DeltaTable

        if not DeltaTable.isDeltaTable(spark, settings.path):
            raise SourceError(f"input.path {settings.path} is not a Delta table")
        version = DeltaTable.forPath(spark, settings.path).history(1).first()["version"]
        return [SourceFile(settings.path, f"delta-version:{version}")]
    fs, hpath = file_system(spark, settings.path), hadoop_path(spark, settings.path)
    statuses = fs.globStatus(hpath) or []
    found: list[SourceFile] = []
    suffixes = {"csv": (".csv", ".csv.gz", ".txt", ".tsv", ".csv.bz2"), "parquet": (".parquet",)}
    for status in statuses:
        if status.isDirectory():
            iterator = fs.listFiles(status.getPath(), True)
            while iterator.hasNext():
                found.append(_source_file(iterator.next()))
        else:
            found.append(_source_file(status))
    found = [
        f
        for f in found
        if not _hidden(f.path) and f.path.lower().endswith(suffixes[settings.format])
    ]
    if not found:
        raise SourceError(f"no {settings.format} files found at input.path {settings.path}")
    return sorted(found, key=lambda f: f.path)


def _hidden(path: str) -> bool:
    return any(part.startswith(("_", ".")) for part in path.split("/")[-1:])


def _source_file(status) -> SourceFile:
    return SourceFile(
        status.getPath().toString(), f"size:{status.getLen()};mtime:{status.getModificationTime()}"
    )


def read_csv_header(spark: SparkSession, path: str, settings: InputSettings) -> list[str]:
    """The first line of one file (decompressed if needed), parsed as a CSV header."""
    jvm = spark.sparkContext._jvm
    fs, hpath = file_system(spark, path), hadoop_path(spark, path)
    codec = jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(
        spark.sparkContext._jsc.hadoopConfiguration()
    ).getCodec(hpath)
    stream = fs.open(hpath)
    if codec is not None:
        stream = codec.createInputStream(stream)
    reader = jvm.java.io.BufferedReader(
        jvm.java.io.InputStreamReader(stream, settings.csv.encoding)
    )
    try:
        line = reader.readLine()
    finally:
        reader.close()
    if line is None:
        return []
    line = line.lstrip("\ufeff")
    return next(csv.reader([line], delimiter=settings.csv.delimiter, quotechar=settings.csv.quote))


def _csv_reader(spark: SparkSession, settings: InputSettings, schema: StructType):
    options = settings.csv
    return (
        spark.read.format("csv")
        .schema(schema)
        .option("header", str(options.header).lower())
        .option("sep", options.delimiter)
        .option("quote", options.quote)
        .option("escape", options.escape)
        .option("encoding", options.encoding)
        .option("multiLine", str(options.multiline).lower())
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT_COLUMN)
        .option("enforceSchema", "true")
    )


def required_source_columns(settings: InputSettings) -> dict[str, str]:
    """canonical name -> source column, for every mapped canonical column."""
    return {canonical: source for canonical, source in settings.columns.items() if source}


def _check_columns(present: list[str], settings: InputSettings, where: str) -> None:
    wanted = required_source_columns(settings)
    missing = [
        f"{source} (for {canonical})"
        for canonical, source in wanted.items()
        if source not in present
    ]
    if missing:
        raise SourceError(
            f"{where}: missing column(s) {', '.join(missing)}; found {', '.join(present) or 'no header'}"
            " (check input.columns)"
        )


def read_sources(
    spark: SparkSession, files: list[SourceFile], settings: InputSettings
) -> DataFrame:
    """All rows of ``files`` with canonical string columns, ``source_file`` and corrupt text.

    Columns not mapped come back as nulls so downstream code has one shape. A Parquet or
    Delta timestamp column stays a timestamp (no lossy round trip through text).
    """
    mapping = required_source_columns(settings)
    paths = [f.path for f in files]
    if settings.format == "csv":
        by_header: dict[tuple, list[str]] = {}
        for path in paths:
            header = read_csv_header(spark, path, settings) if settings.csv.header else []
            if settings.csv.header:
                _check_columns(header, settings, f"file {path}")
            by_header.setdefault(tuple(header), []).append(path)
        frames = []
        for header, group in by_header.items():
            schema = StructType(
                [StructField(name, StringType()) for name in header]
                + [StructField(CORRUPT_COLUMN, StringType())]
            )
            frame = _csv_reader(spark, settings, schema).load(group)
            frames.append(_canonical(frame, mapping, corrupt=True))
        result = frames[0]
        for frame in frames[1:]:
            result = result.unionByName(frame)
        return result
    reader = spark.read.format(settings.format)
    frame = reader.load(paths if settings.format == "parquet" else settings.path)
    _check_columns(frame.columns, settings, f"input {settings.path}")
    if settings.format == "delta":
        frame = frame.withColumn("_metadata_path", F.lit(settings.path))
    return _canonical(
        frame,
        mapping,
        corrupt=False,
        source_column=None if settings.format == "parquet" else "_metadata_path",
    )


def _hadoop_path_string(file_uri: Column) -> Column:
    """Spark's URL-encoded ``_metadata.file_path`` in Hadoop's decoded form.

    Rows, ``ingest_files`` and the replaceWhere predicate must name a file identically,
    also for names with spaces. ``url_decode`` is form decoding ('+' means space), so a
    literal '+' is escaped first.
    """
    return F.url_decode(F.replace(file_uri, F.lit("+"), F.lit("%2B")))


def _canonical(
    frame: DataFrame, mapping: dict[str, str], corrupt: bool, source_column: str | None = None
) -> DataFrame:
    """One shape for every source: canonical string columns plus bookkeeping columns."""
    from custseg.config import CANONICAL_COLUMNS

    selected = []
    typed_time = None
    for canonical in CANONICAL_COLUMNS:
        source = mapping.get(canonical)
        if source is None:
            selected.append(F.lit(None).cast(StringType()).alias(canonical))
        elif canonical == "purchase_time" and isinstance(
            frame.schema[source].dataType, TimestampType
        ):
            typed_time = F.col(f"`{source}`")
            selected.append(F.date_format(typed_time, "yyyy-MM-dd HH:mm:ss").alias(canonical))
        else:
            selected.append(F.col(f"`{source}`").cast(StringType()).alias(canonical))
    selected.append(
        (typed_time if typed_time is not None else F.lit(None).cast(TimestampType())).alias(
            TYPED_TIME_COLUMN
        )
    )
    source_file = (
        _hadoop_path_string(F.col("_metadata.file_path"))
        if source_column is None
        else F.col(source_column)
    )
    selected.append(source_file.alias(SOURCE_FILE))
    selected.append(
        (F.col(CORRUPT_COLUMN) if corrupt else F.lit(None).cast(StringType())).alias(CORRUPT_COLUMN)
    )
    return frame.select(selected)
