"""``custseg status``: what a warehouse holds, as plain aligned text for a terminal.

Everything shown comes from a ``TableReader`` (``custseg.layer2_io.delta_log``): versions,
file counts and sizes from the Delta logs, counts per as_of, and the last few rows of the
small run tables; no customer row ever reaches the driver, so it stays quick on a warehouse
of any size. On a warehouse on the local disk the tables are read with delta-rs and no JVM
starts, so the answer takes a second or so even on a busy machine (``status_without_spark``);
elsewhere the runner reads them through Spark (``SparkTableReader``), with the same text.
This module imports no pyspark.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from custseg.layer1_core.config import Settings
from custseg.layer1_core.tables import (
    ALL_TABLES,
    AS_OF,
    CUSTOMER_RFM,
    INGEST_RUNS,
    MODEL_SELECTION,
    RUNS,
)
from custseg.layer2_io.console import Console
from custseg.layer2_io.delta_log import DeltaLogReader, TableReader, local_warehouse
from custseg.layer2_io.locations import display_location

NOT_WRITTEN = "not written yet"
LAST_RUNS = 5
ERROR_WIDTH = 80


def status_without_spark(settings: Settings, shown: Console) -> bool:
    """Prints the status of a warehouse on the local disk, read with delta-rs; False (and
    nothing printed) for a warehouse only Spark reaches."""
    root = local_warehouse(settings)
    if root is None:
        return False
    shown.say(f"status: warehouse {display_location(root)}")
    print(status_text(DeltaLogReader(root)), end="")
    return True


def status_text(tables: TableReader) -> str:
    sections = [
        [f"Warehouse: {display_location(tables.root)}"],
        _section("as_of dates", CUSTOMER_RFM.name, _as_of_rows(tables)),
        _section("Last ingest runs", INGEST_RUNS.name, _ingest_rows(tables)),
        _section("Last runs", RUNS.name, _run_rows(tables)),
        ["Tables", *aligned(_table_rows(tables))],
    ]
    return "\n\n".join("\n".join(lines) for lines in sections) + "\n"


def _section(title: str, table: str, rows: list[tuple] | None) -> list[str]:
    """A titled block naming the table it comes from; None means that table is missing."""
    if rows is None:
        return [f"{title} ({table}): {NOT_WRITTEN}"]
    return [f"{title} ({table})", *aligned(rows)]


def aligned(rows: Sequence[Sequence[object]]) -> list[str]:
    """Left-aligned columns two spaces apart; None shows as '-'."""
    cells = [["-" if value is None else str(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells if i < len(row)) for i in range(len(cells[0]))]
    return [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in cells
    ]


def _nulls_first(value: object) -> tuple:
    """A sort key ordering as Spark's ascending sort does: nulls first."""
    return (value is not None, value)


def _as_of_rows(tables: TableReader) -> list[tuple] | None:
    """Customers and segments per as_of, with the primary model where clustering flagged
    one ('-' before clustering, or for sweeps written before custseg flagged one)."""
    if not tables.exists(CUSTOMER_RFM.name):
        return None
    customers: dict = defaultdict(int)
    segments: dict = defaultdict(set)
    for (as_of, segment), count in tables.counts(CUSTOMER_RFM.name, [AS_OF, "segment"]).items():
        customers[as_of] += count
        if segment is not None:
            segments[as_of].add(segment)
    primary = _primary_models(tables)
    header = ("as_of", "customers", "segments", "primary model")
    return [header] + [
        (_iso(as_of), customers[as_of], len(segments[as_of]), primary.get(as_of, "-"))
        for as_of in sorted(customers, key=_nulls_first)
    ]


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _primary_models(tables: TableReader) -> dict:
    if not tables.exists(MODEL_SELECTION.name):
        return {}
    rows = tables.rows(MODEL_SELECTION.name, [AS_OF, "algorithm", "k", "is_primary"])
    return {r[AS_OF]: f"{r['algorithm']}_k{r['k']}" for r in rows if r["is_primary"]}


def _last(tables: TableReader, name: str, columns: list[str]) -> list[dict] | None:
    """The newest rows by started_at, with started_at as text in UTC; None without the
    table."""
    if not tables.exists(name):
        return None
    rows = tables.rows(name, ["started_at", *columns])
    newest = sorted(rows, key=lambda r: _nulls_first(r["started_at"]), reverse=True)[:LAST_RUNS]
    return [{**row, "started_at": _utc_text(row["started_at"])} for row in newest]


def _utc_text(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _ingest_rows(tables: TableReader) -> list[tuple] | None:
    columns = [
        "ingest_run_id",
        "files_read",
        "files_skipped",
        "rows_read",
        "rows_written",
        "rows_quarantined",
    ]
    rows = _last(tables, INGEST_RUNS.name, columns)
    if rows is None:
        return None
    header = (
        "started_at (UTC)",
        "run_id",
        "files read",
        "skipped",
        "rows read",
        "written",
        "quarantined",
    )
    return [header] + [
        (
            r["started_at"],
            r["ingest_run_id"],
            None if r["files_read"] is None else len(r["files_read"]),
            *(r[c] for c in columns[2:]),
        )
        for r in rows
    ]


def _run_rows(tables: TableReader) -> list[tuple] | None:
    rows = _last(
        tables, RUNS.name, ["command", AS_OF, "outcome", "seconds_total", "run_id", "error"]
    )
    if rows is None:
        return None
    header = ("started_at (UTC)", "command", "as_of", "outcome", "seconds", "run_id", "error")
    return [header] + [
        (
            r["started_at"],
            r["command"],
            _iso(r[AS_OF]),
            r["outcome"],
            f"{r['seconds_total']:.1f}",
            r["run_id"],
            _short(r["error"]),
        )
        for r in rows
    ]


def _short(error: str | None) -> str | None:
    if error is None or len(error) <= ERROR_WIDTH:
        return error
    return error[: ERROR_WIDTH - 3] + "..."


def _table_rows(tables: TableReader) -> list[tuple]:
    """Each declared table's current version, data files and size, from its Delta log."""
    rows: list[tuple] = [("table", "version", "files", "size")]
    for name in ALL_TABLES:
        if not tables.exists(name):
            rows.append((name, NOT_WRITTEN))
            continue
        log = tables.log(name)
        rows.append((name, log.version, log.files, readable_size(log.size_bytes)))
    return rows


def readable_size(size: int) -> str:
    """Bytes as a person reads them: 1 decimal from KB on (1024-based, as ``du -h``)."""
    value, unit = float(size), "B"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            break
        value /= 1024
    return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
