"""Plain PySpark doing custseg's ingest, rfm and cluster work on the benchmark's CSV files.

    .venv/bin/python scripts/bench/bench_plain_spark.py --data data/bench/1M \\
        --work data/bench-work/1M-plain --result out.json [--set key=value]...

What a careful notebook author writes, with none of what custseg adds (quarantine, line
numbers, HMAC under a secret key, reconciliation counts, exact quantiles, behaviour
features, model selection, profiles): CSV read with a declared schema, the obvious filters,
one sha2 of a peppered id, a Delta table partitioned by month, one groupBy per customer,
approxQuantile scores, and MLlib KMeans and BisectingKMeans with their defaults for k = 4
and 5. The session is custseg's own (``get_spark`` with the Settings ``bench_custseg.py``
builds), so master, driver memory, shuffle partitions and Delta jars are the same and the
ratio custseg / plain per phase is the price of custseg's extra work, not of its set-up.
``scripts/bench/benchmark.py`` starts it before the other references, in its own process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

from bench_custseg import (
    CLUSTER_MODES,
    peak_rss_mib,
    python_peak_mib,
    reset_peak_rss,
    settings_overrides,
)
from pyspark.ml.clustering import BisectingKMeans, KMeans
from pyspark.ml.feature import StandardScaler, VectorAssembler
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from custseg.layer1_core.config import load_packaged_settings
from custseg.layer2_io.spark import get_spark

FILE_GLOB = "transactions_*.csv"
TIME_FORMAT = "yyyy-MM-dd HH:mm:ss"
# The files write integer ids through a float column now and then ("17850.0"), as pandas
# reads them: a double id makes "17850" and "17850.0" one customer, as custseg does.
SCHEMA = T.StructType(
    [
        T.StructField("customer_id", T.DoubleType()),
        T.StructField("item_id", T.StringType()),
        T.StructField("item_name", T.StringType()),
        T.StructField("unit_price", T.DoubleType()),
        T.StructField("item_count", T.IntegerType()),
        T.StructField("purchase_time", T.TimestampType()),
    ]
)
PEPPER = "custseg-bench-plain-spark-pepper"  # a fixed constant: the reference keeps no secret
RFM = ("recency", "frequency", "monetary")
BINS = 5
RELATIVE_ERROR = 1e-4
CLUSTER_KS = (4, 5)
SEED = 42  # custseg's clustering.seed and the pandas reference's random_state
TABLES = ("transactions", "customer_rfm", "customer_scores", "customer_clusters")


class PhaseClock:
    """Wall seconds of each phase and the JVM's and driver's peaks after it, measured as
    ``bench_custseg.py`` measures custseg's stages (the JVM's VmHWM restarted per phase)."""

    def __init__(self, jvm_pid: int):
        self.jvm_pid = jvm_pid
        self.phases: list[dict] = []
        self.per_phase_jvm_peak = reset_peak_rss(jvm_pid)

    def run(self, label: str, work):
        started = time.perf_counter()
        outcome = work()
        record = {
            "phase": label,
            "seconds": round(time.perf_counter() - started, 3),
            "jvm_peak_mib": peak_rss_mib(self.jvm_pid),
            "python_peak_mib": python_peak_mib(),
        }
        self.phases.append(record)
        if self.per_phase_jvm_peak:
            reset_peak_rss(self.jvm_pid)
        print(
            f"[bench plain_spark] {label}: {record['seconds']:.1f}s "
            f"(JVM peak {record['jvm_peak_mib']} MiB)",
            flush=True,
        )
        return outcome


def clean_lines(spark: SparkSession, files: list[Path]) -> DataFrame:
    """Typed lines that can be counted: unparseable fields are null under the declared
    schema, and exact duplicate lines go, because custseg is benchmarked with
    ``cleaning.duplicate_lines=drop`` and the other references drop them too."""
    raw = spark.read.csv(
        [str(path) for path in files], header=True, schema=SCHEMA, timestampFormat=TIME_FORMAT
    )
    return raw.dropDuplicates().where(
        F.col("customer_id").isNotNull()
        & F.col("purchase_time").isNotNull()
        & (F.col("unit_price") > 0)
        & (F.col("item_count") > 0)
    )


def ingest(spark: SparkSession, files: list[Path], tables: dict[str, str]) -> None:
    """Read to the ``transactions`` Delta table: the pseudonymised key replaces the id."""
    id_text = F.col("customer_id").cast("bigint").cast("string")
    transactions = clean_lines(spark, files).select(
        F.sha2(F.concat(F.lit(PEPPER), id_text), 256).alias("customer_key"),
        "item_id",
        "item_name",
        "unit_price",
        "item_count",
        (F.col("unit_price") * F.col("item_count")).alias("amount"),
        "purchase_time",
        F.date_format("purchase_time", "yyyy-MM").alias("month"),
    )
    writer = transactions.write.format("delta").mode("overwrite").partitionBy("month")
    writer.save(tables["transactions"])


def day_after_last_purchase(transactions: DataFrame) -> dt.date:
    """custseg's default as_of. Taken as a date in Spark (session time zone UTC), not as a
    Python datetime, which pyspark would convert to this machine's local time."""
    return transactions.agg(F.date_add(F.to_date(F.max("purchase_time")), 1)).first()[0]


