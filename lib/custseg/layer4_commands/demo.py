"""Synthetic transaction exports and the one-command demo.

The generator writes monthly CSV files in the layout the project's users start from
(``customer_id,item_id,item_name,unit_price,item_count,purchase_time``), with customers
who behave differently (steady regulars, occasional buyers, one-off buyers, lapsing and
new customers), so RFM and clustering find real structure, and with the mess real
exports have: float-typed ids, blank ids, text in number columns, duplicated lines,
returns, free items and unparseable dates. On request it also writes a customer profile
file (signup date, age, loyalty points) of the same customers, for ``input.profiles``.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from custseg.layer1_core.config import Settings

# (share of customers, mean orders per active month, mean basket lines, churn probability per month)
ARCHETYPES = {
    "regular": (0.12, 2.2, 6.0, 0.01),
    "occasional": (0.33, 0.45, 4.0, 0.04),
    "one_off": (0.35, 0.0, 3.0, 1.0),
    "big_spender": (0.05, 1.2, 14.0, 0.02),
    "lapsing": (0.15, 0.9, 4.0, 0.25),
}
WORDS_A = [
    "WHITE",
    "RED",
    "VINTAGE",
    "GLASS",
    "WOODEN",
    "PAPER",
    "CERAMIC",
    "LARGE",
    "MINI",
    "RETRO",
]
WORDS_B = ["HEART", "STAR", "BIRD", "FLOWER", "SPOT", "STRIPE", "UNION", "PAISLEY", "ROSE", "LACE"]
WORDS_C = [
    "CANDLE HOLDER",
    "MUG",
    "LUNCH BAG",
    "CUSHION COVER",
    "NOTEBOOK",
    "TEA TOWEL",
    "LANTERN",
    "PHOTO FRAME",
    "GIFT WRAP",
    "DOORMAT",
    "JAR",
    "CLOCK",
]


def _catalogue(rng: np.random.Generator, items: int) -> pd.DataFrame:
    names = [
        f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)} {rng.choice(WORDS_C)}" for _ in range(items)
    ]
    prices = np.round(np.exp(rng.normal(1.0, 0.8, items)), 2).clip(0.19, 250)
    popularity = 1.0 / np.arange(1, items + 1) ** 0.9
    return pd.DataFrame(
        {
            "item_id": [f"{20000 + i}" for i in range(items)],
            "item_name": names,
            "unit_price": prices,
            "popularity": popularity / popularity.sum(),
        }
    )


def _customers(rng: np.random.Generator, customers: int, months: int) -> pd.DataFrame:
    kinds = list(ARCHETYPES)
    shares = np.array([ARCHETYPES[k][0] for k in kinds])
    kind = rng.choice(len(kinds), size=customers, p=shares / shares.sum())
    first_month = np.minimum((rng.beta(0.9, 1.6, customers) * months).astype(int), months - 1)
    rate = np.array([ARCHETYPES[kinds[k]][1] for k in kind]) * np.exp(
        rng.normal(0, 0.35, customers)
    )
    basket = np.array([ARCHETYPES[kinds[k]][2] for k in kind])
    churn = np.array([ARCHETYPES[kinds[k]][3] for k in kind])
    ids = rng.choice(np.arange(10000, 10000 + customers * 4), size=customers, replace=False)
    return pd.DataFrame(
        {
            "customer_id": ids,
            "kind": [kinds[k] for k in kind],
            "first_month": first_month,
            "rate": rate,
            "basket": basket,
            "churn": churn,
        }
    )


def _orders(rng: np.random.Generator, people: pd.DataFrame, months: int) -> pd.DataFrame:
    """One row per order: customer, month; the first order of every customer is in its first month."""
    rows_customer, rows_month = [], []
    active = np.ones(len(people), dtype=bool)
    for month in range(months):
        started = people["first_month"].to_numpy() == month
        ongoing = (people["first_month"].to_numpy() < month) & active
        count = np.where(
            started,
            1 + rng.poisson(people["rate"].to_numpy() * 0.5),
            np.where(ongoing, rng.poisson(people["rate"].to_numpy()), 0),
        )
        rows_customer.append(np.repeat(np.arange(len(people)), count))
        rows_month.append(np.full(int(count.sum()), month))
        churned = rng.random(len(people)) < people["churn"].to_numpy()
        active &= ~((people["first_month"].to_numpy() <= month) & churned)
    return pd.DataFrame(
        {"person": np.concatenate(rows_customer), "month": np.concatenate(rows_month)}
    )


def generate_transactions(
    out_dir: str | Path,
    *,
    customers: int = 8000,
    months: int = 12,
    start: str = "2021-01-01",
    items: int = 3000,
    seed: int = 7,
    messy: bool = True,
    profiles_file: str | Path | None = None,
) -> dict:
    """Writes ``transactions_<yyyy-mm>.csv`` files (and the profiles to ``profiles_file``,
    which must lie outside ``out_dir``); returns counts of what was written."""
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    catalogue = _catalogue(rng, items)
    people = _customers(rng, customers, months)
    orders = _orders(rng, people, months)
    month_starts = pd.date_range(start, periods=months + 1, freq="MS")
    lines_per_order = 1 + rng.poisson(people["basket"].to_numpy()[orders["person"].to_numpy()] - 1)
    order_index = np.repeat(np.arange(len(orders)), lines_per_order)
    days_in_month = (month_starts[1:] - month_starts[:-1]).days.to_numpy()
    order_month = orders["month"].to_numpy()
    order_time = (
        month_starts[:-1].to_numpy()[order_month]
        + (rng.random(len(orders)) * days_in_month[order_month]).astype("int64")
        * np.timedelta64(1, "D")
        + rng.integers(8 * 3600, 20 * 3600, len(orders)) * np.timedelta64(1, "s")
    )
    item = rng.choice(len(catalogue), size=len(order_index), p=catalogue["popularity"].to_numpy())
    frame = pd.DataFrame(
        {
            "customer_id": people["customer_id"]
            .to_numpy()[orders["person"].to_numpy()[order_index]]
            .astype(str),
            "item_id": catalogue["item_id"].to_numpy()[item],
            "item_name": catalogue["item_name"].to_numpy()[item],
            "unit_price": catalogue["unit_price"].to_numpy()[item].round(2).astype(str),
            "item_count": (1 + rng.geometric(0.35, len(order_index))).astype(str),
            "purchase_time": pd.to_datetime(order_time[order_index]).strftime("%Y-%m-%d %H:%M:%S"),
            "month": order_month[order_index],
        }
    )
    counts = {"rows": len(frame), "customers": int(frame["customer_id"].nunique()), "files": months}
    if profiles_file is not None:
        first_purchase = frame.groupby("customer_id")["purchase_time"].min()
        counts["profiles"] = write_profiles(Path(profiles_file), first_purchase, seed)
    if messy:
        counts.update(_make_messy(rng, frame))
    for month in range(months):
        part = frame[frame["month"] == month].drop(columns="month")
        name = f"transactions_{month_starts[month]:%Y-%m}.csv"
        part.to_csv(out / name, index=False)
    counts["rows"] = len(frame)
    return counts


def write_profiles(path: Path, first_purchase: pd.Series, seed: int) -> int:
    """A profile CSV (``customer_id,signup_date,age,loyalty_points``) for 97% of the
    customers in ``first_purchase`` (id -> first purchase time); returns its rows.

    Everyone signed up one day or more before the first purchase, most of them shortly
    before. The numbers come from a generator of their own, so asking for profiles leaves
    the transaction files byte for byte as they are without.
    """
    rng = np.random.default_rng([seed, 0x5167])
    ids = first_purchase.sort_index()
    days_before = 1 + np.floor(rng.exponential(60.0, len(ids))).astype("int64")
    signup = pd.to_datetime(ids.to_numpy()).normalize() - pd.to_timedelta(days_before, unit="D")
    profiles = pd.DataFrame(
        {
            "customer_id": ids.index,
            "signup_date": signup.strftime("%Y-%m-%d"),
            "age": rng.integers(18, 80, len(ids)),
            "loyalty_points": np.round(rng.lognormal(4.0, 1.0, len(ids))).astype("int64"),
        }
    )
    kept = profiles[rng.random(len(ids)) >= 0.03]
    path.parent.mkdir(parents=True, exist_ok=True)
    kept.to_csv(path, index=False)
    return len(kept)


def _make_messy(rng: np.random.Generator, frame: pd.DataFrame) -> dict:
    """Injects the kinds of damage real exports carry, in small known amounts (in place)."""
    n = len(frame)

    def pick(share: float) -> np.ndarray:
        return rng.choice(n, size=max(1, int(n * share)), replace=False)

    float_ids = pick(0.05)
    frame.loc[frame.index[float_ids], "customer_id"] = frame["customer_id"].iloc[float_ids] + ".0"
    frame.loc[frame.index[pick(0.003)], "customer_id"] = ""
    frame.loc[frame.index[pick(0.001)], "unit_price"] = "N/A"
    frame.loc[frame.index[pick(0.002)], "unit_price"] = "0.0"
    returns = pick(0.01)
    frame.loc[frame.index[returns], "item_count"] = "-" + frame["item_count"].iloc[returns]
    frame.loc[frame.index[pick(0.0005)], "purchase_time"] = "not a date"
    duplicates = frame.iloc[pick(0.002)]
    frame_with_dups = pd.concat([frame, duplicates]).sort_values(
        ["month", "purchase_time"], kind="stable"
    )
    frame.drop(frame.index, inplace=True)
    for column in frame_with_dups.columns:
        frame[column] = frame_with_dups[column].to_numpy()
    return {"duplicates_injected": len(duplicates)}


def ensure_demo_key(path: Path) -> Path:
    """A random local hashing key for the demo, created once, readable by the owner only."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
        os.chmod(path, 0o600)
    return path


DEMO_CONFIG = "local.yaml"


def prepare_demo(settings: Settings) -> None:
    """Creates what the demo run needs and does not find: the local key and the data.

    The run itself is ``custseg run``'s, unchanged; this only prepares its inputs. With
    ``input.profiles.path`` set to a CSV file that does not exist, the profiles are made
    too (with the transactions, which come out the same again).
    """
    if settings.pseudonym.key_file and not os.environ.get(settings.pseudonym.key_env):
        ensure_demo_key(Path(settings.pseudonym.key_file))
    data_dir = Path(settings.input.path)
    profiles = settings.input.profiles
    profiles_file = None
    if profiles is not None and profiles.path.endswith(".csv"):
        profiles_file = Path(profiles.path)
    missing_profiles = profiles_file is not None and not profiles_file.exists()
    if not data_dir.exists() or not any(data_dir.glob("*.csv")) or missing_profiles:
        print(f"[custseg] generating demo data in {data_dir} ...", file=sys.stderr)
        counts = generate_transactions(data_dir, profiles_file=profiles_file)
        print(f"[custseg] demo data: {counts}", file=sys.stderr)
