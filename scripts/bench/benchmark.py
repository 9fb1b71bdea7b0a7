"""Benchmarks custseg against plain PySpark, pandas + scikit-learn and DuckDB on seed-shaped data.

    .venv/bin/pip install -e '.[dev,bench]'
    .venv/bin/python scripts/bench/benchmark.py                       # 1M, 4M, 16M rows, fixed k
    .venv/bin/python scripts/bench/benchmark.py --sizes 200k          # a quick check
    .venv/bin/python scripts/bench/benchmark.py --sizes 16M --cluster both --json bench_results_16M.json
    .venv/bin/python scripts/bench/benchmark.py --sizes 100M --references duckdb

For each size: seed-shaped CSV files are generated under ``--data-root/<size>`` (reused when
their marker records the same shape), then, one after the other and never side by side (the
reference machine has two cores), custseg runs stage by stage in one process
(``bench_custseg.py``), then the references, each in its own process so that each peak
memory is its own: plain PySpark first (``bench_plain_spark.py``: the same session settings
and Delta jars as custseg, phase for phase), then pandas and DuckDB (``bench_references.py``).
Prints one table, each custseg stage beside the plain Spark phase and their ratio, and writes
every number to ``--json`` (rewritten after each size, so a long run that is stopped keeps
what it measured).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from seed_data import SeedShape, count_label, finished_counts, parse_count

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parents[1]
# The order they run in: plain Spark first, so the two Spark programs run back to back.
REFERENCES = ("plain_spark", "pandas", "duckdb")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="1M,4M,16M", help="row counts, comma separated: 200k,1M,16M,100M"
    )
    parser.add_argument("--data-root", type=Path, default=Path("data/bench"))
    parser.add_argument("--work-root", type=Path, default=Path("data/bench-work"))
    parser.add_argument("--json", type=Path, default=Path("bench_results.json"))
    parser.add_argument(
        "--cluster",
        choices=("fixed", "sweep", "both"),
        default="fixed",
        help="fixed: k = 4 and 5 only; sweep: the config's k range on a 200,000 sample",
    )
    parser.add_argument(
        "--references",
        default=",".join(REFERENCES),
        help=f"which references to run: {','.join(REFERENCES)} (default), some of them, or none",
    )
    parser.add_argument(
        "--pandas-max-rows",
        type=parse_count,
        default=parse_count("32M"),
        help="skip pandas above this size: it holds every row in memory (~4 GB at 16M)",
    )
    parser.add_argument("--seed", type=int, default=7, help="of the generated data")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="custseg config override, e.g. spark.shuffle_partitions=4 (plain Spark's session too)",
    )
    parser.add_argument(
        "--keep-work", action="store_true", help="keep each size's warehouse and reports"
    )
    args = parser.parse_args(argv)
    args.sizes = [parse_count(size) for size in args.sizes.split(",") if size.strip()]
    chosen = {r.strip() for r in args.references.split(",")} - {"", "none"}
    unknown = chosen - set(REFERENCES)
    if unknown:
        parser.error(f"--references: unknown {sorted(unknown)}; choose from {REFERENCES}")
    args.references = [r for r in REFERENCES if r in chosen]  # always in REFERENCES' order
    return args


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run_child(command: list[str], cwd: Path = REPO) -> tuple[int, float]:
    """Runs one step alone (its output goes straight to ours); exit code and wall seconds."""
    started = time.perf_counter()
    code = subprocess.call(command, cwd=cwd)
    return code, round(time.perf_counter() - started, 3)


def ensure_data(data_dir: Path, shape: SeedShape) -> dict:
    """The files of ``shape`` in ``data_dir``: reused when the marker matches, otherwise
    generated in a child process (so the generator's memory is not counted as custseg's)."""
    counts = finished_counts(data_dir, shape)
    if counts is not None:
        progress(f"reusing {data_dir} ({counts['rows']:,} rows)")
        return {"reused": True, "seconds": 0.0, "counts": counts}
    progress(f"generating {shape.rows:,} seed-shaped rows in {data_dir}")
    command = [sys.executable, str(SCRIPTS / "generate_data.py"), "--shape", "seed"]
    command += ["--rows", str(shape.rows), "--seed", str(shape.seed), "--out", str(data_dir)]
    code, seconds = run_child(command)
    counts = finished_counts(data_dir, shape)
    if code != 0 or counts is None:
        raise RuntimeError(f"generating {data_dir} failed (exit code {code})")
    return {"reused": False, "seconds": seconds, "counts": counts}


def run_measured(name: str, command: list[str], result_file: Path, cwd: Path = REPO) -> dict:
    """A benchmark child that writes its numbers to ``result_file``; a failure is recorded,
    not raised, so the other programs and sizes still run."""
    result_file.unlink(missing_ok=True)
    progress(f"{name}: starting")
    code, seconds = run_child([*command, "--result", str(result_file)], cwd=cwd)
    result = json.loads(result_file.read_text()) if result_file.exists() else {}
    result["process_seconds"] = seconds
    if code != 0:
        result.setdefault("error", f"exit code {code}")
        progress(f"{name}: FAILED after {seconds:.0f}s: {result['error']}")
    else:
        progress(f"{name}: done in {seconds:.0f}s")
    return result


def reference_command(
    reference: str, data_dir: Path, plain_work: Path, args: argparse.Namespace
) -> list[str]:
    """The child that runs one reference on ``data_dir``; plain Spark also gets a work
    folder for its Delta tables and custseg's ``--set`` overrides, so its session is
    built from the same settings as custseg's."""
    if reference != "plain_spark":
        script = [sys.executable, str(SCRIPTS / "bench_references.py"), reference]
        return [*script, "--data", str(data_dir)]
    command = [sys.executable, str(SCRIPTS / "bench_plain_spark.py"), "--data", str(data_dir)]
    command += ["--work", str(plain_work)]
    for override in args.overrides:
        command += ["--set", override]
    return command


