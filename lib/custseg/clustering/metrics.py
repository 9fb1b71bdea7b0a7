"""Cluster quality measured in Spark: inertia, Davies-Bouldin, Calinski-Harabasz, silhouette, ARI.

MLlib has silhouette only. The others need per-cluster sums, which Spark aggregates
without moving a single customer row to the driver: one pass gives each cluster's size and
mean, a second pass (with the means as literals) gives the spread about the means and
the squared distance to the model centres. Only k-sized summaries are collected.

Definitions follow scikit-learn so figures are comparable with notebooks:
Davies-Bouldin and Calinski-Harabasz use the *mean of the assigned points* as each
cluster's centroid, inertia uses the model's centres (MLlib's training cost).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
from pyspark.ml.evaluation import ClusteringEvaluator
from pyspark.ml.functions import vector_to_array
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


@dataclasses.dataclass(frozen=True)
class ClusterQuality:
    """Size of each model cluster (index = model cluster) and the index values."""

    sizes: tuple[int, ...]
    inertia: float
    davies_bouldin: float | None
    calinski_harabasz: float | None

    @property
    def customers(self) -> int:
        return sum(self.sizes)

    @property
    def smallest_share(self) -> float:
        return min(self.sizes) / self.customers if self.customers else 0.0


def literal_matrix(rows: Sequence[Sequence[float]]) -> Column:
    return F.array(*[F.array(*[F.lit(float(v)) for v in row]) for row in rows])


def squared_distance(a: Column, b: Column) -> Column:
    """Squared Euclidean distance between two equal-length double arrays."""
    squares = F.zip_with(a, b, lambda x, y: (x - y) * (x - y))
    return F.aggregate(squares, F.lit(0.0), lambda acc, v: acc + v)


def row_of(matrix: Sequence[Sequence[float]], index: Column) -> Column:
    """Row ``index`` (0-based column) of a small matrix given as a literal."""
    return F.element_at(literal_matrix(matrix), (index + F.lit(1)).cast("int"))


def distance_to_centre(
    vector_col: str, cluster_col: str, centres: Sequence[Sequence[float]]
) -> Column:
    """Euclidean distance of each row to the centre of its assigned cluster."""
    return F.sqrt(
        squared_distance(vector_to_array(F.col(vector_col)), row_of(centres, F.col(cluster_col)))
    )


def cluster_means(
    df: DataFrame, vector_col: str, cluster_col: str, dimensions: int
) -> dict[int, tuple[int, list[float]]]:
    """{cluster: (size, mean vector)} in one aggregation pass."""
    values = vector_to_array(F.col(vector_col))
    rows = (
        df.select(F.col(cluster_col).alias("c"), values.alias("v"))
        .groupBy("c")
        .agg(
            F.count(F.lit(1)).alias("n"),
            *[F.avg(F.col("v")[i]).alias(f"m{i}") for i in range(dimensions)],
        )
        .collect()
    )
    return {
        int(r["c"]): (int(r["n"]), [float(r[f"m{i}"]) for i in range(dimensions)]) for r in rows
    }


def cluster_spreads(
    df: DataFrame,
    vector_col: str,
    cluster_col: str,
    *,
    centres: Sequence[Sequence[float]],
    means: dict[int, list[float]],
) -> dict[int, tuple[float, float, float]]:
    """{cluster: (sum of squared distance to the model centre, mean distance to the cluster
    mean, sum of squared distance to the cluster mean)} in one pass.

    ``means`` is indexed like the centres; absent clusters get the centre as a filler
    (they have no rows, so it is never read).
    """
    mean_matrix = [means.get(i, list(c)) for i, c in enumerate(centres)]
    values = vector_to_array(F.col(vector_col))
    cluster = F.col("c")
    to_mean = squared_distance(F.col("v"), row_of(mean_matrix, cluster))
    rows = (
        df.select(F.col(cluster_col).alias("c"), values.alias("v"))
        .groupBy("c")
        .agg(
            F.sum(squared_distance(F.col("v"), row_of(centres, cluster))).alias("to_centre"),
            F.avg(F.sqrt(to_mean)).alias("scatter"),
            F.sum(to_mean).alias("within"),
        )
        .collect()
    )
    return {
        int(r["c"]): (float(r["to_centre"]), float(r["scatter"]), float(r["within"])) for r in rows
    }


def davies_bouldin_index(
    means: Sequence[Sequence[float]], scatters: Sequence[float]
) -> float | None:
    """Mean over clusters of the worst (s_i + s_j) / d(m_i, m_j); scikit-learn's edge cases."""
    if len(means) < 2:
        return None
    centroids = np.asarray(means, dtype=float)
    intra = np.asarray(scatters, dtype=float)
    gaps = np.sqrt(((centroids[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2))
    if np.allclose(intra, 0) or np.allclose(gaps, 0):
        return 0.0
    gaps[gaps == 0] = np.inf
    return float(np.mean(np.max((intra[:, None] + intra[None, :]) / gaps, axis=1)))


def calinski_harabasz_index(
    sizes: Sequence[int], means: Sequence[Sequence[float]], within: float
) -> float | None:
    """Between- over within-cluster dispersion, each per degree of freedom."""
    clusters, n = len(sizes), int(sum(sizes))
    if not 1 < clusters < n:
        return None
    counts = np.asarray(sizes, dtype=float)
    centroids = np.asarray(means, dtype=float)
    overall = (counts[:, None] * centroids).sum(axis=0) / n
    between = float((counts * ((centroids - overall) ** 2).sum(axis=1)).sum())
    if within == 0:
        return 1.0
    return between * (n - clusters) / (within * (clusters - 1))


def cluster_quality(
    df: DataFrame, vector_col: str, cluster_col: str, centres: Sequence[Sequence[float]]
) -> ClusterQuality:
    """Inertia, Davies-Bouldin and Calinski-Harabasz of an assignment, in two Spark passes."""
    dims = len(centres[0])
    by_cluster = cluster_means(df, vector_col, cluster_col, dims)
    spreads = cluster_spreads(
        df,
        vector_col,
        cluster_col,
        centres=centres,
        means={c: mean for c, (_, mean) in by_cluster.items()},
    )
    present = sorted(by_cluster)
    return ClusterQuality(
        sizes=tuple(by_cluster[i][0] if i in by_cluster else 0 for i in range(len(centres))),
        inertia=sum(s[0] for s in spreads.values()),
        davies_bouldin=davies_bouldin_index(
            [by_cluster[c][1] for c in present], [spreads[c][1] for c in present]
        ),
        calinski_harabasz=calinski_harabasz_index(
            [by_cluster[c][0] for c in present],
            [by_cluster[c][1] for c in present],
            sum(spreads[c][2] for c in present),
        ),
    )


def silhouette(
    df: DataFrame, vector_col: str, cluster_col: str, clusters_present: int
) -> float | None:
    """MLlib's silhouette (squared Euclidean); undefined with fewer than two clusters."""
    if clusters_present < 2:
        return None
    evaluator = ClusteringEvaluator(
        featuresCol=vector_col,
        predictionCol=cluster_col,
        metricName="silhouette",
        distanceMeasure="squaredEuclidean",
    )
    value = evaluator.evaluate(df)
    return None if math.isnan(value) else float(value)


def contingency_counts(df: DataFrame, col_a: str, col_b: str) -> dict[tuple[int, int], int]:
    """{(a, b): customers}: at most k_a x k_b rows reach the driver."""
    rows = df.groupBy(col_a, col_b).count().collect()
    return {(int(r[col_a]), int(r[col_b])): int(r["count"]) for r in rows}


def adjusted_rand_index_from_counts(counts: dict[tuple[int, int], int]) -> float:
    """Hubert-Arabie adjusted Rand index from a contingency table (exact integer pair counts)."""

    def pairs(n: int) -> int:
        return n * (n - 1) // 2

    n = sum(counts.values())
    rows: dict[int, int] = {}
    cols: dict[int, int] = {}
    for (a, b), count in counts.items():
        rows[a] = rows.get(a, 0) + count
        cols[b] = cols.get(b, 0) + count
    together = sum(pairs(c) for c in counts.values())
    pairs_a = sum(pairs(c) for c in rows.values())
    pairs_b = sum(pairs(c) for c in cols.values())
    total = pairs(n)
    if total == 0:
        return 1.0
    expected = pairs_a * pairs_b / total
    maximum = (pairs_a + pairs_b) / 2
    if maximum == expected:
        return 1.0
    return float((together - expected) / (maximum - expected))


def adjusted_rand_index(df: DataFrame, col_a: str, col_b: str) -> float:
    return adjusted_rand_index_from_counts(contingency_counts(df, col_a, col_b))
