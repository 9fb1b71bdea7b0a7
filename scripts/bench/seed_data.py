"""Seed-shaped synthetic transactions at any row count, in bounded memory.

The seed study segmented 16.1 million lines of 2.85 million customers from 12 monthly
exports. Benchmarks need that shape (about 5.7 lines per customer, most customers buying
once, a heavy tail of frequent and big spenders, churn, a little damage) at 1 to 100 million
rows. ``demo.generate_transactions`` builds every row in memory, which suits its 236,000
lines but not 100 million; this module draws customers in fixed blocks from a generator
seeded by (seed, block number) and appends each block's lines to the month files, so memory
stays flat in the number of rows and a given seed always writes the same files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

COLUMNS = ("customer_id", "item_id", "item_name", "unit_price", "item_count", "purchase_time")
MARKER_NAME = "_seed_shape.json"  # ingest skips names starting with "_"
FILE_GLOB = "transactions_*.csv"
# Customers per block: ~2.3 million lines, a few hundred MB at most while a block is built.
BLOCK_CUSTOMERS = 400_000
# Ids are a multiplicative scramble of the customer number modulo a prime: unique without a
# set of used ids, and not in the order customers were drawn.
ID_PRIME = 2_147_483_647
ID_MULTIPLIER = 48_271
ID_OFFSET = 100_000
SHOP_OPENS_SECOND, SHOP_CLOSES_SECOND = 8 * 3600, 20 * 3600
# Shares of lines damaged the way real exports are, each kind independently.
DAMAGE = {
    "float_id": 0.05,
    "blank_id": 0.003,
    "na_price": 0.001,
    "zero_price": 0.001,
    "return": 0.01,
    "bad_date": 0.0005,
    "duplicate": 0.002,
}
_COUNT_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)\s*$")
_COUNT_UNITS = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000}


def parse_count(text: str) -> int:
    """``"200k"`` -> 200000, ``"1.5M"`` -> 1500000: sizes are said that way in the issue."""
    match = _COUNT_PATTERN.match(str(text))
    if not match:
        raise ValueError(f"not a row count: {text!r} (examples: 200000, 200k, 16M)")
    return int(float(match.group(1)) * _COUNT_UNITS[match.group(2).lower()])


def count_label(count: int) -> str:
    """The short form ``parse_count`` reads back, used to name data folders."""
    for suffix, unit in (("G", 1_000_000_000), ("M", 1_000_000), ("k", 1_000)):
        if count >= unit and count % unit == 0:
            return f"{count // unit}{suffix}"
    return str(count)


@dataclasses.dataclass(frozen=True)
class SeedShape:
    """Everything the files depend on: equal shapes write byte-identical files (with the
    same numpy and pyarrow), which is what lets the benchmark reuse data by its marker."""

    rows: int
    seed: int = 7
    start: str = "2021-01-01"
    months: int = 12
    items: int = 4000
    messy: bool = True
    block_customers: int = BLOCK_CUSTOMERS
    version: int = 1  # bump when the generator's output changes

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _catalogue(seed: int, items: int) -> dict[str, pa.Array]:
    """Items with Zipf-like popularity and log-normal prices, shared by every block."""
    rng = np.random.default_rng([seed, 0xCA7])
    words_a = np.array(["WHITE", "RED", "VINTAGE", "GLASS", "WOODEN", "PAPER", "RETRO", "MINI"])
    words_b = np.array(["HEART", "STAR", "BIRD", "FLOWER", "SPOT", "STRIPE", "ROSE", "LACE"])
    words_c = np.array(["MUG", "LUNCH BAG", "CUSHION COVER", "NOTEBOOK", "LANTERN", "JAR", "CLOCK"])
    names = np.char.add(
        np.char.add(rng.choice(words_a, items), " "),
        np.char.add(np.char.add(rng.choice(words_b, items), " "), rng.choice(words_c, items)),
    )
    prices = np.round(np.exp(rng.normal(1.0, 0.9, items)).clip(0.1, 500), 2)
    popularity = 1.0 / np.arange(1, items + 1) ** 0.7
    return {
        "item_id": pa.array(np.arange(20_000, 20_000 + items)).cast(pa.string()),
        "item_name": pa.array(names.astype(str)),
        "unit_price": pa.array(prices).cast(pa.string()),
        "cumulative_popularity": np.cumsum(popularity / popularity.sum()),
    }


def _customer_traits(rng: np.random.Generator, count: int, months: int) -> dict[str, np.ndarray]:
    """Per customer: first and last active month (churn), orders, basket size and spend scale.

    Orders are Poisson around a log-normal monthly rate times the months active, so most
    customers buy once and a few buy hundreds of times; basket size and quantity scale are
    log-normal per customer, which gives spend its heavy tail. The constants were tuned to
    about 5.7 lines per customer.
    """
    first = np.minimum((rng.beta(0.8, 1.3, count) * months).astype(np.int64), months - 1)
    churn_per_month = np.clip(rng.lognormal(np.log(0.15), 0.7, count), 0.02, 1.0)
    last = np.minimum(first + rng.geometric(churn_per_month) - 1, months - 1)
    span = last - first + 1
    monthly_rate = rng.lognormal(np.log(0.2), 1.1, count)
    return {
        "first_month": first,
        "span": span,
        "orders": 1 + rng.poisson(np.minimum(monthly_rate * (span - 0.5), 200)),
        "basket": rng.lognormal(np.log(1.9), 0.6, count),
        "spend_scale": rng.lognormal(0.0, 0.6, count),
    }


def _order_times(
    rng: np.random.Generator, traits: dict, month_starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(customer, epoch second) of every order; a customer's first order is in its first
    month, the others anywhere in its active months."""
    customer = np.repeat(np.arange(len(traits["orders"])), traits["orders"])
    is_first = np.ones(len(customer), dtype=bool)
    is_first[1:] = customer[1:] != customer[:-1]
    offset = np.where(is_first, 0, (rng.random(len(customer)) * traits["span"][customer]))
    month = traits["first_month"][customer] + offset.astype(np.int64)
    days = (month_starts[month + 1] - month_starts[month]) // 86_400
    second = (
        month_starts[month]
        + (rng.random(len(customer)) * days).astype(np.int64) * 86_400
        + rng.integers(SHOP_OPENS_SECOND, SHOP_CLOSES_SECOND, len(customer))
    )
    return customer, second


