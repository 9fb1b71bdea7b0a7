"""The one place that builds a SparkSession.

Delta's JVM side is not on PyPI: it comes from Maven Central as
``io.delta:delta-spark_<spark minor>_2.13:<delta version>``. ``fetch_delta_jars`` resolves
it once through Spark's own Ivy into a cache folder; afterwards every session puts the cached
jar files on ``spark.jars``, so no run after set-up needs the network. Under spark-submit
(or any pre-configured launcher) the settings spark-submit made win: we only add what is
missing.
"""

from __future__ import annotations

import contextlib
import glob
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

from custseg.layer1_core.config import Settings
from custseg.layer2_io import sizing

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
# Caches of row- or customer-level frames (every line at ingest, every customer's vector when
# clustering) go straight to local disk, written batch by batch: in memory, a partition's
# block is unrolled whole on the heap first, and at 100M rows (17.7 million customers in 8
# fixed partitions) that ran the 4 GB local JVM out of heap. The OS page cache keeps re-reads
# fast, and a cached frame is deserialised on every read either way.
ROW_CACHE = StorageLevel.DISK_ONLY

# Spark's default pattern plus the hash key's variable (CUSTSEG_HASH_KEY or any *HASH_KEY):
# a property or environment entry whose name matches is shown redacted in the UI and the
# event log (e.g. spark.yarn.appMasterEnv.CUSTSEG_HASH_KEY on YARN cluster mode).
REDACTION_REGEX = "(?i)secret|password|token|access[.]?key|hash[._]?key"


@contextlib.contextmanager
def cached(frame: DataFrame, level: StorageLevel | None = None) -> Iterator[DataFrame]:
    """``frame`` persisted for the block and unpersisted when it ends, on every path: the one
    way a frame is cached for a while. ``level`` defaults to Spark's own for DataFrames
    (memory, spilling to disk); row- and customer-level frames pass ``ROW_CACHE``. Nothing
    is computed here: the frame materialises on the first action inside the block."""
    persisted = frame.persist() if level is None else frame.persist(level)
    try:
        yield persisted
    finally:
        persisted.unpersist()


def delta_maven_coordinate() -> str:
    """The Maven artefact matching the installed pyspark and delta-spark pair."""
    from importlib.metadata import version

    import pyspark

    spark_minor = ".".join(pyspark.__version__.split(".")[:2])
    return f"io.delta:delta-spark_{spark_minor}_2.13:{version('delta-spark')}"


def jar_cache_dir() -> Path:
    """One Ivy folder per Delta artefact, outside the repo so fresh clones share it.

    ``CUSTSEG_JAR_CACHE`` moves the root (default ``~/.cache/custseg``).
    """
    root = Path(os.environ.get("CUSTSEG_JAR_CACHE") or Path.home() / ".cache" / "custseg")
    _, artifact, version = delta_maven_coordinate().split(":")
    return root / f"ivy-{artifact}-{version}"


def cached_delta_jars() -> list[str]:
    """The jar files (Delta and its dependencies) once resolution has completed, else []."""
    _, artifact, version = delta_maven_coordinate().split(":")
    jars_dir = jar_cache_dir() / "jars"
    if not (jars_dir / f"io.delta_{artifact}-{version}.jar").exists():
        return []
    return sorted(glob.glob(str(jars_dir / "*.jar")))


def launched_by_spark_submit() -> bool:
    """spark-submit starts the JVM first and hands Python a gateway port."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def starts_jvm() -> bool:
    """Whether ``get_spark`` will launch the driver JVM itself: not under spark-submit, and
    not when this process has a session already (tests, notebooks)."""
    return not launched_by_spark_submit() and SparkSession.getActiveSession() is None


def _local_defaults(settings: Settings) -> dict[str, str]:
    spark = settings.spark
    partitions = sizing.resolved_shuffle_partitions(spark.shuffle_partitions, spark.master) or 50
    conf = {
        "spark.master": spark.master,
        "spark.driver.memory": sizing.resolved_driver_memory(spark.driver_memory, spark.master),
        "spark.ui.enabled": str(spark.ui).lower(),
        "spark.ui.showConsoleProgress": "false",
        "spark.redaction.regex": REDACTION_REGEX,
        # Delta rebuilds a table's file list from its log in this many partitions (default
        # 50) for every read, replaceWhere and conflict check of a new table version: on a
        # laptop that is dozens of tiny tasks for every write of a small table. The local
        # logs here hold at most a few thousand actions (the 16M benchmark's transactions:
        # one file per month and write), which one task replays.
        "spark.databricks.delta.snapshotPartitions": (
            "1" if sizing.local_cores(spark.master) else str(partitions)
        ),
    }
    if sizing.local_cores(spark.master) is not None:
        # Pins the reduce side of MLlib's un-numbered shuffles to the fits' fixed partitions,
        # so BisectingKMeans fits on fewer partitions, same result (models.fit_clustering).
        conf["spark.default.parallelism"] = str(settings.clustering.partitions)
    return conf


def _always(settings: Settings) -> dict[str, str]:
    """Settings the project's results depend on, and the cache format every stage's costs
    depend on; applied under spark-submit too."""
    return {
        "spark.sql.extensions": DELTA_EXTENSION,
        "spark.sql.catalog.spark_catalog": DELTA_CATALOG,
        "spark.sql.session.timeZone": "UTC",
        # Delta: small batch job defaults; nothing in the plan or UI carries the hash key.
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        # Pure cost in open-source Delta 4.4: every commit of a table under 50 files lists
        # them in its .crc (a job at each creation), and nothing reads that list back.
        "spark.databricks.delta.allFilesInCrc.enabled": "false",
        "spark.sql.legacy.timeParserPolicy": "CORRECTED",
        # Cached frames stored as written, not run through Spark's columnar compression,
        # which tries every encoding on every column of every batch: caching ingest's
        # lines cost as much as reading, typing and keying them (5.5 million lines: 37 s
        # against 25 s uncompressed; re-reads take the same time). The caches are larger
        # on disk and in memory (docs/performance.md, "Changes"). Being one of these
        # settings, it wins over spark-submit's --conf; a config's spark.conf overrides it.
        "spark.sql.inMemoryColumnarStorage.compressed": "false",
    }


def session_options(settings: Settings, app_name: str) -> dict[str, str]:
    """Every option the session is built with, as one dict: the builder and a gateway
    launched ahead of it (``launch_logged_gateway``) must be given the same ones."""
    options = {"spark.app.name": app_name}
    if not launched_by_spark_submit():
        options.update(_local_defaults(settings))
        jars = cached_delta_jars()
        if jars:
            options["spark.jars"] = ",".join(jars)
        else:
            options["spark.jars.packages"] = delta_maven_coordinate()
            options["spark.jars.ivy"] = str(jar_cache_dir())
    for key, value in {**_always(settings), **settings.spark.conf}.items():
        options[key] = str(value)
    return options


def launch_logged_gateway(options: dict[str, str], log_file: Path) -> bool:
    """Starts the driver JVM with its stdout and stderr appended to ``log_file``.

    Log4j's console appender, native libraries (netlib's JNI notice, Hadoop's native-code
    warning) and threads dying at shutdown all write to the JVM's file descriptor 2, which
    no log4j setting reaches; only the launch can send it elsewhere. pyspark's
    ``launch_gateway`` takes ``popen_kwargs`` for this, and ``SparkContext`` uses a gateway
    already there. Under spark-submit the JVM exists already and nothing is done (False).
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    if launched_by_spark_submit():
        return False
    with SparkContext._lock:
        if SparkContext._gateway is not None:
            return False
        log_file.parent.mkdir(parents=True, exist_ok=True)
        conf = SparkConf(loadDefaults=False).setAll(list(options.items()))
        with open(log_file, "ab") as out:
            gateway = launch_gateway(conf, popen_kwargs={"stdout": out, "stderr": out})
        SparkContext._gateway = gateway
        SparkContext._jvm = gateway.jvm
    return True