def run_references(rows: int, data_dir: Path, results_dir: Path, args: argparse.Namespace) -> dict:
    """Each chosen reference in turn, in ``REFERENCES``' order: plain Spark first."""
    outcomes = {}
    plain_work = (args.work_root / f"{count_label(rows)}-plain").resolve()
    for reference in args.references:
        if reference == "pandas" and rows > args.pandas_max_rows:
            progress(f"pandas: skipped above {args.pandas_max_rows:,} rows (--pandas-max-rows)")
            outcomes[reference] = {"skipped": f"more than {args.pandas_max_rows:,} rows"}
            continue
        command = reference_command(reference, data_dir, plain_work, args)
        outcomes[reference] = run_measured(reference, command, results_dir / f"{reference}.json")
    if not args.keep_work:
        shutil.rmtree(plain_work, ignore_errors=True)
    return outcomes


def benchmark_size(rows: int, args: argparse.Namespace) -> dict:
    label = count_label(rows)
    data_dir = (args.data_root / label).resolve()
    work_dir = (args.work_root / label).resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    results_dir = (args.work_root / f"{label}-results").resolve()
    results_dir.mkdir(parents=True, exist_ok=True)
    generation = ensure_data(data_dir, SeedShape(rows=rows, seed=args.seed))
    custseg_command = [sys.executable, str(SCRIPTS / "bench_custseg.py"), "--data", str(data_dir)]
    custseg_command += ["--work", str(work_dir), "--cluster", args.cluster]
    for override in args.overrides:
        custseg_command += ["--set", override]
    outcome = {
        "size": label,
        "target_rows": rows,
        "data_dir": str(data_dir),
        "generation": generation,
        "custseg": run_measured("custseg", custseg_command, results_dir / "custseg.json"),
    }
    if not args.keep_work:
        shutil.rmtree(work_dir, ignore_errors=True)
    outcome.update(run_references(rows, data_dir, results_dir, args))
    return outcome


