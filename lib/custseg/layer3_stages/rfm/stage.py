"""The rfm stage: transactions -> customer_rfm, segment_summary, score_edges,
segment_transitions at the run's as_of.

Every write replaces exactly the rows of this as_of (Delta replaceWhere), so re-running a
date is idempotent and leaves the other dates alone. ``previous_segment`` and the
transitions compare with the latest as_of strictly before this one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.layer1_core.config import Settings
from custseg.layer1_core.tables import (
    AS_OF,
    CUSTOMER_RFM,
    SCORE_EDGES,
    SEGMENT_SUMMARY,
    SEGMENT_TRANSITIONS,
    TRANSACTIONS,
)
from custseg.layer2_io import delta_io
from custseg.layer2_io.console import step
from custseg.layer2_io.run_context import RunContext
from custseg.layer2_io.schemas import table_schema
from custseg.layer2_io.spark import cached
from custseg.layer3_stages.rfm import metrics as rfm_metrics
from custseg.layer3_stages.rfm import scoring, segments
from custseg.layer3_stages.rfm.summary import RfmSummary

log = logging.getLogger("custseg")


@dataclasses.dataclass(frozen=True)
class _Previous:
    """The latest earlier as_of in customer_rfm and its rows (None, None when there is none)."""

    as_of: dt.date | None
    customers: DataFrame | None


def run(spark: SparkSession, settings: Settings, context: RunContext) -> RfmSummary:
    as_of, root, bins = context.as_of, settings.warehouse_root, settings.rfm.bins
    segment_map = segments.load_segment_map(settings.rfm.segments_file, bins)  # fail fast
    transactions = delta_io.read_table(spark, root, TRANSACTIONS.name)
    lines = rfm_metrics.transactions_in_window(transactions, as_of, settings.rfm.window_days)
    with cached(rfm_metrics.customer_metrics(lines, as_of, settings.cleaning.returns)) as metrics:
        step(log, "aggregate per customer")
        population = rfm_metrics.population_counts(metrics).first()
        scoreable = rfm_metrics.scoreable_customers(
            metrics, settings.rfm.include_non_positive_monetary
        )
        step(log, "score R, F and M")
        scored = scoring.score_customers(scoreable, bins)  # materialised: metrics no longer read
    with scored:  # the cached sort is released on every path
        previous = _previous_slice(spark, root, as_of)
        segmented = segments.with_previous_segment(
            segments.assign_segments(scored.customers, segment_map), previous.customers
        ).withColumn(AS_OF, F.lit(as_of))
        with cached(segmented) as current:
            _write_slice(
                spark,
                settings,
                as_of,
                current,
                scored=scored,
                segment_map=segment_map,
                previous=previous,
            )
            segment_counts = dict(current.groupBy("segment").count().collect())  # one row a segment
    summary = _summary(
        settings,
        as_of,
        previous.as_of,
        population=population,
        scored=scored,
        per_segment={name: segment_counts.get(name, 0) for name in segment_map.names},
    )
    log.info(
        "rfm: as_of %s, %d customers scored, %d excluded (monetary <= 0)",
        summary.as_of,
        summary.customers_scored,
        summary.customers_excluded_non_positive_monetary,
    )
    return summary


def _previous_slice(spark: SparkSession, warehouse_root: str, as_of: dt.date) -> _Previous:
    history = delta_io.maybe_read_table(spark, warehouse_root, CUSTOMER_RFM.name)
    if history is None:
        return _Previous(None, None)
    previous_as_of = history.where(F.col(AS_OF) < F.lit(as_of)).agg(F.max(AS_OF)).first()[0]
    if previous_as_of is None:
        return _Previous(None, None)
    return _Previous(previous_as_of, history.where(delta_io.AsOfSlice(previous_as_of).filter))


def transitions_to_write(
    spark: SparkSession,
    current: DataFrame,
    previous: _Previous,
    *,
    as_of: dt.date,
    table_exists: bool,
) -> DataFrame | None:
    """Moves since the previous as_of. With no earlier as_of: an empty frame when the table
    exists (it clears a stale slice of a re-run date), nothing when it does not."""
    if previous.customers is not None:
        return segments.segment_transitions(current, previous.customers, as_of, previous.as_of)
    if table_exists:
        return spark.createDataFrame([], table_schema(SEGMENT_TRANSITIONS))
    return None


def _write_slice(
    spark: SparkSession,
    settings: Settings,
    as_of: dt.date,
    current: DataFrame,
    *,
    scored: scoring.Scored,
    segment_map: segments.SegmentMap,
    previous: _Previous,
) -> None:
    root, bins = settings.warehouse_root, settings.rfm.bins
    this_slice = delta_io.AsOfSlice(as_of).predicate
    summary = segments.segment_summary(current, segment_map, as_of)
    edges = scoring.edges_frame(spark, scored.edges, bins, as_of)
    for spec, frame in ((CUSTOMER_RFM, current), (SEGMENT_SUMMARY, summary), (SCORE_EDGES, edges)):
        delta_io.write_table(spark, root, spec, frame, replace_where=this_slice)
    transitions = transitions_to_write(
        spark,
        current,
        previous,
        as_of=as_of,
        table_exists=delta_io.table_exists(spark, settings.table_path(SEGMENT_TRANSITIONS.name)),
    )
    if transitions is not None:
        delta_io.write_table(
            spark, root, SEGMENT_TRANSITIONS, transitions, replace_where=this_slice
        )


def _summary(
    settings: Settings,
    as_of: dt.date,
    previous_as_of: dt.date | None,
    *,
    population,
    scored,
    per_segment: dict[str, int],
) -> RfmSummary:
    include_non_positive = settings.rfm.include_non_positive_monetary
    return RfmSummary(
        as_of=as_of.isoformat(),
        previous_as_of=previous_as_of.isoformat() if previous_as_of else None,
        window_days=settings.rfm.window_days,
        bins=settings.rfm.bins,
        transactions_in_window=int(population["transaction_lines"]),
        customers_in_window=int(population["customers"]),
        customers_non_positive_monetary=int(population["non_positive_monetary"]),
        customers_excluded_non_positive_monetary=0
        if include_non_positive
        else int(population["non_positive_monetary"]),
        customers_scored=scored.count,
        score_edges={metric: list(edges) for metric, edges in scored.edges.items()},
        segments=per_segment,
    )
