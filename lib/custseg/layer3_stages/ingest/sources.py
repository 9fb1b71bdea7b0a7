"""Finding and reading raw input files (CSV, Parquet) or a Delta table: the transactions
of ``input`` and the customer profiles of ``input.profiles``, by the same code.

Every raw column is read as a string and mapped to its canonical name by the header of
*its own file*: Spark's CSV reader otherwise applies the first file's header to every
file by position, which would silently shift values when a month's export has its
columns in another order.
"""

from __future__ import annotations

import csv
import dataclasses
import re

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DateType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from custseg.layer1_core.config import (
    CANONICAL_COLUMNS,
    PROFILE_COLUMNS,
    InputSettings,
    ProfileSettings,
)
from custseg.layer2_io.locations import file_system, hadoop_path

Source = InputSettings | ProfileSettings

CORRUPT_COLUMN = "_corrupt_record"
SOURCE_FILE = "source_file"
TYPED_TIME_COLUMN = "_purchase_time_typed"
# Bookkeeping columns read with every row: the line's identity over all its columns (two
# 64-bit hashes) and where it sits in its file (the row's order in its split, and the split).
LINE_HASH_COLUMNS = ("_line_hash_a", "_line_hash_b")
SCAN_ORDER = "_scan_order"
BLOCK_START = "_block_start"
_GLOB_CHARACTERS = re.compile(r"([\\\[\]{}*?])")
# A profile attribute's raw text is read into this column, beside the canonical ones.
ATTRIBUTE_PREFIX = "profile_"


class SourceError(ValueError):
    """Input that cannot be read as configured; the message names the file and columns."""


@dataclasses.dataclass(frozen=True)
class SourceFile:
    """A file as Hadoop names it (``file:/data/a b.csv``) and its change fingerprint."""

    path: str
    fingerprint: str


def _config_key(settings: Source) -> str:
    """Where the source is configured, as its messages name it."""
    return "input.profiles" if isinstance(settings, ProfileSettings) else "input"


def list_source_files(spark: SparkSession, settings: Source) -> list[SourceFile]:
    """Data files under the source's path (``input.path`` or ``input.profiles.path``: a
    file, folder or glob) with a change fingerprint.

    The fingerprint (size and modification time, as incremental file loaders use) decides
    whether a file was ingested before in this exact version. A Delta input is one source
    whose fingerprint is its table version.
    """
    where = f"{_config_key(settings)}.path {settings.path}"
    if settings.format == "delta":
        from delta.tables import DeltaTable

        if not DeltaTable.isDeltaTable(spark, settings.path):
            raise SourceError(f"{where} is not a Delta table")
        version = DeltaTable.forPath(spark, settings.path).history(1).first()["version"]
        return [SourceFile(settings.path, f"delta-version:{version}")]
    fs, hpath = file_system(spark, settings.path), hadoop_path(spark, settings.path)
    statuses = _matching_statuses(fs, hpath, where)
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
        raise SourceError(f"no {settings.format} files found at {where}")
    return sorted(found, key=lambda f: f.path)


def _matching_statuses(fs, hpath, where: str) -> list:
    """The file or folder named by the path if it exists (a name such as
    ``sales[2010].csv`` is itself, never a pattern), else what it matches as a glob;
    ``where`` names the setting and its value in messages."""
    if fs.exists(hpath):
        return [fs.getFileStatus(hpath)]
    try:
        return list(fs.globStatus(hpath) or [])
    except Exception as error:  # noqa: BLE001 - Hadoop refuses a malformed pattern
        raise SourceError(f"{where} is not a valid pattern: {_java_reason(error)}") from None


def literal_path(path: str) -> str:
    """``path`` with Hadoop's glob characters escaped, so a file named ``sales[2010].csv``
    is read as itself: Spark treats every path it loads as a glob pattern."""
    return _GLOB_CHARACTERS.sub(r"\\\1", path)


def _hidden(path: str) -> bool:
    return any(part.startswith(("_", ".")) for part in path.split("/")[-1:])


def _source_file(status) -> SourceFile:
    return SourceFile(
        status.getPath().toString(), f"size:{status.getLen()};mtime:{status.getModificationTime()}"
    )


def read_csv_header(spark: SparkSession, path: str, settings: Source) -> list[str]:
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


def _csv_reader(spark: SparkSession, settings: Source, schema: StructType):
    options = settings.csv
    return (
        spark.read.format("csv")
        .schema(schema)
        .option("header", str(options.header).lower())
        .options(**options.spark_format_options())
        .option("multiLine", str(options.multiline).lower())
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT_COLUMN)
        .option("enforceSchema", "true")
    )