def customer_rfm(transactions: DataFrame, as_of: dt.date) -> DataFrame:
    """Recency in whole days before as_of midnight UTC (the floor of the elapsed time, as
    custseg's metrics count it); frequency as custseg counts orders when the files have no
    order id, one per distinct purchase time; spend."""
    as_of_seconds = int(dt.datetime.combine(as_of, dt.time(), dt.timezone.utc).timestamp())
    per_customer = transactions.groupBy("customer_key").agg(
        F.max("purchase_time").alias("last_purchase"),
        F.countDistinct("purchase_time").alias("frequency"),
        F.sum("amount").alias("monetary"),
    )
    recency = F.expr(f"({as_of_seconds} - unix_seconds(last_purchase)) div 86400")
    return per_customer.select(
        "customer_key", recency.cast("int").alias("recency"), "frequency", "monetary"
    )


def binned(column: str, edges: list[float], best_is_low: bool) -> Column:
    """1..BINS from how many quintile edges lie strictly below the value (``qcut``'s
    right-closed bins); recency scores the other way round, 5 for the most recent."""
    above = sum((F.col(column) > F.lit(edge)).cast("int") for edge in edges)
    return (F.lit(BINS) - above) if best_is_low else (F.lit(1) + above)


def rfm(spark: SparkSession, tables: dict[str, str]) -> dict:
    """``transactions`` to ``customer_rfm`` to ``customer_scores``. The scores read the
    written RFM table back, so the groupBy runs once for both the edges and the scores."""
    transactions = spark.read.format("delta").load(tables["transactions"])
    as_of = day_after_last_purchase(transactions)
    customer_rfm(transactions, as_of).write.format("delta").mode("overwrite").save(
        tables["customer_rfm"]
    )
    customers = spark.read.format("delta").load(tables["customer_rfm"])
    probabilities = [i / BINS for i in range(1, BINS)]
    edges = customers.approxQuantile(list(RFM), probabilities, RELATIVE_ERROR)
    scores = [
        binned(name, column_edges, best_is_low=name == "recency").alias(f"{name[0]}_score")
        for name, column_edges in zip(RFM, edges)
    ]
    customers.select("*", *scores).write.format("delta").mode("overwrite").save(
        tables["customer_scores"]
    )
    return {"as_of": as_of.isoformat(), "edges": dict(zip(RFM, edges))}


def scaled_features(customers: DataFrame) -> DataFrame:
    """log1p(R, F, M) assembled and scaled to unit variance (StandardScaler's defaults).
    Not cached: given an uncached input, each MLlib fit caches its own vectors."""
    logged = customers.select("*", *[F.log1p(name).alias(f"log_{name}") for name in RFM])
    assembled = VectorAssembler(
        inputCols=[f"log_{name}" for name in RFM], outputCol="raw_features"
    ).transform(logged)
    scaler = StandardScaler(inputCol="raw_features", outputCol="features").fit(assembled)
    return scaler.transform(assembled)


