"""``custseg status``: what a warehouse holds, as plain aligned text for a terminal.

Everything shown is an aggregate computed by Spark (counts per as_of, the last few run
records) or read from the Delta log (versions, file counts, sizes): no customer row ever
reaches the driver, so it stays quick on a warehouse of any size.
"""

from __future__ import annotations

from collections.abc import Sequence

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.layer1_core.tables import (
    ALL_TABLES,
    AS_OF,
    CUSTOMER_RFM,
    INGEST_RUNS,
    MODEL_SELECTION,
    RUNS,
)
from custseg.layer1_core.tables.spec import table_location
from custseg.layer2_io import delta_io
from custseg.layer2_io.locations import display_location

NOT_WRITTEN = "not written yet"
LAST_RUNS = 5
ERROR_WIDTH = 80


def status_text(spark: SparkSession, warehouse_root: str) -> str:
    sections = [
        [f"Warehouse: {display_location(warehouse_root)}"],
        _section("as_of dates", CUSTOMER_RFM.name, _as_of_rows(spark, warehouse_root)),
        _section("Last ingest runs", INGEST_RUNS.name, _ingest_rows(spark, warehouse_root)),
        _section("Last runs", RUNS.name, _run_rows(spark, warehouse_root)),
        ["Tables", *aligned(_table_rows(spark, warehouse_root))],
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


def _as_of_rows(spark: SparkSession, root: str) -> list[tuple] | None:
    """Customers and segments per as_of, with the primary model where clustering flagged
    one ('-' before clustering, or for sweeps written before custseg flagged one)."""
    rfm = delta_io.maybe_read_table(spark, root, CUSTOMER_RFM.name)
    if rfm is None:
        return None
    counts = (
        rfm.groupBy(AS_OF)
        .agg(F.count(F.lit(1)).alias("customers"), F.countDistinct("segment").alias("segments"))
        .orderBy(AS_OF)
        .collect()
    )
    primary = _primary_models(spark, root)
    header = ("as_of", "customers", "segments", "primary model")
    return [header] + [
        (r[AS_OF].isoformat(), r["customers"], r["segments"], primary.get(r[AS_OF], "-"))
        for r in counts
    ]


def _primary_models(spark: SparkSession, root: str) -> dict:
    selection = delta_io.maybe_read_table(spark, root, MODEL_SELECTION.name)
    if selection is None:
        return {}
    rows = selection.where(F.col("is_primary")).select(AS_OF, "algorithm", "k").collect()
    return {r[AS_OF]: f"{r['algorithm']}_k{r['k']}" for r in rows}


def _last(frame: DataFrame, columns: list) -> list:
    """The newest rows by started_at, shown in UTC as the session's time zone makes it."""
    started = F.date_format("started_at", "yyyy-MM-dd HH:mm:ss").alias("started_at (UTC)")
    return (
        frame.orderBy(F.col("started_at").desc())
        .limit(LAST_RUNS)
        .select(started, *columns)
        .collect()
    )


def _ingest_rows(spark: SparkSession, root: str) -> list[tuple] | None:
    runs = delta_io.maybe_read_table(spark, root, INGEST_RUNS.name)
    if runs is None:
        return None
    columns = [
        "ingest_run_id",
        F.size("files_read").alias("files read"),
        F.col("files_skipped").alias("skipped"),
        F.col("rows_read").alias("rows read"),
        F.col("rows_written").alias("written"),
        F.col("rows_quarantined").alias("quarantined"),
    ]
    rows = _last(runs, columns)
    header = (
        "started_at (UTC)",
        "run_id",
        "files read",
        "skipped",
        "rows read",
        "written",
        "quarantined",
    )
    return [header] + [tuple(r) for r in rows]


def _run_rows(spark: SparkSession, root: str) -> list[tuple] | None:
    runs = delta_io.maybe_read_table(spark, root, RUNS.name)
    if runs is None:
        return None
    rows = _last(runs, ["command", AS_OF, "outcome", "seconds_total", "run_id", "error"])
    header = ("started_at (UTC)", "command", "as_of", "outcome", "seconds", "run_id", "error")
    return [header] + [
        (
            r[0],
            r["command"],
            r[AS_OF],
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


def _table_rows(spark: SparkSession, root: str) -> list[tuple]:
    """Each declared table's current version, data files and size, from its Delta log."""
    rows: list[tuple] = [("table", "version", "files", "size")]
    for name in ALL_TABLES:
        path = table_location(root, name)
        if not delta_io.table_exists(spark, path):
            rows.append((name, NOT_WRITTEN))
            continue
        table = DeltaTable.forPath(spark, path)
        detail = table.detail().select("numFiles", "sizeInBytes").first()
        version = table.history(1).select("version").first()[0]
        rows.append((name, version, detail["numFiles"], readable_size(detail["sizeInBytes"])))
    return rows


def readable_size(size: int) -> str:
    """Bytes as a person reads them: 1 decimal from KB on (1024-based, as ``du -h``)."""
    value, unit = float(size), "B"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            break
        value /= 1024
    return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