def required_source_columns(settings: Source) -> dict[str, str]:
    """canonical name -> source column, for every mapped canonical column (and for a
    profile source every attribute, as ``profile_<attribute>``)."""
    mapped = {canonical: source for canonical, source in settings.columns.items() if source}
    if isinstance(settings, ProfileSettings):
        mapped.update({ATTRIBUTE_PREFIX + name: name for name in settings.attributes})
    return mapped


def canonical_names(settings: Source) -> tuple[str, ...]:
    """The text columns every row of the source has, mapped or not, in order."""
    if isinstance(settings, ProfileSettings):
        return PROFILE_COLUMNS + tuple(ATTRIBUTE_PREFIX + name for name in settings.attributes)
    return CANONICAL_COLUMNS


def _check_columns(present: list[str], settings: Source, where: str) -> None:
    wanted = required_source_columns(settings)
    missing = [
        f"{source} (for {canonical})"
        for canonical, source in wanted.items()
        if source not in present
    ]
    if missing:
        key = _config_key(settings)
        attributes = f", {key}.attributes" if isinstance(settings, ProfileSettings) else ""
        raise SourceError(
            f"{where}: missing column(s) {', '.join(missing)}; {header_hint(present)}"
            f" (check {key}.columns{attributes} and {key}.csv.delimiter)"
        )


def header_hint(present: list[str]) -> str:
    """What the header held, without its values: a file without a header has a data line
    there, raw customer id included, and messages reach consoles and logs."""
    if len(present) == 1:
        for delimiter, name in ((";", "';'"), ("\t", "tabs"), ("|", "'|'")):
            if delimiter in present[0]:
                return f"its header is one column that looks delimited by {name}"
    return f"its header has {len(present)} column(s)"


def read_sources(spark: SparkSession, files: list[SourceFile], settings: Source) -> DataFrame:
    """All rows of ``files`` with canonical string columns, ``source_file``, corrupt text
    and the bookkeeping columns (line hashes, scan order, split start).

    Columns not mapped come back as nulls so downstream code has one shape. A Parquet or
    Delta timestamp column stays a timestamp (no lossy round trip through text). Files
    are read in groups of one header (CSV) or one schema (Parquet): each group's mapped
    columns are cast to text, so files may order, add or type their columns differently.
    """
    if settings.format == "delta":
        frame = spark.read.format("delta").load(settings.path)
        _check_columns(frame.columns, settings, f"{_config_key(settings)} {settings.path}")
        return _canonical(frame, settings, corrupt=False, table_path=settings.path)
    groups = _csv_groups(spark, files, settings) if settings.format == "csv" else None
    groups = groups if groups is not None else _parquet_groups(spark, files, settings)
    frames = [
        _canonical(reader.load([literal_path(path) for path in paths]), settings, corrupt=corrupt)
        for reader, paths, corrupt in groups
    ]
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return result


def _csv_groups(spark: SparkSession, files: list[SourceFile], settings: Source) -> list:
    """(reader, paths, has corrupt column) per distinct header; files are checked first."""
    by_header: dict[tuple, list[str]] = {}
    for source in files:
        header = _file_header(spark, source.path, settings) if settings.csv.header else []
        if settings.csv.header:
            if not header:
                raise SourceError(f"file {source.path} is empty: not even a header line")
            _check_columns(header, settings, f"file {source.path}")
        by_header.setdefault(tuple(header), []).append(source.path)
    groups = []
    for header, paths in by_header.items():
        schema = StructType(
            [StructField(name, StringType()) for name in header]
            + [StructField(CORRUPT_COLUMN, StringType())]
        )
        groups.append((_csv_reader(spark, settings, schema), paths, True))
    return groups


def _file_header(spark: SparkSession, path: str, settings: Source) -> list[str]:
    try:
        return read_csv_header(spark, path, settings)
    except Exception as error:  # noqa: BLE001 - an unreadable first line is a file error
        raise SourceError(f"file {path} cannot be read: {_java_reason(error)}") from None