def cluster(spark: SparkSession, tables: dict[str, str]) -> dict:
    """KMeans and BisectingKMeans (defaults, k and seed only) for each k on every customer,
    the four assignments written beside the scores as ``customer_clusters``."""
    customers = spark.read.format("delta").load(tables["customer_scores"])
    features = scaled_features(customers)
    fits, assigned = {}, features
    for k in CLUSTER_KS:
        for name, estimator in (("kmeans", KMeans), ("bisecting", BisectingKMeans)):
            model = estimator(k=k, seed=SEED).fit(features)
            fits[f"{name}_k{k}"] = {"training_cost": float(model.summary.trainingCost)}
            assigned = model.setPredictionCol(f"{name}_k{k}").transform(assigned)
    output = assigned.select(*customers.columns, *fits)
    output.write.format("delta").mode("overwrite").save(tables["customer_clusters"])
    return fits


def table_counts(spark: SparkSession, tables: dict[str, str]) -> dict:
    """Rows of each table, after the clock: what the benchmark checks against custseg."""
    return {name: spark.read.format("delta").load(path).count() for name, path in tables.items()}


def run_phases(spark: SparkSession, files: list[Path], work: Path, clock: PhaseClock) -> dict:
    """The three timed phases, then the counts (untimed). A failure propagates: the caller
    reports it beside the phases the clock recorded."""
    tables = {name: str(work / "warehouse" / name) for name in TABLES}
    clock.run("ingest", lambda: ingest(spark, files, tables))
    summary = clock.run("rfm", lambda: rfm(spark, tables))
    summary["models"] = clock.run("cluster", lambda: cluster(spark, tables))
    counts = table_counts(spark, tables)
    summary["clean_rows"] = counts["transactions"]
    summary["customers"] = counts["customer_rfm"]
    summary["table_rows"] = counts
    return summary


def phase_seconds(clock: PhaseClock) -> tuple[dict, float | None]:
    """Seconds per phase, and their total when all three ran (custseg's i+r+c)."""
    seconds = {record["phase"]: record["seconds"] for record in clock.phases}
    if all(phase in seconds for phase in ("ingest", "rfm", "cluster")):
        return seconds, round(sum(seconds.values()), 3)
    return seconds, None


def benchmark(data: Path, files: list[Path], work: Path, extra: list[str]) -> dict:
    """One session from custseg's Settings, the phases, and the JVM's and driver's peaks."""
    overrides = settings_overrides(data, work, extra) + CLUSTER_MODES["fixed"]
    settings = load_packaged_settings("local.yaml", overrides)
    started = time.perf_counter()
    spark = get_spark(settings, app_name="plain-spark-benchmark")
    session_seconds = round(time.perf_counter() - started, 3)
    jvm_pid = int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
    print(f"[bench plain_spark] Spark session: {session_seconds:.1f}s", flush=True)
    clock, summary, error = PhaseClock(jvm_pid), {}, None
    try:
        summary = run_phases(spark, files, work, clock)
    except Exception as failure:  # noqa: BLE001 - a benchmark reports how far it got
        traceback.print_exc()
        lines = str(failure).strip().splitlines()  # a Spark error's JVM trace follows
        error = f"{type(failure).__name__}: {lines[0] if lines else ''}"
    finally:
        spark.stop()
    seconds, total = phase_seconds(clock)
    jvm_peaks = [r["jvm_peak_mib"] for r in clock.phases if r["jvm_peak_mib"] is not None]
    result = {
        "program": "plain_spark",
        "session_seconds": session_seconds,
        "seconds": seconds,
        "total_seconds": total,
        "end_to_end_seconds": round(session_seconds + total, 3) if total else None,
        "phases": clock.phases,
        **summary,
        "jvm_peak_mib": max(jvm_peaks) if jvm_peaks else None,
        "python_peak_mib": python_peak_mib(),
    }
    return {**result, "error": error} if error else result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path, help=f"folder of {FILE_GLOB} files")
    parser.add_argument("--work", required=True, type=Path, help="emptied, then used")
    parser.add_argument("--result", required=True, type=Path, help="JSON file to write")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    data, work, result_path = args.data.resolve(), args.work.resolve(), args.result.resolve()
    files = sorted(data.glob(FILE_GLOB))
    if not files:
        sys.exit(f"no {FILE_GLOB} files in {data}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    os.chdir(work)  # anything Spark writes next to the working directory stays in here
    result = benchmark(data, files, work, args.overrides)
    result["files"] = len(files)
    result_path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