def _block_lines(
    rng: np.random.Generator, traits: dict, month_starts: np.ndarray, catalogue: dict
) -> dict[str, np.ndarray]:
    """One row per line (customer, time, item, quantity), in customer order."""
    order_customer, order_second = _order_times(rng, traits, month_starts)
    basket = 1 + rng.poisson(np.maximum(traits["basket"][order_customer] - 1, 0))
    customer = np.repeat(order_customer, basket)
    popularity = catalogue["cumulative_popularity"]
    item = np.searchsorted(popularity, rng.random(len(customer)))
    quantity = rng.geometric(0.45, len(customer)) * traits["spend_scale"][customer]
    return {
        "customer": customer,
        "second": np.repeat(order_second, basket),
        "item": np.minimum(item, len(popularity) - 1),
        "quantity": np.maximum(1, np.round(quantity)).astype(np.int64),
    }


def _first_customers(lines: dict[str, np.ndarray], max_lines: float) -> dict[str, np.ndarray]:
    """Whole customers, in draw order, until ``max_lines`` lines are reached: trims the
    last block (overshooting by less than one customer's lines)."""
    per_customer = np.bincount(lines["customer"])
    keep = int(np.searchsorted(np.cumsum(per_customer), max_lines, side="left")) + 1
    if keep >= len(per_customer):
        return lines
    mask = lines["customer"] < keep
    return {name: values[mask] for name, values in lines.items()}


def _block_table(
    shape: SeedShape, block: int, catalogue: dict, month_starts: np.ndarray, max_lines: float
) -> tuple[pa.Table, np.ndarray, int]:
    """Block ``block``'s lines as CSV text columns sorted by time, their epoch seconds, and
    the number of customers in it. The generator is seeded by (seed, block), so a block's
    content does not depend on any other block."""
    rng = np.random.default_rng([shape.seed, block])
    traits = _customer_traits(rng, shape.block_customers, shape.months)
    lines = _first_customers(_block_lines(rng, traits, month_starts, catalogue), max_lines)
    by_time = np.argsort(lines["second"], kind="stable")
    lines = {name: values[by_time] for name, values in lines.items()}
    numbers = block * shape.block_customers + lines["customer"]
    item = pa.array(lines["item"])
    table = pa.table(
        {
            "customer_id": pa.array(_customer_ids(numbers)).cast(pa.string()),
            "item_id": catalogue["item_id"].take(item),
            "item_name": catalogue["item_name"].take(item),
            "unit_price": catalogue["unit_price"].take(item),
            "item_count": pa.array(lines["quantity"]),
            "purchase_time": pa.array(lines["second"], type=pa.timestamp("s")).cast(pa.string()),
        }
    )
    return table, lines["second"], int(lines["customer"].max()) + 1


