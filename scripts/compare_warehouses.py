"""Compares every table two custseg runs wrote, row by row: the check that a faster run
changed no result.

    .venv/bin/python scripts/compare_warehouses.py WAREHOUSE_A WAREHOUSE_B [--digits 9]

Run-specific columns (run ids, timings) are left out, so both runs must read the same input
paths with the same hash key. Doubles are compared after rounding to ``--digits``
significant digits, so sums taken in another order (float rounding) do not count as a
difference; arrays of doubles are compared as they are. Prints one line per table and exits 1 when
any table differs.
"""

from __future__ import annotations

import argparse
import sys

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DoubleType, FloatType, MapType, StructType

RUN_SPECIFIC = {
    "ingest_run_id",
    "run_id",
    "seconds",
    "started_at",
    "duration_seconds",
    "written_at",
    "report_path",
}
SKIPPED_TABLES = {"ingest_runs", "ingest_files", "_catalog", "_models"}


def significant(column, digits: int):
    """``column`` rounded to ``digits`` significant digits (0 and null stay as they are)."""
    magnitude = F.floor(F.log10(F.abs(column)))
    return F.when(column == 0, column).otherwise(
        F.round(column / F.pow(F.lit(10.0), magnitude), digits - 1) * F.pow(F.lit(10.0), magnitude)
    )


def comparable(df: DataFrame, digits: int) -> DataFrame:
    columns = []
    for field in df.schema.fields:
        if field.name in RUN_SPECIFIC:
            continue
        column = F.col(f"`{field.name}`")
        if isinstance(field.dataType, (DoubleType, FloatType)):
            column = significant(column, digits)
        elif isinstance(field.dataType, (MapType, StructType, ArrayType)):
            column = F.to_json(column) if not isinstance(field.dataType, ArrayType) else column
        columns.append(column.alias(field.name))
    return df.select(columns)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first")
    parser.add_argument("second")
    parser.add_argument("--digits", type=int, default=9)
    args = parser.parse_args()
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config(
            "spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog"
        )
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config(
            "spark.jars", ",".join(__import__("custseg.spark", fromlist=["x"]).cached_delta_jars())
        )
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    fs = spark.sparkContext._jvm.org.apache.hadoop.fs
    path = fs.Path(args.first)
    names = sorted(
        status.getPath().getName()
        for status in path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).listStatus(
            path
        )
        if status.isDirectory() and status.getPath().getName() not in SKIPPED_TABLES
    )
    differing = 0
    for name in names:
        a = comparable(spark.read.format("delta").load(f"{args.first}/{name}"), args.digits)
        b = comparable(spark.read.format("delta").load(f"{args.second}/{name}"), args.digits)
        only_a, only_b = a.exceptAll(b).count(), b.exceptAll(a).count()
        state = (
            "same"
            if only_a == only_b == 0
            else f"DIFFERENT ({only_a} rows only in first, {only_b} only in second)"
        )
        differing += state != "same"
        print(f"{name:28s} {a.count():>10d} rows  {state}", flush=True)
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
