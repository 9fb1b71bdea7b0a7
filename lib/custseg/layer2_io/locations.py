"""Where the warehouse and the report live, as URIs qualified by Hadoop's FileSystem.

Delta qualifies every table path it is given (``/data/wh`` and ``file:///data/wh`` both
become ``file:/data/wh``) and refuses to create a table whose catalog location is spelled
differently. Qualifying each configured location once, on the driver, before any stage
runs, gives every table, model and report one spelling: plain paths (relative ones against
the working directory), ``file://``, ``hdfs://``, ``s3a://``, ``abfss://``, ``gs://``.
Anything in these locations is then read and written through Spark or the Hadoop
FileSystem API, never with Python file calls. The one exception is reading without a JVM
(``local_path``, ``custseg.layer2_io.delta_log``): so that it can, this module imports no
pyspark (the session is only passed in).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from custseg.layer1_core.config import Settings, SparkSettings
from custseg.layer1_core.config.model import has_scheme

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

PARTIAL = ".partial"


class LocationError(ValueError):
    """A configured location no Hadoop FileSystem on the classpath can reach."""


def hadoop_path(spark: SparkSession, location: str):
    """``location`` as a Hadoop ``Path`` (a py4j object)."""
    return spark.sparkContext._jvm.org.apache.hadoop.fs.Path(location)


def file_system(spark: SparkSession, location: str):
    """The Hadoop FileSystem serving ``location``; a scheme without one is a LocationError."""
    path = hadoop_path(spark, location)
    try:
        return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    except Exception as error:  # noqa: BLE001 - py4j wraps Hadoop's exception
        raise LocationError(
            f"{location}: no Hadoop FileSystem can reach it ({_reason(error)})"
        ) from None


def _reason(error: Exception) -> str:
    """Hadoop's own message (py4j's first line only names the Java call that failed)."""
    java = getattr(error, "java_exception", None)
    text = (java.toString() if java is not None else str(error)).strip()
    return text.splitlines()[0] if text else type(error).__name__


def qualify(spark: SparkSession, location: str, what: str = "location") -> str:
    """``location`` with scheme and authority, as Delta itself would spell it."""
    if not location or not location.strip():
        raise LocationError(f"{what} is empty")
    trimmed = location.rstrip("/") or "/"
    try:
        fs = file_system(spark, trimmed)
    except LocationError as error:
        raise LocationError(f"{what} {error}") from None
    return fs.makeQualified(hadoop_path(spark, trimmed)).toString()


def qualified_settings(spark: SparkSession, settings: Settings) -> Settings:
    """The settings with the warehouse and the report folder qualified (idempotent)."""
    report = settings.report.model_copy(
        update={"path": qualify(spark, settings.report.path, "report.path")}
    )
    return settings.model_copy(
        update={"warehouse": qualify(spark, settings.warehouse, "warehouse"), "report": report}
    )


def publishing_file_system(spark: SparkSession, target: str):
    """The FileSystem that files for users are moved with: on local disks the raw one, so no
    hidden ``.crc`` file appears beside each file a user opens."""
    fs = file_system(spark, target)
    return fs.getRawFileSystem() if fs.getScheme() == "file" else fs


def publish_folder(
    spark: SparkSession, local_folder: Path, target: str, stale_suffix: str = ".png"
) -> list[str]:
    """Copies every file of ``local_folder`` into ``target`` through its FileSystem.

    Files ending in ``stale_suffix`` that ``target`` holds but ``local_folder`` does not are
    removed, so the folder matches what was just written, as are copies a killed run left
    half-way. Each file is copied beside its final name and then renamed over it, so a
    reader never sees half a file (on object stores, where a rename is a copy, the final
    name appears whole but later). Returns the target URIs in the order written.
    """
    fs = publishing_file_system(spark, target)
    folder = hadoop_path(spark, target)
    fs.mkdirs(folder)
    names = sorted(p.name for p in Path(local_folder).iterdir() if p.is_file())
    written = []
    for name in names:
        final = hadoop_path(spark, f"{target.rstrip('/')}/{name}")
        partial = hadoop_path(spark, f"{target.rstrip('/')}/.{name}{PARTIAL}")
        source = hadoop_path(spark, str(Path(local_folder).absolute() / name))
        fs.copyFromLocalFile(False, True, source, partial)
        replace_file(fs, partial, final)
        written.append(final.toString())
    for status in fs.listStatus(folder):
        name = status.getPath().getName()
        stale = name.endswith(stale_suffix) or (name.startswith(".") and name.endswith(PARTIAL))
        if status.isFile() and stale and name not in names:
            fs.delete(status.getPath(), False)
    return written


def replace_file(fs, partial, final) -> None:
    """Renames the finished file ``partial`` over ``final`` (Hadoop paths on ``fs``): a
    reader sees the old file or the new one, never half of one."""
    fs.delete(final, False)
    if not fs.rename(partial, final):
        raise LocationError(f"could not move {partial.toString()} to {final.toString()}")


def display_location(uri: str) -> str:
    """A local file's URI as a plain path (what a terminal or browser opens); others as is."""
    return (
        uri[len("file:") :] if uri.startswith("file:/") and not uri.startswith("file://") else uri
    )


def plain_paths_are_local(spark: SparkSettings) -> bool:
    """Whether a path without a scheme is on the local disk: Hadoop resolves it against
    its default file system, which is local in local mode unless ``spark.conf`` sets
    another (on a cluster it is usually HDFS, reachable only through Spark)."""
    default_fs = str(spark.conf.get("spark.hadoop.fs.defaultFS", "file:///"))
    return spark.master.startswith("local") and default_fs.startswith("file:")


def local_path(location: str, plain_is_local: bool = True) -> str | None:
    """The local file system path of ``location``; None for other schemes (hdfs://, s3a://),
    which only Hadoop inside Spark can reach."""
    if not has_scheme(location):
        return location if plain_is_local else None
    parsed = urlparse(location)
    if parsed.scheme.lower() != "file" or parsed.netloc not in ("", "localhost"):
        return None
    return parsed.path
