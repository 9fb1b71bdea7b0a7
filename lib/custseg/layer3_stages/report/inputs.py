"""Everything the report draws, brought to the driver as small pandas frames.

This is the one boundary where Spark results become pandas: summary tables of a run (tens
of rows), the aggregates from ``aggregates`` and one bounded sample. A table that does not
exist yet (no clustering run, no earlier as_of) becomes an empty frame and its section says
so, rather than failing the whole report.

The cluster sections lead with the run's primary model, read from ``model_selection``'s
``is_primary``. A warehouse written before that flag existed holds null (or no column) there;
the report then applies the cluster stage's automatic rule to the rows it has: of the chosen
models, the lowest Davies-Bouldin index, then the higher silhouette, then KMeans before
Bisecting KMeans (the default order of ``clustering.algorithms``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
from collections.abc import Mapping, Sequence

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DecimalType

from custseg.layer1_core.config.feature_names import parse_features
from custseg.layer1_core.tables.cluster_tables import ALGORITHMS, quality_rank
from custseg.layer2_io.table_views import with_feature_maps, with_profile_columns
from custseg.layer3_stages.report import aggregates

log = logging.getLogger("custseg")

HISTOGRAM_BINS = 30
# The seeds' question, asked of every run: does a fifth cluster add a group worth a campaign?
COMPARED_KS = (4, 5)


@dataclasses.dataclass(frozen=True)
class PrimaryModel:
    """The model the report leads with; ``flagged`` is False when the run predates
    ``is_primary`` and the report applied the selection rule itself."""

    algorithm: str
    k: int
    flagged: bool

    def rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``frame`` (profiles, crosstab) that belong to this model."""
        if frame.empty:
            return frame
        return frame[(frame["algorithm"] == self.algorithm) & (frame["k"] == self.k)]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReportInputs:
    as_of: dt.date
    score_bins: int
    features: tuple[str, ...]
    min_k: int
    primary: PrimaryModel | None
    segment_summary: pd.DataFrame
    segment_history: pd.DataFrame
    rf_grid: pd.DataFrame
    histograms: pd.DataFrame
    model_selection: pd.DataFrame
    model_comparison: pd.DataFrame
    projection: pd.DataFrame
    explained_variance: tuple[float, ...]
    crosstab: pd.DataFrame
    cluster_profiles: pd.DataFrame  # with the feature_means, ... dicts of cluster_features
    transitions: pd.DataFrame
    cluster_split: pd.DataFrame  # aggregates.cluster_split of the COMPARED_KS models


def _small(df: DataFrame | None, order_by: Sequence[str] = ()) -> pd.DataFrame:
    """A small frame in pandas; money columns (decimal in the tables, for BI readers) come
    as floats, which pandas sums and matplotlib draws (Python Decimals they do not)."""
    if df is None:
        return pd.DataFrame()
    as_floats = [
        F.col(f"`{f.name}`").cast("double").alias(f.name)
        if isinstance(f.dataType, DecimalType)
        else F.col(f"`{f.name}`")
        for f in df.schema.fields
    ]
    return (df.orderBy(*order_by) if order_by else df).select(as_floats).toPandas()


def _at(df: DataFrame | None, as_of: dt.date) -> DataFrame | None:
    return None if df is None else aggregates.at_as_of(df, as_of)


def _number(value) -> float | None:
    return None if pd.isna(value) else float(value)


def _automatic_rank(row) -> tuple:
    """The cluster stage's automatic order of a model_selection row (best first)."""
    davies_bouldin = _number(row.davies_bouldin)
    return (
        *quality_rank(
            math.inf if davies_bouldin is None else davies_bouldin, _number(row.silhouette)
        ),
        ALGORITHMS.index(row.algorithm) if row.algorithm in ALGORITHMS else len(ALGORITHMS),
        row.k,
    )


def selection_at(model_selection: DataFrame | None, as_of: dt.date) -> pd.DataFrame:
    """The k sweep of ``as_of`` (tens of rows) in the order ``primary_model`` reads it."""
    return _small(_at(model_selection, as_of), ["algorithm", "k"])


