"""The two programs custseg is measured against, on the benchmark's CSV files.

    .venv/bin/python scripts/bench/bench_references.py pandas --data data/bench/1M --result out.json
    .venv/bin/python scripts/bench/bench_references.py duckdb --data data/bench/1M --result out.json

``pandas`` does what the seed notebook did (read, clean, RFM, qcut scores, scaled log
features, scikit-learn KMeans for k = 4 and 5); ``duckdb`` does the RFM part in SQL with two
threads. Each runs alone in its own process (``scripts/bench/benchmark.py`` starts them one after
the other), so the peak resident memory it reports is its own. Needs the ``bench`` extra.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

FILE_GLOB = "transactions_*.csv"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
BINS = 5
CLUSTER_KS = (4, 5)
RANDOM_STATE = 42


class StepTimer:
    """Wall seconds of named steps, printed as they finish so a long run shows progress."""

    def __init__(self, program: str):
        self.program = program
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, name: str):
        started = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - started, 3)
        print(f"[bench {self.program}] {name}: {self.seconds[name]:.1f}s", flush=True)

    @property
    def total(self) -> float:
        return round(sum(self.seconds.values()), 3)


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def read_like_the_notebook(files: list[Path]):
    """pandas' own type inference, as a notebook's ``read_csv`` gets it: blank and float-typed
    ids make the id column float (so ``123.0`` and ``123`` are one customer) and ``N/A``
    prices become NaN."""
    import pandas as pd

    return pd.concat([pd.read_csv(path) for path in files], ignore_index=True)


def clean_like_the_notebook(frame):
    """Exact duplicate lines, then rows without a customer, price or parseable time, then
    returns and free or negative prices."""
    import pandas as pd

    frame = frame.drop_duplicates()
    frame = frame.assign(
        purchase_time=pd.to_datetime(frame["purchase_time"], format=TIME_FORMAT, errors="coerce"),
        unit_price=pd.to_numeric(frame["unit_price"], errors="coerce"),
        item_count=pd.to_numeric(frame["item_count"], errors="coerce"),
    )
    frame = frame.dropna(subset=["customer_id", "unit_price", "item_count", "purchase_time"])
    return frame[(frame["item_count"] > 0) & (frame["unit_price"] > 0)]


def rfm_like_the_notebook(lines):
    """Per customer at as_of = the day after the last purchase; without an order id, each
    distinct purchase time is one order."""
    import pandas as pd

    as_of = lines["purchase_time"].max().normalize() + pd.Timedelta(days=1)
    lines = lines.assign(amount=lines["item_count"] * lines["unit_price"])
    rfm = lines.groupby("customer_id").agg(
        last_purchase=("purchase_time", "max"),
        frequency=("purchase_time", "nunique"),
        monetary=("amount", "sum"),
    )
    rfm["recency"] = (as_of - rfm["last_purchase"]).dt.days
    return rfm, as_of


def qcut_scores(rfm):
    """1..5 quintile scores, 5 best; frequency is ranked first because its many ties would
    leave ``qcut`` with duplicate edges."""
    import pandas as pd

    ascending = list(range(1, BINS + 1))
    rfm["r_score"] = pd.qcut(rfm["recency"], BINS, labels=ascending[::-1]).astype(int)
    frequency_rank = rfm["frequency"].rank(method="first")
    rfm["f_score"] = pd.qcut(frequency_rank, BINS, labels=ascending).astype(int)
    rfm["m_score"] = pd.qcut(rfm["monetary"], BINS, labels=ascending).astype(int)
    return rfm


def run_pandas(files: list[Path]) -> dict:
    import numpy as np
    import sklearn
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    timer = StepTimer("pandas")
    with timer.step("read"):
        raw = read_like_the_notebook(files)
    with timer.step("clean"):
        lines = clean_like_the_notebook(raw)
        del raw
    with timer.step("rfm"):
        rfm, as_of = rfm_like_the_notebook(lines)
    with timer.step("scores"):
        rfm = qcut_scores(rfm)
    with timer.step("scale"):
        features = StandardScaler().fit_transform(
            np.log1p(rfm[["recency", "frequency", "monetary"]].to_numpy(dtype=float))
        )
    fits = {}
    for k in CLUSTER_KS:
        with timer.step(f"kmeans_k{k}"):
            model = KMeans(n_clusters=k, n_init=1, random_state=RANDOM_STATE).fit(features)
        fits[str(k)] = {"inertia": float(model.inertia_), "iterations": int(model.n_iter_)}
    return {
        "program": "pandas",
        "versions": {"pandas": _version("pandas"), "scikit-learn": sklearn.__version__},
        "seconds": timer.seconds,
        "total_seconds": timer.total,
        "clean_rows": len(lines),
        "customers": len(rfm),
        "as_of": as_of.date().isoformat(),
        "kmeans": fits,
    }


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


RFM_SQL = """
CREATE TABLE rfm AS
WITH raw AS (
    SELECT DISTINCT * FROM read_csv({files}, header = true, all_varchar = true)
), typed AS (
    SELECT TRY_CAST(customer_id AS DOUBLE) AS customer_id,
           TRY_CAST(unit_price AS DOUBLE) AS unit_price,
           TRY_CAST(item_count AS DOUBLE) AS quantity,
           TRY_STRPTIME(purchase_time, '{time_format}') AS purchase_time
    FROM raw
), clean AS (
    SELECT * FROM typed
    WHERE customer_id IS NOT NULL AND purchase_time IS NOT NULL
      AND quantity > 0 AND unit_price > 0
), per_customer AS (
    SELECT customer_id,
           max(purchase_time) AS last_purchase,
           count(DISTINCT purchase_time) AS frequency,
           sum(quantity * unit_price) AS monetary,
           count(*) AS lines
    FROM clean GROUP BY customer_id
), as_of AS (
    SELECT CAST(CAST(max(last_purchase) AS DATE) + 1 AS TIMESTAMP) AS as_of FROM per_customer
)
SELECT customer_id, frequency, monetary, lines, as_of,
       CAST(floor((epoch(as_of) - epoch(last_purchase)) / 86400) AS INTEGER) AS recency
