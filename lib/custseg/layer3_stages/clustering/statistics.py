"""Aggregates of the customers in each cluster and in the whole population, and the
z-scores that compare the two.

Only k-sized summaries leave Spark: one grouped pass for the clusters of all kept models,
one pass per run for the population. Means are taken of log1p(value) (floored at 0) as well as of
the raw value, because the naming rules compare clusters on the log scale, where a few
very large customers cannot drag every cluster to "low", and also check that the plain
means the report shows lie on the same side.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.layer3_stages.clustering.features import MONETARY

MEDIAN_ACCURACY = 10_000


@dataclasses.dataclass(frozen=True)
class ClusterStatistics:
    """Aggregates of one model cluster; dicts are keyed by customer_rfm column."""

    customers: int
    revenue: float
    means: Mapping[str, float]
    medians: Mapping[str, float]
    log_means: Mapping[str, float]


# A model may leave a cluster without customers; it still needs a profile row.
EMPTY_CLUSTER = ClusterStatistics(0, 0.0, {}, {}, {})


@dataclasses.dataclass(frozen=True)
class PopulationStatistics:
    """The yardstick every cluster is named against; ``means`` are the plain means the
    report shows, the others are on the log scale."""

    customers: int
    revenue: float
    means: Mapping[str, float]
    log_means: Mapping[str, float]
    log_stds: Mapping[str, float]


def log_scale(column: str) -> Column:
    return F.log1p(F.greatest(F.col(column), F.lit(0.0)))


def _number(value) -> float | None:
    return None if value is None else float(value)


def models_cluster_statistics(
    assigned: DataFrame, cluster_cols: Sequence[str], columns: Sequence[str]
) -> list[dict[int, ClusterStatistics]]:
    """For each model (its cluster index in ``cluster_cols[i]``): {model cluster: statistics},
    all models in one grouped pass. Medians are approximate (percentile_approx, rank error
    below 1/10,000 of the cluster size)."""
    aggregates = [F.count(F.lit(1)).alias("customers"), F.sum(MONETARY).alias("revenue")]
    for i, column in enumerate(columns):
        aggregates += [
            F.avg(column).alias(f"mean{i}"),
            F.percentile_approx(column, 0.5, MEDIAN_ACCURACY).alias(f"median{i}"),
            F.avg(log_scale(column)).alias(f"log{i}"),
        ]
    long = assigned.select(
        *columns,
        F.posexplode(F.array(*[F.col(c).cast("int") for c in cluster_cols])).alias("m", "c"),
    )
    rows = long.groupBy("m", "c").agg(*aggregates).collect()  # clusters of all models

    def by_column(row, prefix):
        return {
            c: _number(row[f"{prefix}{i}"])
            for i, c in enumerate(columns)
            if row[f"{prefix}{i}"] is not None
        }

    result: list[dict[int, ClusterStatistics]] = [{} for _ in cluster_cols]
    for r in rows:
        result[int(r["m"])][int(r["c"])] = ClusterStatistics(
            int(r["customers"]),
            float(r["revenue"] or 0.0),
            by_column(r, "mean"),
            by_column(r, "median"),
            by_column(r, "log"),
        )
    return result


def cluster_statistics(
    assigned: DataFrame, cluster_col: str, columns: Sequence[str]
) -> dict[int, ClusterStatistics]:
    """{model cluster: statistics} of one model's assignment."""
    return models_cluster_statistics(assigned, [cluster_col], columns)[0]


def population_statistics(frame: DataFrame, columns: Sequence[str]) -> PopulationStatistics:
    """Computed once per run and shared by every model, so all models' clusters are named
    against the same yardstick."""
    aggregates = [F.count(F.lit(1)).alias("customers"), F.sum(MONETARY).alias("revenue")]
    for i, column in enumerate(columns):
        aggregates += [
            F.avg(column).alias(f"mean{i}"),
            F.avg(log_scale(column)).alias(f"log{i}"),
            F.stddev_pop(log_scale(column)).alias(f"std{i}"),
        ]
    row = frame.agg(*aggregates).first()
    return PopulationStatistics(
        customers=int(row["customers"]),
        revenue=float(row["revenue"] or 0.0),
        means={c: _number(row[f"mean{i}"]) for i, c in enumerate(columns)},
        log_means={c: _number(row[f"log{i}"]) for i, c in enumerate(columns)},
        log_stds={c: _number(row[f"std{i}"]) for i, c in enumerate(columns)},
    )


def z_scores(stats: ClusterStatistics, population: PopulationStatistics) -> dict[str, float]:
    """Cluster mean of log1p(value) minus the population's, in population standard deviations."""
    scores = {}
    for column, value in stats.log_means.items():
        mean, std = population.log_means.get(column), population.log_stds.get(column)
        if mean is None or std is None:
            continue
        scores[column] = (value - mean) / std if std > 0 else 0.0
    return scores