def _parquet_groups(spark: SparkSession, files: list[SourceFile], settings: Source) -> list:
    """(reader, paths, False) per distinct Parquet schema, read from each file's footer on
    the driver (no job); a file lacking a mapped column is refused by name."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    by_schema: dict[str, list[str]] = {}
    for source in files:
        try:
            input_file = jvm.org.apache.parquet.hadoop.util.HadoopInputFile.fromPath(
                hadoop_path(spark, source.path), conf
            )
            reader = jvm.org.apache.parquet.hadoop.ParquetFileReader.open(input_file)
            try:
                schema = reader.getFooter().getFileMetaData().getSchema()
            finally:
                reader.close()
        except Exception as error:  # noqa: BLE001 - any unreadable footer is a file error
            raise SourceError(
                f"file {source.path} cannot be read as Parquet: {_java_reason(error)}"
            ) from None
        names = [schema.getFieldName(i) for i in range(schema.getFieldCount())]
        _check_columns(names, settings, f"file {source.path}")
        by_schema.setdefault(schema.toString(), []).append(source.path)
    return [(spark.read.format("parquet"), paths, False) for paths in by_schema.values()]


def _java_reason(error: Exception) -> str:
    """The innermost Java message of a Py4J error, on one line."""
    text = str(getattr(error, "java_exception", None) or error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    causes = [line for line in lines if line.startswith("Caused by:")]
    reason = (causes[-1] if causes else lines[0] if lines else repr(error)).removeprefix(
        "Caused by: "
    )
    return reason[:300]


_FAILED_READ = re.compile(r"Encountered error while reading file (\S+?)\.?(?:\s|$)")


def read_failure(error: Exception) -> SourceError | None:
    """A SourceError naming the file when ``error`` is Spark failing to read a source file
    (a truncated or corrupt compressed file, a file gone since listing); else None."""
    text = str(error)
    match = _FAILED_READ.search(text)
    if match is None:
        return None
    path = _hadoop_path_from_uri(match.group(1))
    causes = [
        line.strip().removeprefix("Caused by: ")
        for line in text.splitlines()
        if line.strip().startswith("Caused by:") and "FAILED_READ_FILE" not in line
    ]
    reason = causes[-1] if causes else "unreadable"
    return SourceError(f"file {path} cannot be read: {reason[:300]}")


def _hadoop_path_from_uri(uri: str) -> str:
    from urllib.parse import unquote

    return unquote(uri).replace("file:///", "file:/", 1)


def _hadoop_path_string(file_uri: Column) -> Column:
    """Spark's URL-encoded ``_metadata.file_path`` in Hadoop's decoded form.

    Rows, ``ingest_files`` and the replaceWhere predicate must name a file identically,
    also for names with spaces. ``url_decode`` is form decoding ('+' means space), so a
    literal '+' is escaped first.
    """
    return F.url_decode(F.replace(file_uri, F.lit("+"), F.lit("%2B")))


def _typed_time(settings: Source) -> tuple[str, tuple[type, ...]]:
    """The source's time column and the source types kept typed in TYPED_TIME_COLUMN (a
    profile's signup day may well be stored as a date)."""
    if isinstance(settings, ProfileSettings):
        return "signup_date", (TimestampType, DateType)
    return "purchase_time", (TimestampType,)


def _canonical(
    frame: DataFrame, settings: Source, corrupt: bool, table_path: str | None = None
) -> DataFrame:
    """One shape for every source: canonical string columns plus bookkeeping columns."""
    mapping = required_source_columns(settings)
    time_column, time_types = _typed_time(settings)
    selected = []
    typed_time = None
    for canonical in canonical_names(settings):
        source = mapping.get(canonical)
        if source is None:
            selected.append(F.lit(None).cast(StringType()).alias(canonical))
        elif canonical == time_column and isinstance(frame.schema[source].dataType, time_types):
            typed_time = F.col(f"`{source}`")
            if isinstance(frame.schema[source].dataType, DateType):
                typed_time = typed_time.cast(TimestampType())
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
        if table_path is None
        else F.lit(table_path)
    )
    selected.append(source_file.alias(SOURCE_FILE))
    selected.append(
        (F.col(CORRUPT_COLUMN) if corrupt else F.lit(None).cast(StringType())).alias(CORRUPT_COLUMN)
    )
    selected += _position_columns(frame, source_file, table_path is None)
    return frame.select(selected)


def _position_columns(frame: DataFrame, source_file: Column, is_file: bool) -> list[Column]:
    """The line's identity and position, computed straight after the scan.

    Identity: two 64-bit hashes of the file name and every column of the line, mapped or
    not, each with a null flag (Spark's hash skips nulls, so ``a,,`` and ``,a,`` would
    otherwise agree); 128 bits make two different lines of a file agreeing by chance
    vanishingly unlikely (about 1e-20 at 100 million lines). Position: the row's order in
    its split and the split's start byte, from which ``source_row`` is derived.
    """
    fields = [source_file]
    for field in frame.schema.fields:
        value = F.col(f"`{field.name}`")
        # xxhash64 takes any type but maps: a map is hashed as its JSON text
        fields += [
            value.isNull(),
            F.to_json(value) if isinstance(field.dataType, MapType) else value,
        ]
    return [
        F.xxhash64(*fields).alias(LINE_HASH_COLUMNS[0]),
        F.xxhash64(F.lit("custseg line identity"), *fields).alias(LINE_HASH_COLUMNS[1]),
        F.monotonically_increasing_id().alias(SCAN_ORDER),
        (F.col("_metadata.file_block_start") if is_file else F.lit(None).cast("long")).alias(
            BLOCK_START
        ),
    ]
