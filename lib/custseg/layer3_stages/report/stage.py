"""The report stage: segments_current, table maintenance, then the HTML report and its PNGs
for the run's as_of.

The page is drawn into a local temporary folder and then copied to ``report.path`` through
Hadoop's FileSystem, so the report can live wherever the warehouse can (HDFS, object stores).
The report reads Delta tables only and brings nothing customer-level to the driver beyond
the bounded PCA sample (``report.sample_size``). Tables are registered as ``custseg.<name>``
at the end; the default catalog is in-memory, so that lasts for the session.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.layer1_core.config import Settings
from custseg.layer1_core.tables import (
    CLUSTER_FEATURES,
    CLUSTER_PROFILES,
    COMPACT_ONLY,
    CUSTOMER_CLUSTERS,
    CUSTOMER_PROFILES,
    CUSTOMER_RFM,
    MODEL_COMPARISON,
    MODEL_SELECTION,
    SEGMENT_CLUSTER_CROSSTAB,
    SEGMENT_SUMMARY,
    SEGMENT_TRANSITIONS,
    SEGMENTS_CURRENT,
    table_location,
)
from custseg.layer1_core.tables.cluster_tables import IS_PRIMARY
from custseg.layer2_io import delta_io
from custseg.layer2_io.console import step
from custseg.layer2_io.locations import display_location, publish_folder
from custseg.layer2_io.run_context import RunContext
from custseg.layer3_stages.report.aggregates import at_as_of
from custseg.layer3_stages.report.current import primary_clusters, segments_current
from custseg.layer3_stages.report.document import write_report
from custseg.layer3_stages.report.inputs import (
    PrimaryModel,
    gather_report_inputs,
    primary_model,
    selection_at,
)
from custseg.layer3_stages.report.summary import ReportSummary

log = logging.getLogger("custseg")

REPORT_SOURCES = (
    CUSTOMER_RFM,
    SEGMENT_SUMMARY,
    SEGMENT_TRANSITIONS,
    CUSTOMER_CLUSTERS,
    MODEL_SELECTION,
    MODEL_COMPARISON,
    CLUSTER_PROFILES,
    CLUSTER_FEATURES,
    SEGMENT_CLUSTER_CROSSTAB,
    CUSTOMER_PROFILES,
)


def run(spark: SparkSession, settings: Settings, context: RunContext) -> ReportSummary:
    as_of, root = context.as_of, settings.warehouse_root
    frames = {
        spec.name: delta_io.maybe_read_table(spark, root, spec.name) for spec in REPORT_SOURCES
    }
    inputs = gather_report_inputs(
        frames,
        as_of,
        settings.rfm.bins,
        settings.clustering.features,
        min_k=settings.clustering.min_k,
        sample_size=settings.report.sample_size,
    )
    step(log, "write segments_current")
    current_rows = write_segments_current(spark, root, as_of, frames, inputs.primary)
    step(log, "compact the tables appended in batches")
    optimize_stats = optimize_tables(spark, root)
    target = f"{settings.report.path.rstrip('/')}/{as_of.isoformat()}"
    footer = (
        f"custseg run {context.run_id}; source: Delta tables under {root}; as_of "
        f"{as_of.isoformat()}. Customer keys are pseudonymised and the page holds "
        "aggregates and an anonymous sample only."
    )
    step(log, "draw the figures and the page")
    with tempfile.TemporaryDirectory(prefix="custseg-report-") as local_folder:
        written = write_report(inputs, Path(local_folder), footer=footer)
        published = publish_folder(spark, Path(local_folder), target)
    page = display_location(next(uri for uri in published if uri.endswith(written.page.name)))
    registered = delta_io.register_in_catalog(spark, root)
    log.info("report for as_of %s written to %s", as_of, page)
    return ReportSummary(
        as_of=as_of.isoformat(),
        report_path=page,
        figures=[display_location(uri) for uri in published if uri.endswith(".png")],
        segments_current_rows=current_rows,
        optimize=optimize_stats,
        registered_tables=registered,
    )


def write_segments_current(
    spark: SparkSession,
    warehouse_root: str,
    as_of: dt.date,
    frames: Mapping[str, DataFrame | None],
    primary: PrimaryModel | None,
) -> int:
    """Rewrites segments_current in full: it is a snapshot, its history lives in customer_rfm."""
    snapshot = _snapshot(frames, as_of, primary)
    delta_io.write_table(
        spark, warehouse_root, SEGMENTS_CURRENT, snapshot, mode="overwrite", replace_schema=True
    )
    # Delta answers a bare count from the file statistics of the log, without a scan.
    return delta_io.read_table(spark, warehouse_root, SEGMENTS_CURRENT.name).count()


def current_snapshot(
    spark: SparkSession, warehouse_root: str, as_of: dt.date, min_k: int
) -> DataFrame:
    """segments_current's rows for any scored ``as_of``, not written anywhere: an export for
    an earlier month needs that month's picture, and the table holds only the latest.
    The primary model is chosen as the report of that as_of chose it."""
    frames = {
        spec.name: delta_io.maybe_read_table(spark, warehouse_root, spec.name)
        for spec in (CUSTOMER_CLUSTERS, CLUSTER_PROFILES, MODEL_SELECTION)
    }
    for spec in (CUSTOMER_RFM, SEGMENT_SUMMARY):
        frames[spec.name] = delta_io.read_table(spark, warehouse_root, spec.name)
    selection = selection_at(frames["model_selection"], as_of)
    return _snapshot(frames, as_of, primary_model(selection, min_k))


def _snapshot(
    frames: Mapping[str, DataFrame | None], as_of: dt.date, primary: PrimaryModel | None
) -> DataFrame:
    """One way to build the rows, so the table and an export of any as_of agree."""
    clusters, profiles = frames["customer_clusters"], frames["cluster_profiles"]
    model = _primary_key(clusters, as_of, primary)
    cluster_rows = (
        None
        if model is None or profiles is None
        else primary_clusters(clusters, profiles, model, as_of)
    )
    return segments_current(frames["customer_rfm"], frames["segment_summary"], cluster_rows, as_of)


def _primary_key(
    clusters: DataFrame | None, as_of: dt.date, primary: PrimaryModel | None
) -> tuple[str, int] | None:
    """The report's primary model; at an as_of only ``custseg score`` wrote (no
    model_selection there), the model whose customer_clusters rows are flagged primary."""
    if primary is not None:
        return primary.algorithm, primary.k
    if clusters is None or IS_PRIMARY not in clusters.columns:
        return None
    flagged = (
        at_as_of(clusters, as_of).where(F.col(IS_PRIMARY)).select("algorithm", "k").limit(1)
    ).collect()
    return (flagged[0]["algorithm"], int(flagged[0]["k"])) if flagged else None


def optimize_tables(spark: SparkSession, warehouse_root: str) -> dict:
    """Compaction of the tables appended in small batches; returns their file counts before
    and after. The customer tables are not touched: they are written in customer_key order
    (``TableSpec.sorted_by``), where a Z-order would read and rewrite them once more."""
    stats = {}
    for name in COMPACT_ONLY:
        path = table_location(warehouse_root, name)
        if delta_io.table_exists(spark, path):
            stats[name] = delta_io.optimize_table(spark, path)
    return stats
