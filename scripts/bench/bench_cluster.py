"""Runs the cluster stage on seed-scale synthetic customers and reports time and memory.

    .venv/bin/python scripts/bench/bench_cluster.py [--customers 2800000] [--sample-size 200000]

The synthetic customer_rfm is generated inside Spark (spark.range plus hash-based
pseudo-random numbers, so the same arguments give the same rows): geometric order counts,
log-normal order values, recency that shortens as customers order more often, and a crude
R x F segment. It is written to a temporary warehouse, then the cluster stage runs with
the default clustering settings except ``sample_size`` (the sweep is fitted on a stable hash
sample and every customer is assigned). Printed: generation and stage seconds, the stage
summary, the sweep table, and the peak resident memory of the driver JVM (which in local
mode also runs the tasks) and of the Python driver.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lib"))

from pyspark.sql import Column, DataFrame, SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from custseg import delta_io, pipeline, tables  # noqa: E402
from custseg.layer1_core.config import Settings, replace  # noqa: E402
from custseg.layer2_io.run_context import RunContext  # noqa: E402
from custseg.layer2_io.schemas import column_type
from custseg.layer2_io.spark import get_spark  # noqa: E402

AS_OF = dt.date(2021, 12, 31)
UNIT_BITS = 53


def uniform(seed: int) -> Column:
    """A pseudo-random number in (0, 1) from a hash of the row id."""
    bits = F.xxhash64(F.col("id"), F.lit(seed)).bitwiseAND(F.lit((1 << UNIT_BITS) - 1))
    return (bits.cast("double") + 0.5) / float(1 << UNIT_BITS)


def synthetic_customer_rfm(spark: SparkSession, customers: int, partitions: int) -> DataFrame:
    orders = (F.lit(1) + F.floor(F.log(uniform(1)) / math.log(1 - 0.45))).cast("long")
    normal = F.sqrt(F.lit(-2.0) * F.log(uniform(3))) * F.cos(F.lit(2 * math.pi) * uniform(4))
    order_value = F.exp(F.lit(3.6) + F.lit(0.9) * normal)
    base = (
        spark.range(customers, numPartitions=partitions)
        .withColumn("frequency", orders)
        .withColumn(
            "recency_days",
            F.floor(
                F.lit(365.0) * F.pow(uniform(2), F.lit(1.0) + 0.4 * (F.col("frequency") - 1))
            ).cast("int"),
        )
        .withColumn("monetary", F.round(F.col("frequency") * order_value, 2))
        .withColumn("customer_key", F.sha2(F.col("id").cast("string"), 256))
        .withColumn("tenure_days", (F.col("recency_days") + F.floor(uniform(5) * 900)).cast("int"))
        .withColumn("average_order_value", F.col("monetary") / F.col("frequency"))
        .withColumn(
            "r_score",
            F.greatest(F.lit(1), F.lit(5) - F.floor(F.col("recency_days") / 73)).cast("int"),
        )
        .withColumn("f_score", F.least(F.lit(5), F.col("frequency")).cast("int"))
        .withColumn(
            "m_score",
            F.least(F.lit(5), F.lit(1) + F.floor(F.log10(F.col("monetary") + 1) * 1.2)).cast("int"),
        )
        .withColumn("frequency_rank", F.col("id") + 1)
        .withColumn("as_of", F.lit(AS_OF))
    )
    r, f = F.col("r_score"), F.col("f_score")
    segment = (
        F.when((r >= 4) & (f >= 4), "Champions")
        .when((r >= 3) & (f >= 3), "Loyal Customers")
        .when((r >= 4) & (f <= 1), "New Customers")
        .when((r <= 2) & (f >= 4), "Can't Lose")
        .when((r <= 2) & (f <= 2), "Hibernating")
        .otherwise("Need Attention")
    )
    frame = base.withColumn("segment", segment)
    for column in tables.CUSTOMER_RFM.columns:
        if column.name not in frame.columns:
            neutral = F.lit(None) if column.nullable else F.lit(0)
            frame = frame.withColumn(column.name, neutral.cast(column_type(column)))
    return frame


def peak_rss_mib(pid: int) -> float:
    """VmHWM (peak resident set) of a process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2_800_000)
    parser.add_argument("--sample-size", type=int, default=200_000)
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--warehouse", help="default: a temporary folder, removed afterwards")
    args = parser.parse_args()

    warehouse = args.warehouse or tempfile.mkdtemp(prefix="custseg-bench-")
    settings = replace(
        Settings(),
        **{
            "warehouse": warehouse,
            "spark.driver_memory": args.driver_memory,
            "spark.shuffle_partitions": args.partitions,
            "clustering.partitions": args.partitions,
            "clustering.sample_size": args.sample_size,
        },
    )
    spark = get_spark(settings, app_name="custseg-bench-cluster")
    jvm_pid = int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
    try:
        started = time.perf_counter()
        delta_io.write_table(
            spark,
            settings.warehouse_root,
            tables.CUSTOMER_RFM,
            synthetic_customer_rfm(spark, args.customers, args.partitions),
            replace_where=f"as_of = '{AS_OF}'",
        )
        generated = time.perf_counter() - started
        print(f"generated {args.customers:,} customer_rfm rows in {generated:.1f}s", flush=True)

        started = time.perf_counter()
        context = RunContext("bench", dt.datetime(2022, 1, 1), as_of=AS_OF)
        summary = pipeline.run_stage(spark, settings, context, "cluster")
        staged = time.perf_counter() - started
        print(f"cluster stage: {staged:.1f}s")
        print(f"summary: {summary.as_dict()}")
        (
            delta_io.read_table(spark, settings.warehouse_root, tables.MODEL_SELECTION.name)
            .select(
                "algorithm",
                "k",
                F.round("inertia", 0).alias("inertia"),
                F.round("silhouette", 3).alias("silhouette"),
                F.round("davies_bouldin", 3).alias("davies_bouldin"),
                F.round("calinski_harabasz", 0).alias("calinski_harabasz"),
                F.round("smallest_cluster_share", 3).alias("smallest_share"),
                F.round("seconds", 1).alias("seconds"),
                "chosen",
                "saved",
            )
            .orderBy("algorithm", "k")
            .show(40, truncate=False)
        )
        (
            delta_io.read_table(spark, settings.warehouse_root, tables.CLUSTER_PROFILES.name)
            .select(
                "algorithm",
                "k",
                "cluster_id",
                "cluster_name",
                "customers",
                F.round("revenue_share", 3).alias("revenue_share"),
            )
            .orderBy("algorithm", "k", "cluster_id")
            .show(40, truncate=False)
        )
        print(
            f"peak RSS: driver JVM {peak_rss_mib(jvm_pid):.0f} MiB (heap limit "
            f"{args.driver_memory}), Python driver "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
        )
    finally:
        spark.stop()
        if not args.warehouse:
            shutil.rmtree(warehouse, ignore_errors=True)


if __name__ == "__main__":
    main()