def get_spark(
    settings: Settings, app_name: str = "custseg", log_file: Path | None = None
) -> SparkSession:
    """Returns the one SparkSession, with Delta configured.

    In local mode the defaults suit a 2-core laptop; under spark-submit, master, memory and
    jars come from spark-submit and are left alone. With ``log_file`` the JVM's own output
    goes there instead of the console (local launches only), and keeps its warnings.
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if not launched_by_spark_submit():
        # Python workers must run this interpreter (the venv that has custseg, pyarrow and
        # pandas), not whatever python3 is first on PATH; pyspark reads only the variable.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    options = session_options(settings, app_name)
    logged = log_file is not None and launch_logged_gateway(options, log_file)
    builder = SparkSession.builder
    for key, value in options.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN" if logged else "ERROR")
    _set_shuffle_partitions(spark, settings)
    return spark


# The JVM loggers that print a failed task's stack trace on the driver's console (in local
# mode the executor runs in the driver's JVM).
_TASK_FAILURE_LOGGERS = (
    "org.apache.spark.executor.Executor",
    "org.apache.spark.scheduler.TaskSetManager",
)


@contextlib.contextmanager
def task_failures_unlogged(spark: SparkSession) -> Iterator[None]:
    """Inside, a failing task does not print its Java stack trace: for a failure the caller
    turns into one line of its own (the exception still carries the trace, which the CLI
    prints with --verbose). The loggers' levels come back after."""
    jvm = spark.sparkContext._jvm
    configurator = jvm.org.apache.logging.log4j.core.config.Configurator
    manager = jvm.org.apache.logging.log4j.LogManager
    before = {name: manager.getLogger(name).getLevel() for name in _TASK_FAILURE_LOGGERS}
    for name in _TASK_FAILURE_LOGGERS:
        configurator.setLevel(name, jvm.org.apache.logging.log4j.Level.OFF)
    try:
        yield
    finally:
        for name, level in before.items():
            configurator.setLevel(name, level)


def _set_shuffle_partitions(spark: SparkSession, settings: Settings) -> None:
    """A number in the config wins; ``auto`` yields to a value given to spark-submit or in
    ``spark.conf``, else it is four per local core (on a cluster Spark's own value stays)."""
    configured = settings.spark.shuffle_partitions
    given = "spark.sql.shuffle.partitions" in settings.spark.conf or (
        spark.sparkContext.getConf().contains("spark.sql.shuffle.partitions")
    )
    if configured == sizing.AUTO and given:
        return
    partitions = sizing.resolved_shuffle_partitions(configured, spark.sparkContext.master)
    if partitions is not None:
        spark.conf.set("spark.sql.shuffle.partitions", partitions)


def fetch_delta_jars() -> list[str]:
    """Resolves Delta's jars from Maven Central into the cache (once) and lists them."""
    jars = cached_delta_jars()
    if jars:
        return jars
    cache = jar_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    spark = (
        SparkSession.builder.master("local[1]")
        .appName("custseg-fetch-jars")
        .config("spark.jars.packages", delta_maven_coordinate())
        .config("spark.jars.ivy", str(cache))
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.stop()
    jars = cached_delta_jars()
    if not jars:
        raise RuntimeError(f"Delta jars were not found in {cache / 'jars'} after resolution")
    return jars


if __name__ == "__main__":  # python -m custseg.layer2_io.spark: used by scripts/setup.sh
    found = fetch_delta_jars()
    print("\n".join(found), file=sys.stderr)
