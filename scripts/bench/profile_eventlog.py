"""Where a Spark application spent its time, from its event log.

    .venv/bin/python scripts/bench/bench_custseg.py ... \\
        --set 'spark.conf={"spark.eventLog.enabled": "true", "spark.eventLog.dir": "file:///tmp/ev"}'
    .venv/bin/python scripts/bench/profile_eventlog.py /tmp/ev/<application folder or file> [--top 25]

Prints, per call site (the Python or Scala line that started the jobs): the number of jobs,
their tasks, and the wall time inside them; then the time between jobs (driver work and
Python). Event logs compressed with zstd (Spark's default codec) are read through the
``zstd`` command.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
from pathlib import Path


def event_lines(path: Path):
    files = sorted(path.glob("events_*")) if path.is_dir() else [path]
    for file in files:
        if file.suffix == ".zstd":
            text = subprocess.run(
                ["zstd", "-dc", str(file)], check=True, capture_output=True, text=True
            ).stdout
        else:
            text = file.read_text()
        yield from text.splitlines()


def jobs_of(path: Path) -> list[dict]:
    """One dict per finished job: call site, SQL query id, start and end (ms), tasks."""
    started: dict[int, dict] = {}
    finished = []
    for line in event_lines(path):
        if '"SparkListenerJob' not in line[:60]:
            continue
        event = json.loads(line)
        if event["Event"] == "SparkListenerJobStart":
            properties = event.get("Properties") or {}
            stages = event.get("Stage Infos") or [{}]
            started[event["Job ID"]] = {
                # jobs started inside the JVM (MLlib, Delta) carry no Python call site
                "site": properties.get("callSite.short") or stages[-1].get("Stage Name", "?"),
                "start": event["Submission Time"],
                "query": properties.get("spark.sql.execution.root.id"),
                "tasks": sum(s.get("Number of Tasks", 0) for s in event.get("Stage Infos", [])),
            }
        elif event["Event"] == "SparkListenerJobEnd" and event["Job ID"] in started:
            job = started.pop(event["Job ID"])
            finished.append({**job, "end": event["Completion Time"]})
    return sorted(finished, key=lambda j: j["start"])


ASYNC_SITES = ("CompletableFuture", "ForkJoinTask")


UNATTRIBUTED = "(thread-pool jobs of no query with a call site)"


def attribute_async_jobs(jobs: list[dict]) -> list[dict]:
    """Adaptive query execution runs each shuffle stage of a query as its own job from a
    thread pool, so those jobs carry no call site. They are counted with a job of the same
    SQL query (``spark.sql.execution.root.id``) that has one, preferably a Python line,
    marked with ``+aqe``. Matching by query keeps the shuffle jobs of concurrent MLlib fits
    off the Python action that happens to come next. Those with no query id, or whose query
    ran only thread-pool jobs, are shown apart."""
    site_of_query: dict[str, str] = {}
    for job in jobs:
        if job["query"] is None or any(marker in job["site"] for marker in ASYNC_SITES):
            continue
        if ".py:" in job["site"] or job["query"] not in site_of_query:
            site_of_query[job["query"]] = job["site"]
    attributed = []
    for job in jobs:
        if any(marker in job["site"] for marker in ASYNC_SITES):
            site = site_of_query.get(job["query"])
            job = {**job, "site": f"{site} +aqe" if site else UNATTRIBUTED}
        attributed.append(job)
    return attributed


def busy_ms(jobs: list[dict]) -> int:
    """Wall time covered by at least one job (concurrent jobs are not counted twice)."""
    total, covered_to = 0, None
    for job in jobs:
        start = job["start"] if covered_to is None else max(job["start"], covered_to)
        if job["end"] > start:
            total += job["end"] - start
        covered_to = job["end"] if covered_to is None else max(covered_to, job["end"])
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path, help="event log folder (v2) or file")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    jobs = attribute_async_jobs(jobs_of(args.log))
    if not jobs:
        raise SystemExit(f"no finished jobs in {args.log}")
    by_site: dict[str, list[dict]] = collections.defaultdict(list)
    for job in jobs:
        by_site[job["site"]].append(job)
    rows = sorted(by_site.items(), key=lambda item: -busy_ms(item[1]))
    print(f"{'seconds':>8} {'jobs':>5} {'tasks':>6}  call site")
    for site, site_jobs in rows[: args.top]:
        tasks = sum(j["tasks"] for j in site_jobs)
        print(f"{busy_ms(site_jobs) / 1000:8.1f} {len(site_jobs):5d} {tasks:6d}  {site}")
    span = jobs[-1]["end"] - jobs[0]["start"]
    inside = busy_ms(jobs)
    print(
        f"\n{len(jobs)} jobs; first start to last end {span / 1000:.1f}s, inside jobs "
        f"{inside / 1000:.1f}s, between jobs {(span - inside) / 1000:.1f}s"
    )


if __name__ == "__main__":
    main()
