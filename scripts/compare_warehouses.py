"""Compares every table two custseg runs wrote, row by row: the check that a faster run
changed no result.

    .venv/bin/python scripts/compare_warehouses.py WAREHOUSE_A WAREHOUSE_B [--relative 1e-9]

Run-specific columns (run ids, timings) are left out, so both runs must read the same input
paths with the same hash key. Floating-point values may differ by ``--relative`` (sums taken
in another order); everything else must be equal (``custseg.layer2_io.table_compare``). Prints one
line per table and exits 1 when any table differs.
"""

from __future__ import annotations

import argparse
import sys

from custseg.layer1_core.config import Settings, replace
from custseg.layer2_io.spark import get_spark
from custseg.layer2_io.table_compare import compare_warehouses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first")
    parser.add_argument("second")
    parser.add_argument("--relative", type=float, default=1e-9)
    args = parser.parse_args()
    spark = get_spark(replace(Settings(), **{"spark.driver_memory": "4g"}), "compare-warehouses")
    results = compare_warehouses(spark, args.first, args.second, args.relative)
    for result in results:
        state = "same" if result.same else f"DIFFERENT ({result.unmatched} unmatched rows)"
        print(
            f"{result.name:28s} {result.rows_first:>10d} / {result.rows_second:<10d} rows  {state}",
            flush=True,
        )
    return 0 if all(result.same for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