def primary_model(selection: pd.DataFrame, min_k: int) -> PrimaryModel | None:
    """The row flagged ``is_primary``; for runs older than the flag, the automatic rule on
    the rows with k >= ``min_k``: the chosen ones, else the saved ones (their own choice
    ignored min_k, often k = 2), else whatever was chosen. None before any clustering."""
    if selection.empty:
        return None
    if "is_primary" in selection.columns:
        flagged = selection[selection["is_primary"].eq(True)]
        if not flagged.empty:
            row = flagged.iloc[0]
            return PrimaryModel(str(row["algorithm"]), int(row["k"]), flagged=True)
    chosen = selection["chosen"].astype(bool)
    saved = selection["saved"].astype(bool) if "saved" in selection.columns else chosen
    large_enough = selection["k"] >= min_k
    for rows in (chosen & large_enough, saved & large_enough, chosen):
        candidates = selection[rows]
        if not candidates.empty:
            break
    else:
        return None
    best = min(candidates.itertuples(index=False), key=_automatic_rank)
    return PrimaryModel(str(best.algorithm), int(best.k), flagged=False)


def _projection(
    rfm: DataFrame,
    frames: Mapping[str, DataFrame | None],
    as_of: dt.date,
    primary: PrimaryModel | None,
    features: Sequence[str],
    sample_size: int,
) -> tuple[pd.DataFrame, tuple[float, ...]]:
    """The PCA sample coloured by the primary model, or by every model when none is known
    (a month of ``custseg score`` has assignments but no model_selection rows). None when
    a feature comes from customer_profiles and that table is gone: the rest of the report
    does not need it."""
    clusters = _at(frames.get("customer_clusters"), as_of)
    parsed = parse_features(features)
    profiles = frames.get("customer_profiles")
    if clusters is None or len(features) < 2:
        return pd.DataFrame(), ()
    if profiles is None and any(feature.from_profile for feature in parsed):
        log.warning("report: no customer_profiles table for features %s", ", ".join(features))
        return pd.DataFrame(), ()
    if primary is not None:
        clusters = clusters.where(
            (F.col("algorithm") == primary.algorithm) & (F.col("k") == primary.k)
        )
    customers = with_profile_columns(rfm, profiles, parsed, as_of)
    sample, variance = aggregates.projection_sample(customers, clusters, features, sample_size)
    return sample.toPandas(), tuple(variance)


def _cluster_split(clusters: DataFrame | None, primary: PrimaryModel | None) -> pd.DataFrame:
    """How the primary algorithm's COMPARED_KS models share out the customers."""
    if clusters is None:
        return pd.DataFrame()
    algorithm = primary.algorithm if primary else ALGORITHMS[0]
    split = aggregates.cluster_split(clusters, algorithm, *COMPARED_KS)
    return _small(split, ["from_cluster_id", "to_cluster_id"])


def gather_report_inputs(
    frames: Mapping[str, DataFrame | None],
    as_of: dt.date,
    score_bins: int,
    features: Sequence[str],
    *,
    min_k: int,
    sample_size: int,
) -> ReportInputs:
    """Reduces the run's tables (``frames`` by table name, None when absent) for ``as_of``.

    ``customer_rfm`` is required; every other table is optional (``customer_profiles`` is
    read when a feature comes from it).
    """
    rfm = aggregates.at_as_of(frames["customer_rfm"], as_of)
    selection = selection_at(frames.get("model_selection"), as_of)
    primary = primary_model(selection, min_k)
    projection, explained = _projection(rfm, frames, as_of, primary, features, sample_size)
    summary = frames.get("segment_summary")
    transitions = _at(frames.get("segment_transitions"), as_of)
    return ReportInputs(
        as_of=as_of,
        score_bins=score_bins,
        features=tuple(features),
        min_k=min_k,
        primary=primary,
        segment_summary=_small(_at(summary, as_of), ["segment"]),
        segment_history=_small(None if summary is None else aggregates.segment_history(summary)),
        rf_grid=aggregates.rf_grid_counts(rfm).toPandas(),
        histograms=aggregates.metric_histograms(rfm, HISTOGRAM_BINS).toPandas(),
        model_selection=selection,
        model_comparison=_small(_at(frames.get("model_comparison"), as_of), ["k"]),
        projection=projection,
        explained_variance=explained,
        crosstab=_small(
            _at(frames.get("segment_cluster_crosstab"), as_of),
            ["algorithm", "k", "segment", "cluster_id"],
        ),
        cluster_profiles=_small(
            with_feature_maps(
                _at(frames.get("cluster_profiles"), as_of),
                _at(frames.get("cluster_features"), as_of),
            ),
            ["algorithm", "k", "cluster_id"],
        ),
        transitions=_small(
            None
            if transitions is None
            else transitions.where("from_segment IS NOT NULL OR to_segment IS NOT NULL"),
            ["from_segment", "to_segment"],
        ),
        cluster_split=_cluster_split(_at(frames.get("customer_clusters"), as_of), primary),
    )