def _customer_ids(customer_numbers: np.ndarray) -> np.ndarray:
    return ID_OFFSET + (customer_numbers * ID_MULTIPLIER) % ID_PRIME


def _damaged(rng: np.random.Generator, table: pa.Table, messy: bool) -> tuple[pa.Table, np.ndarray]:
    """The table with the seed exports' kinds of damage, and which input row each output
    row copies.

    Duplicates are copies of finished (possibly damaged) lines placed next to the original,
    so they are exact duplicate lines as in a re-exported file.
    """
    if not messy:
        return table, np.arange(table.num_rows)
    n = table.num_rows
    hit = {kind: rng.random(n) < share for kind, share in DAMAGE.items()}
    ids = table["customer_id"]
    ids = pc.if_else(hit["float_id"], pc.binary_join_element_wise(ids, ".0", ""), ids)
    ids = pc.if_else(hit["blank_id"], "", ids)
    price = pc.if_else(hit["na_price"], "N/A", table["unit_price"])
    price = pc.if_else(hit["zero_price"], "0.0", price)
    quantity = pc.if_else(hit["return"], pc.negate(table["item_count"]), table["item_count"])
    when = pc.if_else(hit["bad_date"], "not a date", table["purchase_time"])
    damaged = pa.table(
        [ids, table["item_id"], table["item_name"], price, quantity, when], names=list(COLUMNS)
    )
    copies = np.repeat(np.arange(n), 1 + hit["duplicate"].astype(np.int64))
    return damaged.take(copies), copies


def _month_files(out: Path, shape: SeedShape) -> list[Path]:
    starts = np.arange(
        np.datetime64(shape.start, "M"), np.datetime64(shape.start, "M") + shape.months
    )
    return [out / f"transactions_{month}.csv" for month in starts.astype(str)]


def _month_starts(shape: SeedShape) -> np.ndarray:
    first = np.datetime64(shape.start, "M")
    months = np.arange(first, first + shape.months + 1)
    return months.astype("datetime64[s]").astype(np.int64)


def generate_seed_shaped(out_dir: str | Path, shape: SeedShape, progress=None) -> dict:
    """Writes ``transactions_<yyyy-mm>.csv`` files of about ``shape.rows`` lines in total
    and a marker recording the shape and counts; returns the counts.

    The marker is written last and removed first, so files left by an interrupted run are
    never taken for finished ones. ``progress`` hears the counts after each block.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER_NAME).unlink(missing_ok=True)
    for stale in out.glob(FILE_GLOB):
        stale.unlink()
    catalogue = _catalogue(shape.seed, shape.items)
    month_starts = _month_starts(shape)
    duplicate_share = DAMAGE["duplicate"] if shape.messy else 0.0
    target_lines = shape.rows / (1 + duplicate_share)
    counts = {"rows": 0, "customers": 0, "duplicates": 0, "blocks": 0, "files": shape.months}
    options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
    lines_drawn = 0
    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(path.open("wb")) for path in _month_files(out, shape)]
        for file in files:
            file.write((",".join(COLUMNS) + "\n").encode())
        while lines_drawn < target_lines:
            block = counts["blocks"]
            table, seconds, customers = _block_table(
                shape, block, catalogue, month_starts, target_lines - lines_drawn
            )
            rng = np.random.default_rng([shape.seed, block, 0xDA7A])
            damaged, copies = _damaged(rng, table, shape.messy)
            bounds = np.searchsorted(seconds[copies], month_starts)
            for month, file in enumerate(files):
                part = damaged.slice(bounds[month], bounds[month + 1] - bounds[month])
                pa_csv.write_csv(part, file, options)
            lines_drawn += table.num_rows
            counts["rows"] += damaged.num_rows
            counts["duplicates"] += damaged.num_rows - table.num_rows
            counts["customers"] += customers
            counts["blocks"] += 1
            if progress:
                progress(dict(counts))
    (out / MARKER_NAME).write_text(
        json.dumps({"shape": shape.as_dict(), "counts": counts}, indent=2) + "\n"
    )
    return counts


def finished_counts(out_dir: str | Path, shape: SeedShape) -> dict | None:
    """The counts of files already written with exactly this shape, else None."""
    out = Path(out_dir)
    try:
        marker = json.loads((out / MARKER_NAME).read_text())
    except (OSError, ValueError):
        return None
    complete = all(path.exists() for path in _month_files(out, shape))
    return marker["counts"] if complete and marker.get("shape") == shape.as_dict() else None
