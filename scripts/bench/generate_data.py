"""Writes synthetic monthly transaction CSV files at any scale.

.venv/bin/python scripts/bench/generate_data.py --customers 8000 --out data/demo
.venv/bin/python scripts/bench/generate_data.py --out data/demo --profiles data/demo_profiles.csv
.venv/bin/python scripts/bench/generate_data.py --customers 2800000 --out data/big   # seed scale
.venv/bin/python scripts/bench/generate_data.py --shape seed --rows 16M --out data/bench/16M

``--shape demo`` (the default) draws every row in memory, as the demo does. ``--shape seed``
takes a row count (200k, 16M, 100M) and writes the seed study's shape, about 5.7 lines per
customer, in blocks of customers, so memory stays flat at any size. ``--profiles`` (demo
shape) also writes a customer profile file for ``input.profiles``, outside ``--out``.
"""

import argparse
import resource
import time

from seed_data import SeedShape, generate_seed_shaped, parse_count

from custseg.layer4_commands.demo import generate_transactions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--shape", choices=("demo", "seed"), default="demo")
    parser.add_argument("--customers", type=int, default=8000, help="--shape demo only")
    parser.add_argument("--rows", type=parse_count, help="--shape seed only: 200k, 16M, ...")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--clean", action="store_true", help="no injected damage")
    parser.add_argument("--profiles", help="--shape demo only: also write this profile CSV")
    args = parser.parse_args()
    started = time.monotonic()
    if args.shape == "seed":
        if args.rows is None:
            parser.error("--shape seed needs --rows")
        if args.profiles is not None:
            parser.error("--profiles goes with --shape demo")
        shape = SeedShape(rows=args.rows, seed=args.seed, months=args.months, messy=not args.clean)
        counts = generate_seed_shaped(
            args.out,
            shape,
            progress=lambda c: print(f"  {c['rows']:,} rows, {c['customers']:,} customers"),
        )
    else:
        if args.rows is not None:
            parser.error("--rows goes with --shape seed (the demo shape takes --customers)")
        counts = generate_transactions(
            args.out,
            customers=args.customers,
            months=args.months,
            seed=args.seed,
            messy=not args.clean,
            profiles_file=args.profiles,
        )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"wrote {counts} to {args.out} in {time.monotonic() - started:.1f}s "
        f"(peak memory {peak_mib:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
