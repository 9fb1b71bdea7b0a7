"""Everything the report draws, brought to the driver as small pandas frames.

This is the one boundary where Spark results become pandas: summary tables of a run (tens
of rows), the aggregates from ``aggregates`` and one bounded sample. A table that does not
exist yet (no clustering run, no earlier as_of) becomes an empty frame and its section says
so, rather than failing the whole report.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

import pandas as pd
from pyspark.sql import DataFrame

from custseg.report import aggregates

HISTOGRAM_BINS = 30


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReportInputs:
    as_of: dt.date
    score_bins: int
    features: tuple[str, ...]
    segment_summary: pd.DataFrame
    segment_history: pd.DataFrame
    rf_grid: pd.DataFrame
    histograms: pd.DataFrame
    model_selection: pd.DataFrame
    model_comparison: pd.DataFrame
    projection: pd.DataFrame
    explained_variance: tuple[float, ...]
    crosstab: pd.DataFrame
    cluster_profiles: pd.DataFrame
    transitions: pd.DataFrame


def _small(df: DataFrame | None, order_by: Sequence[str] = ()) -> pd.DataFrame:
    if df is None:
        return pd.DataFrame()
    return (df.orderBy(*order_by) if order_by else df).toPandas()


def _at(df: DataFrame | None, as_of: dt.date) -> DataFrame | None:
    return None if df is None else aggregates.at_as_of(df, as_of)


def gather_report_inputs(
    frames: Mapping[str, DataFrame | None],
    as_of: dt.date,
    score_bins: int,
    features: Sequence[str],
    *,
    sample_size: int,
) -> ReportInputs:
    """Reduces the run's tables (``frames`` by table name, None when absent) for ``as_of``.

    ``customer_rfm`` is required; every other table is optional.
    """
    rfm = aggregates.at_as_of(frames["customer_rfm"], as_of)
    clusters = _at(frames.get("customer_clusters"), as_of)
    projection, explained = pd.DataFrame(), ()
    if clusters is not None and len(features) >= 2:
        sample, variance = aggregates.projection_sample(rfm, clusters, features, sample_size)
        projection, explained = sample.toPandas(), tuple(variance)
    summary = frames.get("segment_summary")
    transitions = _at(frames.get("segment_transitions"), as_of)
    return ReportInputs(
        as_of=as_of,
        score_bins=score_bins,
        features=tuple(features),
        segment_summary=_small(_at(summary, as_of), ["segment"]),
        segment_history=_small(None if summary is None else aggregates.segment_history(summary)),
        rf_grid=aggregates.rf_grid_counts(rfm).toPandas(),
        histograms=aggregates.metric_histograms(rfm, HISTOGRAM_BINS).toPandas(),
        model_selection=_small(_at(frames.get("model_selection"), as_of), ["algorithm", "k"]),
        model_comparison=_small(_at(frames.get("model_comparison"), as_of), ["k"]),
        projection=projection,
        explained_variance=explained,
        crosstab=_small(
            _at(frames.get("segment_cluster_crosstab"), as_of),
            ["algorithm", "k", "segment", "cluster_id"],
        ),
        cluster_profiles=_small(
            _at(frames.get("cluster_profiles"), as_of), ["algorithm", "k", "cluster_id"]
        ),
        transitions=_small(
            None
            if transitions is None
            else transitions.where("from_segment IS NOT NULL OR to_segment IS NOT NULL"),
            ["from_segment", "to_segment"],
        ),
    )
