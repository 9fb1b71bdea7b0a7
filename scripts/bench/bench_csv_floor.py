"""How long Spark takes just to read the benchmark's CSV files: the floor under custseg's
ingest, to set against DuckDB's whole CSV-to-RFM job (docs/performance.md, "Why the targets
are missed").

    .venv/bin/python scripts/bench/bench_csv_floor.py data/bench/16M

Every field is read as text, as custseg's reader does, and every field is hashed, so that
Spark's CSV column pruning cannot skip parsing any of them. The reader is Spark's plain one
(header, default quoting, no corrupt-record column): a floor, not custseg's exact read. The
session is custseg's default one (``Settings()``, which is what the packaged local.yaml
sets). Run it alone, like every benchmark.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from custseg.layer1_core.config import Settings
from custseg.layer2_io.spark import get_spark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="a folder of transactions_*.csv files")
    args = parser.parse_args()
    files = sorted(args.data.resolve().glob("transactions_*.csv"))
    if not files:
        raise SystemExit(f"no transactions_*.csv files in {args.data}")
    with files[0].open(encoding="utf-8") as first:
        header = first.readline().rstrip("\n").split(",")
    schema = StructType([StructField(name, StringType()) for name in header])
    spark = get_spark(Settings(), app_name="custseg-csv-floor")
    for attempt in (1, 2):  # the first read also warms the JVM and the page cache
        started = time.perf_counter()
        lines = spark.read.schema(schema).option("header", "true").csv([str(f) for f in files])
        row = lines.agg(
            F.count(F.lit(1)).alias("lines"), F.max(F.xxhash64(*header)).alias("hash")
        ).first()
        seconds = time.perf_counter() - started
        print(f"read {attempt}: {row['lines']:,} lines, every field parsed, {seconds:.1f} s")
    spark.stop()


if __name__ == "__main__":
    main()
