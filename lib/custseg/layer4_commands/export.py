"""``custseg export``: the customers of some segments as one file for a campaign tool.

A campaign starts from a list: "At Risk and Can't Lose, only the ones in the big-spender
cluster". The rows are segments_current's flat columns, so the file opens in a
spreadsheet and joins back to the CRM on ``customer_key``. The latest as_of is read from
segments_current itself; an earlier as_of is rebuilt from the history tables exactly as
the report would have written it then. Only counts and the few segment and cluster names
come to the driver; customer rows go from the executors to the file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.layer1_core.config import Settings
from custseg.layer1_core.tables import AS_OF, CUSTOMER_KEY, CUSTOMER_RFM, SEGMENTS_CURRENT
from custseg.layer2_io import delta_io
from custseg.layer2_io.single_file import check_output, write_single_file
from custseg.layer2_io.spark import cached
from custseg.layer2_io.table_upgrades import upgrade_tables
from custseg.layer3_stages.report.stage import current_snapshot


class ExportError(ValueError):
    """Nothing to export as asked (no customers, an unknown name), in one line."""


@dataclasses.dataclass(frozen=True)
class ExportResult:
    output: str
    rows: int
    as_of: dt.date
    segments: tuple[str, ...]
    cluster: str | None


def snapshot_for(
    spark: SparkSession, settings: Settings, as_of: dt.date | None
) -> tuple[DataFrame, dt.date]:
    """segments_current's rows and their as_of: the table when it holds the as_of asked
    for (or none was asked), otherwise that as_of rebuilt from the history tables."""
    root = settings.warehouse_root
    table = (
        delta_io.read_table(spark, root, SEGMENTS_CURRENT.name)
        if as_of is None
        else delta_io.maybe_read_table(spark, root, SEGMENTS_CURRENT.name)
    )
    latest = None if table is None else table.agg(F.max(AS_OF)).first()[0]
    if as_of is None and latest is None:
        raise ExportError("segments_current is empty: run the report stage first")
    if as_of is None or as_of == latest:
        return table, latest
    upgrade_tables(spark, root)  # the history tables of an older custseg, as the report would
    return current_snapshot(spark, root, as_of, settings.clustering.min_k), as_of


def _scored_as_ofs(spark: SparkSession, warehouse_root: str) -> str:
    rfm = delta_io.read_table(spark, warehouse_root, CUSTOMER_RFM.name)
    dates = sorted(row[AS_OF] for row in rfm.select(AS_OF).distinct().collect())
    return ", ".join(d.isoformat() for d in dates) or "none"


def _names(frame: DataFrame, column: str) -> list[str]:
    """The distinct non-null values of a low-cardinality column (segments, clusters)."""
    rows = frame.where(F.col(column).isNotNull()).select(column).distinct().collect()
    return sorted(row[column] for row in rows)


def _check_known(asked: Sequence[str], known: Sequence[str], what: str, as_of: dt.date) -> None:
    unknown = [name for name in asked if name not in known]
    if unknown:
        raise ExportError(
            f"unknown {what} {', '.join(map(repr, unknown))} at as_of {as_of.isoformat()}; "
            f"known: {', '.join(known) or 'none'}"
        )


def select_customers(
    snapshot: DataFrame, as_of: dt.date, segments: Sequence[str], cluster: str | None
) -> DataFrame:
    """The customers of ``segments`` (and of the primary model's ``cluster``, checked
    first: a typo would otherwise export nobody), in the spec's column order and sorted by
    customer_key, so two exports of the same data are the same file."""
    chosen = snapshot.where(F.col("segment").isin(list(segments)))
    if cluster is not None:
        clusters = _names(snapshot, "cluster_name")
        if not clusters:
            raise ExportError(f"no cluster model at as_of {as_of.isoformat()}: drop --cluster")
        _check_known([cluster], clusters, "cluster", as_of)
        chosen = chosen.where(F.col("cluster_name") == F.lit(cluster))
    # Cast to the spec's types too: a rebuilt as_of without a cluster model has untyped
    # null cluster columns, which neither CSV nor Parquet can write.
    return delta_io.conform(chosen, SEGMENTS_CURRENT).orderBy(CUSTOMER_KEY)


def export_segments(
    spark: SparkSession,
    settings: Settings,
    segments: Sequence[str],
    target: str,
    *,
    cluster: str | None = None,
    as_of: dt.date | None = None,
) -> ExportResult:
    """Writes the chosen customers to ``target`` (.csv or .parquet). The output and the
    names are checked before any customer is read; the rows are cached so counting them
    and writing them compute the snapshot once."""
    final = check_output(spark, target)
    segments = tuple(dict.fromkeys(segments))
    snapshot, as_of = snapshot_for(spark, settings, as_of)
    known = _names(snapshot, "segment")
    if not known:
        raise ExportError(
            f"no customers scored at as_of {as_of.isoformat()}; scored as_ofs: "
            f"{_scored_as_ofs(spark, settings.warehouse_root)}"
        )
    _check_known(segments, known, "segment", as_of)
    with cached(select_customers(snapshot, as_of, segments, cluster)) as customers:
        rows = customers.count()
        written = write_single_file(customers, final)
    return ExportResult(written, rows, as_of, segments, cluster)