def _seconds(result: dict, key: str) -> float | None:
    """A stage's seconds; a stage that failed or never ran has none."""
    return result.get("seconds", {}).get(key)


def _total(result: dict | None) -> float | None:
    return result.get("total_seconds") if result and "error" not in result else None


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def plain_columns(custseg: dict, plain: dict | None, mode: str) -> dict:
    """Plain Spark's phases and custseg / plain for each stage and for i+r+c. Plain Spark
    always fits k = 4 and 5 on every customer, custseg's ``fixed`` mode: in the ``sweep``
    mode its cluster phase and total are shown but not divided into."""
    plain = plain or {}
    custseg_seconds = {
        "ingest": _seconds(custseg, "ingest"),
        "rfm": _seconds(custseg, "rfm"),
        "cluster": _seconds(custseg, f"cluster_{mode}"),
    }
    comparable = {"ingest": True, "rfm": True, "cluster": mode == "fixed"}
    columns = {}
    for phase, seconds in custseg_seconds.items():
        columns[f"plain_{phase}_s"] = _seconds(plain, phase)
        columns[f"{phase}_per_plain"] = (
            _ratio(seconds, _seconds(plain, phase)) if comparable[phase] else None
        )
    total = _seconds(custseg, f"total_{mode}")
    columns["plain_s"] = _total(plain)
    columns["custseg_per_plain"] = _ratio(total, _total(plain)) if mode == "fixed" else None
    columns["plain_jvm_mib"] = plain.get("jvm_peak_mib")
    return columns


def table_rows(outcome: dict) -> list[dict]:
    """One row per cluster mode: the numbers the issue's targets are stated in."""
    custseg = outcome["custseg"]
    pandas, duckdb = outcome.get("pandas"), outcome.get("duckdb")
    rows = outcome["generation"]["counts"]["rows"]
    scored = custseg.get("summaries", {}).get("rfm", {}).get("customers_scored")
    ingest_rfm = None
    if _seconds(custseg, "ingest") is not None and _seconds(custseg, "rfm") is not None:
        ingest_rfm = round(custseg["seconds"]["ingest"] + custseg["seconds"]["rfm"], 3)
    table = []
    for mode in custseg.get("cluster_modes", ["-"]):
        total = _seconds(custseg, f"total_{mode}")
        table.append(
            {
                "size": outcome["size"],
                "mode": mode,
                "rows": rows,
                "customers": scored,
                "ingest_s": _seconds(custseg, "ingest"),
                "rfm_s": _seconds(custseg, "rfm"),
                "cluster_s": _seconds(custseg, f"cluster_{mode}"),
                "report_s": _seconds(custseg, f"report_{mode}"),
                "custseg_s": total,
                **plain_columns(custseg, outcome.get("plain_spark"), mode),
                "pandas_s": _total(pandas),
                "duckdb_s": _total(duckdb),
                "custseg_per_pandas": _ratio(total, _total(pandas)),
                "ingest_rfm_per_duckdb": _ratio(ingest_rfm, _total(duckdb)),
                "rows_per_s": round(rows / total) if total else None,
                "driver_mib": custseg.get("python_peak_mib"),
                "jvm_mib": custseg.get("jvm_peak_mib"),
                "pandas_mib": (pandas or {}).get("peak_rss_mib"),
                "duckdb_mib": (duckdb or {}).get("peak_rss_mib"),
            }
        )
    return table


def customer_disagreements(outcome: dict) -> list[str]:
    """The programs must find the same customers in the same files; say where they do not."""
    counts = {
        "custseg": outcome["custseg"].get("summaries", {}).get("rfm", {}).get("customers_scored"),
        **{name: (outcome.get(name) or {}).get("customers") for name in REFERENCES},
    }
    found = {name: count for name, count in counts.items() if count is not None}
    if len(set(found.values())) <= 1:
        return []
    return [f"{outcome['size']}: customers differ: {found}"]


