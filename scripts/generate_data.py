"""Writes synthetic monthly transaction CSV files at any scale.

.venv/bin/python scripts/generate_data.py --customers 8000 --out data/demo
.venv/bin/python scripts/generate_data.py --customers 2800000 --out data/big   # seed scale
"""

import argparse
import time

from custseg.demo import generate_transactions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--customers", type=int, default=8000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--clean", action="store_true", help="no injected damage")
    args = parser.parse_args()
    started = time.monotonic()
    counts = generate_transactions(
        args.out, customers=args.customers, months=args.months, seed=args.seed, messy=not args.clean
    )
    print(f"wrote {counts} to {args.out} in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()