FROM per_customer, as_of
"""

SCORES_SQL = """
CREATE TABLE scored AS
WITH edges AS (
    SELECT quantile_cont(recency, {cuts}) AS r_edges, quantile_cont(monetary, {cuts}) AS m_edges
    FROM rfm
)
SELECT customer_id, recency, frequency, monetary,
       {bins} - ({recency_above_edges}) AS r_score,
       ntile({bins}) OVER (ORDER BY frequency, customer_id) AS f_score,
       1 + ({monetary_above_edges}) AS m_score
FROM rfm, edges
"""


def edges_below(column: str, edges: str) -> str:
    """How many quantile edges lie strictly below the value: its 0-based ``qcut`` bin."""
    return " + ".join(f"CAST({column} > {edges}[{i}] AS INTEGER)" for i in range(1, BINS))


def run_duckdb(files: list[Path], threads: int) -> dict:
    """CSV to scored RFM: ``pd.qcut``'s right-closed quintile edges for recency and monetary,
    ``ntile`` over the frequency order for the rank-first frequency score."""
    import duckdb

    timer = StepTimer("duckdb")
    connection = duckdb.connect()
    spill = tempfile.mkdtemp(prefix="bench-duckdb-")
    connection.execute(f"SET threads = {threads}")
    connection.execute(f"SET temp_directory = '{spill}'")
    file_list = "[" + ", ".join(_sql_string(str(path)) for path in files) + "]"
    with timer.step("csv_to_rfm"):
        connection.execute(RFM_SQL.format(files=file_list, time_format=TIME_FORMAT))
    cuts = "[" + ", ".join(str(i / BINS) for i in range(1, BINS)) + "]"
    with timer.step("scores"):
        connection.execute(
            SCORES_SQL.format(
                cuts=cuts,
                bins=BINS,
                recency_above_edges=edges_below("recency", "r_edges"),
                monetary_above_edges=edges_below("monetary", "m_edges"),
            )
        )
    customers, clean_rows, as_of = connection.execute(
        "SELECT count(*), sum(lines), CAST(max(as_of) AS DATE) FROM rfm"
    ).fetchone()
    connection.close()
    shutil.rmtree(spill, ignore_errors=True)
    return {
        "program": "duckdb",
        "versions": {"duckdb": duckdb.__version__},
        "threads": threads,
        "seconds": timer.seconds,
        "total_seconds": timer.total,
        "clean_rows": int(clean_rows or 0),
        "customers": int(customers),
        "as_of": as_of.isoformat() if as_of else None,
    }


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("program", choices=("pandas", "duckdb"))
    parser.add_argument("--data", required=True, help=f"folder of {FILE_GLOB} files")
    parser.add_argument("--result", required=True, help="JSON file to write the result to")
    parser.add_argument("--threads", type=int, default=2, help="duckdb only")
    args = parser.parse_args()
    files = sorted(Path(args.data).glob(FILE_GLOB))
    if not files:
        sys.exit(f"no {FILE_GLOB} files in {args.data}")
    if args.program == "pandas":
        result = run_pandas(files)
    else:
        result = run_duckdb(files, args.threads)
    result["files"] = len(files)
    result["peak_rss_mib"] = peak_rss_mib()
    Path(args.result).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