# Each custseg stage is followed by plain Spark's matching phase and custseg / plain.
COLUMNS = (
    ("size", "size", "{}"),
    ("mode", "cluster", "{}"),
    ("rows", "rows", "{:,}"),
    ("customers", "customers", "{:,}"),
    ("ingest_s", "ingest s", "{:.1f}"),
    ("plain_ingest_s", "plain i s", "{:.1f}"),
    ("ingest_per_plain", "i x plain", "{:.2f}"),
    ("rfm_s", "rfm s", "{:.1f}"),
    ("plain_rfm_s", "plain r s", "{:.1f}"),
    ("rfm_per_plain", "r x plain", "{:.2f}"),
    ("cluster_s", "cluster s", "{:.1f}"),
    ("plain_cluster_s", "plain c s", "{:.1f}"),
    ("cluster_per_plain", "c x plain", "{:.2f}"),
    ("report_s", "report s", "{:.1f}"),
    ("custseg_s", "i+r+c s", "{:.1f}"),
    ("plain_s", "plain s", "{:.1f}"),
    ("custseg_per_plain", "x plain", "{:.2f}"),
    ("pandas_s", "pandas s", "{:.1f}"),
    ("duckdb_s", "duckdb s", "{:.1f}"),
    ("custseg_per_pandas", "x pandas", "{:.2f}"),
    ("ingest_rfm_per_duckdb", "i+r x duckdb", "{:.2f}"),
    ("rows_per_s", "rows/s", "{:,}"),
    ("driver_mib", "driver MiB", "{:.0f}"),
    ("jvm_mib", "JVM MiB", "{:.0f}"),
    ("plain_jvm_mib", "plain JVM MiB", "{:.0f}"),
    ("pandas_mib", "pandas MiB", "{:.0f}"),
    ("duckdb_mib", "duckdb MiB", "{:.0f}"),
)


def format_table(rows: list[dict]) -> str:
    """A plain table, right-aligned, ``-`` where a program failed or was skipped."""
    cells = [[title for _, title, _ in COLUMNS]]
    for row in rows:
        cells.append(
            ["-" if row[key] is None else pattern.format(row[key]) for key, _, pattern in COLUMNS]
        )
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.rjust(width) for cell, width in zip(line, widths)) for line in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("pyspark", "delta-spark", "pandas", "numpy", "scikit-learn", "duckdb"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found


def machine() -> dict:
    """What the numbers depend on besides the code: cores, memory, load, versions, commit."""
    meminfo = Path("/proc/meminfo")
    memory_kib = None
    if meminfo.exists():
        first = meminfo.read_text().splitlines()[0].split()
        memory_kib = int(first[1]) if first[0] == "MemTotal:" else None
    git = ["git", "-C", str(REPO)]
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True)
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024**2, 1) if memory_kib else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": _versions(),
        "commit": commit.stdout.strip() or None,
        "uncommitted_changes": bool(dirty.stdout.strip()),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = {
        "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": [Path(sys.argv[0]).name, *(sys.argv[1:] if argv is None else argv)],
        "machine": machine(),
        "options": {
            "cluster": args.cluster,
            "references": args.references,
            "overrides": args.overrides,
            "seed": args.seed,
        },
        "sizes": [],
        "table": [],
    }
    for rows in args.sizes:
        load_before = os.getloadavg()
        outcome = benchmark_size(rows, args)
        outcome["load_average_before"] = [round(load, 2) for load in load_before]
        report["sizes"].append(outcome)
        report["table"].extend(table_rows(outcome))
        report["warnings"] = [w for o in report["sizes"] for w in customer_disagreements(o)]
        report["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
        progress(f"{count_label(rows)} done; results so far in {args.json}")
    print()
    print(format_table(report["table"]))
    print(
        "plain: plain PySpark in custseg's session settings (bench_plain_spark.py); "
        "x plain: custseg / plain, per stage and for i+r+c (cluster and total: fixed mode only)"
    )
    for warning in report["warnings"]:
        print(f"WARNING {warning}")
    print(f"\nJSON: {args.json}")
    failed = [o["size"] for o in report["sizes"] if "error" in o["custseg"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
