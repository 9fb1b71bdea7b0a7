"""Runs custseg stage by stage on the benchmark's CSV files, in this one process.

    .venv/bin/python scripts/bench/bench_custseg.py --data data/bench/1M --work data/bench-work/1M \\
        --result out.json [--cluster fixed|sweep|both] [--set key=value]...

This is what ``custseg run`` does (packaged local config, one SparkSession, one as_of
resolved after ingest and shared by every later stage), with a clock and the memory peaks
around each stage. ``scripts/bench/benchmark.py`` starts it once per data size, so the peaks of
the Python driver and of the Spark JVM belong to that size alone. The warehouse, reports and
hash key are throwaway: the work folder is emptied first, the key is random per run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import sys
import time
import traceback
from pathlib import Path

from custseg.layer1_core.config import load_packaged_settings
from custseg.layer2_io.run_context import RunContext
from custseg.layer2_io.spark import get_spark
from custseg.layer2_io.stage_summary import StageSummary
from custseg.layer4_commands import pipeline

# "fixed": the two models the seed study compared, k = 4 and 5 only, on every customer.
# "sweep": the packaged config's k range, fitted on a sample as a default run would be.
CLUSTER_MODES = {
    "fixed": ["clustering.k_range=[4, 5]", "clustering.k=[4, 5]"],
    "sweep": ["clustering.sample_size=200000"],
}
# Summary fields worth keeping in the results (the report's list of figures is not).
KEPT_SUMMARY_FIELDS = {
    "ingest": (
        "rows_read",
        "rows_written",
        "rows_quarantined",
        "duplicates_removed",
        "distinct_customers",
        "quarantined_by_reason",
    ),
    "rfm": ("as_of", "transactions_in_window", "customers_scored", "score_edges"),
    "cluster": ("customers", "training_customers", "chosen_k", "models", "seconds"),
    "report": ("segments_current_rows", "optimize"),
}


REPORTED_SPARK_CONF = ("spark.master", "spark.driver.memory", "spark.sql.shuffle.partitions")


def peak_rss_mib(pid: int) -> float | None:
    """VmHWM (peak resident set) of a process in MiB; None where /proc does not say."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def reset_peak_rss(pid: int) -> bool:
    """Restarts VmHWM from the current RSS (Linux ``clear_refs`` 5), so that the JVM's peak
    can be told per stage; the overall peak is then the largest of the stage peaks."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def python_peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def settings_overrides(data: Path, work: Path, extra: list[str]) -> list[str]:
    """Paths under the work folder and the input folder, JSON-quoted (YAML reads JSON
    strings) so that no path character is taken for YAML syntax."""
    return [
        f"warehouse={json.dumps(str(work / 'warehouse'))}",
        f"input.path={json.dumps(str(data))}",
        f"report.path={json.dumps(str(work / 'reports'))}",
        "pseudonym.key_file=null",
        # the references drop exact duplicate lines (pandas drop_duplicates, DuckDB
        # SELECT DISTINCT): custseg does the same work, not its cheaper default (keep)
        "cleaning.duplicate_lines=drop",
        *extra,
    ]


class StageClock:
    """Times stages and records the JVM's and the driver's memory peak after each."""

    def __init__(self, jvm_pid: int):
        self.jvm_pid = jvm_pid
        self.stages: list[dict] = []
        self.per_stage_jvm_peak = reset_peak_rss(jvm_pid)

    def run(self, label: str, work) -> object:
        started = time.perf_counter()
        outcome = work()
        seconds = round(time.perf_counter() - started, 3)
        record = {
            "stage": label,
            "seconds": seconds,
            "jvm_peak_mib": peak_rss_mib(self.jvm_pid),
            "python_peak_mib": python_peak_mib(),
        }
        self.stages.append(record)
        if self.per_stage_jvm_peak:
            reset_peak_rss(self.jvm_pid)
        print(
            f"[bench custseg] {label}: {seconds:.1f}s (JVM peak {record['jvm_peak_mib']} MiB)",
            flush=True,
        )
        return outcome


def kept(stage: str, summary: StageSummary) -> dict:
    fields = summary.as_dict()
    return {key: fields.get(key) for key in KEPT_SUMMARY_FIELDS.get(stage, ())}


def run_stages(spark, settings_by_mode: dict, clock: StageClock, summaries: dict) -> None:
    """ingest, the as_of, rfm once; then cluster and report for each cluster mode. Fills
    ``summaries`` as stages finish, so a failure still leaves what ran before it."""
    first = next(iter(settings_by_mode.values()))
    context = RunContext.start()
    summaries["ingest"] = clock.run(
        "ingest", lambda: pipeline.run_stage(spark, first, context, "ingest")
    )
    context = clock.run("as_of", lambda: pipeline.with_as_of(spark, first, context))
    summaries["rfm"] = clock.run("rfm", lambda: pipeline.run_stage(spark, first, context, "rfm"))
    for mode, settings in settings_by_mode.items():
        for stage in ("cluster", "report"):
            summaries[f"{stage}_{mode}"] = clock.run(
                f"{stage}_{mode}",
                lambda s=settings, n=stage: pipeline.run_stage(spark, s, context, n),
            )


def stage_seconds(clock: StageClock, modes: list[str]) -> dict:
    """Seconds per stage; resolving the as_of is counted with rfm, whose single-stage
    command would resolve it itself. A total only when all its stages ran."""
    seconds = {record["stage"]: record["seconds"] for record in clock.stages}
    if "rfm" in seconds:
        seconds["rfm"] = round(seconds["rfm"] + seconds.pop("as_of"), 3)
    for mode in modes:
        parts = ("ingest", "rfm", f"cluster_{mode}")
        if all(part in seconds for part in parts):
            seconds[f"total_{mode}"] = round(sum(seconds[part] for part in parts), 3)
    return seconds


def _first_line(error: BaseException) -> str:
    """Spark errors carry the whole JVM trace after their first line."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def benchmark(data: Path, work: Path, modes: list[str], extra: list[str]) -> dict:
    overrides = settings_overrides(data, work, extra)
    settings_by_mode = {
        mode: load_packaged_settings("local.yaml", overrides + CLUSTER_MODES[mode])
        for mode in modes
    }
    for settings in settings_by_mode.values():
        # throwaway, unless given: a fixed key lets two runs' tables be compared row by row
        os.environ.setdefault(settings.pseudonym.key_env, secrets.token_hex(32))
    started = time.perf_counter()
    spark = get_spark(next(iter(settings_by_mode.values())), app_name="custseg-benchmark")
    session_seconds = round(time.perf_counter() - started, 3)
    jvm_pid = int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
    print(f"[bench custseg] Spark session: {session_seconds:.1f}s (JVM pid {jvm_pid})", flush=True)
    clock, summaries, error = StageClock(jvm_pid), {}, None
    # the session's values: shuffle partitions are set at run time (custseg.layer2_io.sizing)
    spark_conf = {key: spark.conf.get(key, None) for key in REPORTED_SPARK_CONF}
    try:
        run_stages(spark, settings_by_mode, clock, summaries)
    except Exception as failure:  # noqa: BLE001 - a benchmark reports how far it got
        traceback.print_exc()
        error = _first_line(failure)
    finally:
        spark.stop()
    jvm_peaks = [r["jvm_peak_mib"] for r in clock.stages if r["jvm_peak_mib"] is not None]
    result = {
        "program": "custseg",
        "cluster_modes": modes,
        "session_seconds": session_seconds,
        "seconds": stage_seconds(clock, modes),
        "stages": clock.stages,
        "summaries": {name: kept(name.split("_")[0], s) for name, s in summaries.items()},
        "spark_conf": spark_conf,
        "jvm_peak_mib": max(jvm_peaks) if jvm_peaks else None,
        "python_peak_mib": python_peak_mib(),
    }
    return {**result, "error": error} if error else result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path, help="folder of monthly CSV files")
    parser.add_argument("--work", required=True, type=Path, help="emptied, then used")
    parser.add_argument("--result", required=True, type=Path, help="JSON file to write")
    parser.add_argument("--cluster", choices=("fixed", "sweep", "both"), default="fixed")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    data, work, result_path = args.data.resolve(), args.work.resolve(), args.result.resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    os.chdir(work)  # anything Spark writes next to the working directory stays in here
    modes = ["fixed", "sweep"] if args.cluster == "both" else [args.cluster]
    result = benchmark(data, work, modes, args.overrides)
    result_path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
