"""Cluster quality measured in Spark: inertia, Davies-Bouldin, Calinski-Harabasz, silhouette, ARI.

Every model of a sweep is judged in the same two passes over the customers, not two or
three passes per model: with a few thousand customers each pass is a Spark job whose cost
is scheduling, so 18 models judged one by one cost a minute of job overhead. The frame
carries one assignment column per model; each pass explodes it to (model, cluster) pairs
and aggregates them in one grouping. The first pass gives each cluster's size, vector sum
and sum of squared norms; the second (with those as literals) gives the spread about the
means, the squared distance to the model centres and each customer's silhouette. Only
(model x k)-sized summaries reach the driver.

Definitions follow scikit-learn so figures are comparable with notebooks:
Davies-Bouldin and Calinski-Harabasz use the *mean of the assigned points* as each
cluster's centroid, inertia uses the model's centres (MLlib's training cost). The
silhouette is MLlib ``ClusteringEvaluator``'s squared-Euclidean silhouette, computed with
its formula (cluster sums of vectors and squared norms), so it equals the evaluator's.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence
from functools import reduce

import numpy as np
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
    silhouette: float | None = None

    @property
    def customers(self) -> int:
        return sum(self.sizes)

    @property
    def smallest_share(self) -> float:
        return min(self.sizes) / self.customers if self.customers else 0.0


@dataclasses.dataclass(frozen=True)
class _ClusterSums:
    """First-pass sums of one cluster of one model."""

    size: int
    vector_sum: list[float]
    squared_norm_sum: float

    @property
    def mean(self) -> list[float]:
        return [value / self.size for value in self.vector_sum]


def distance_to_centre(
    vector_col: str, cluster_col: str, centres: Sequence[Sequence[float]]
) -> Column:
    """Euclidean distance of each row to the centre of its assigned cluster, unrolled over
    the (few) dimensions so that code generation compiles it (see ``_long_assignments``)."""
    values = vector_to_array(F.col(vector_col))
    position = (F.col(cluster_col) + F.lit(1)).cast("int")
    terms = []
    for d in range(len(centres[0])):
        coordinate = F.element_at(F.array(*[F.lit(float(c[d])) for c in centres]), position)
        terms.append((values[d] - coordinate) * (values[d] - coordinate))
    return F.sqrt(reduce(lambda acc, term: acc + term, terms, F.lit(0.0)))


def _long_assignments(
    df: DataFrame, vector_col: str, cluster_cols: Sequence[str], dimensions: int
) -> DataFrame:
    """One row per (customer, model): ``m`` the model's position, ``c`` its cluster and the
    vector's components as plain columns ``v0``, ``v1``... Everything below is unrolled
    arithmetic on those columns, compiled by whole-stage code generation: the first version
    used array lambdas (``aggregate``, ``transform``), which Spark interprets row by row,
    and its second pass took 181 s for 4 models of 2.8 million customers."""
    values = vector_to_array(F.col(vector_col))
    return df.select(
        *[values[i].alias(f"v{i}") for i in range(dimensions)],
        F.posexplode(F.array(*[F.col(c).cast("int") for c in cluster_cols])).alias("m", "c"),
    )


def _components(dimensions: int) -> list[Column]:
    return [F.col(f"v{i}") for i in range(dimensions)]


def _squared_norm(dimensions: int) -> Column:
    return reduce(lambda acc, v: acc + v * v, _components(dimensions), F.lit(0.0))


def _cluster_sums(long: DataFrame, dimensions: int) -> dict[tuple[int, int], _ClusterSums]:
    """{(model, cluster): sums} in one aggregation pass."""
    rows = (
        long.groupBy("m", "c")
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.sum(_squared_norm(dimensions)).alias("norms"),
            *[F.sum(v).alias(f"s{i}") for i, v in enumerate(_components(dimensions))],
        )
        .collect()
    )
    return {
        (int(r["m"]), int(r["c"])): _ClusterSums(
            int(r["n"]), [float(r[f"s{i}"]) for i in range(dimensions)], float(r["norms"])
        )
        for r in rows
    }


class _Slots:
    """Per-(model, cluster) numbers as one literal array, looked up at ``m * width + c``.

    Models have different k; every model gets ``width`` slots (the largest k), padded."""

    def __init__(self, width: int):
        self.width = width

    def index(self, cluster: Column) -> Column:
        return (F.col("m") * F.lit(self.width) + cluster + F.lit(1)).cast("int")

    def lookup(self, by_model: Sequence[Sequence[float]], cluster: Column) -> Column:
        flat = [
            float(value)
            for model in by_model
            for value in [*model, *[0.0] * (self.width - len(model))]
        ]
        return F.element_at(F.array(*[F.lit(v) for v in flat]), self.index(cluster))


def _silhouette_of_row(
    sums: Sequence[Sequence[_ClusterSums | None]], slots: _Slots, dimensions: int
) -> Column:
    """MLlib's squared-Euclidean silhouette of one point (``SquaredEuclideanSilhouette``):
    the mean squared distance to cluster C is ||x||^2 + sum_C ||y||^2 / n_C - 2 x.sum_C(y) / n_C;
    a point alone in its cluster scores 0."""
    empty = _ClusterSums(0, [0.0] * dimensions, 0.0)
    filled = [[cluster or empty for cluster in model] for model in sums]
    sizes = [[float(c.size) for c in model] for model in filled]
    norms = [[c.squared_norm_sum for c in model] for model in filled]
    vector_sums = [
        [[c.vector_sum[d] for c in model] for model in filled] for d in range(dimensions)
    ]
    norm = _squared_norm(dimensions)

    def mean_distance(cluster: Column) -> tuple[Column, Column]:
        size = slots.lookup(sizes, cluster)
        dot_sum = reduce(
            lambda acc, d: acc + F.col(f"v{d}") * slots.lookup(vector_sums[d], cluster),
            range(dimensions),
            F.lit(0.0),
        )
        return size, norm + slots.lookup(norms, cluster) / size - F.lit(2.0) * dot_sum / size

    own_size, own_distance = mean_distance(F.col("c"))
    within = own_distance * own_size / (own_size - F.lit(1.0))
    others = []
    for j in range(slots.width):
        size, distance = mean_distance(F.lit(j))
        others.append(F.when((F.col("c") != F.lit(j)) & (size > 0), distance))
    nearest = F.least(*others) if len(others) > 1 else others[0]
    return (
        F.when(own_size == F.lit(1.0), F.lit(0.0))
        .when(within < nearest, F.lit(1.0) - within / nearest)
        .when(within > nearest, nearest / within - F.lit(1.0))
        .otherwise(F.lit(0.0))
    )


# Whole-stage code generation writes the silhouette's nearest-cluster term, one branch per
# cluster slot, into one Java method. With ten slots (a k = 2..10 sweep) that method
# outgrows the JVM's 64 KB limit: Spark logs the failed compilation with a long stack trace
# and runs the pass without whole-stage code anyway. A variant that compiles (the terms as
# columns of their own) ran twice as slowly at 16M rows, as HotSpot leaves methods over
# 8,000 bytes to its interpreter, so wide sweeps go without whole-stage code from the
# start. The code grows with slots x feature dimensions; up to this product the pass
# compiles (6 slots of 3 features: tests/clustering/test_metrics.py).
WHOLE_STAGE_CODEGEN_MAX_TERMS = 18


@contextlib.contextmanager
def _whole_stage_codegen(spark, enabled: bool) -> Iterator[None]:
    """Plans made inside use whole-stage code generation or not; the session's own setting
    comes back after. The sweep judges its models after every fit has finished, so no
    other custseg query is planned meanwhile."""
    key = "spark.sql.codegen.wholeStage"
    before = spark.conf.get(key)
    if enabled or before == "false":
        yield
        return
    spark.conf.set(key, "false")
    try:
        yield
    finally:
        spark.conf.set(key, before)


def _spreads(
    long: DataFrame,
    centres: Sequence[Sequence[Sequence[float]]],
    sums: Sequence[Sequence[_ClusterSums | None]],
) -> dict[tuple[int, int], tuple[float, float, float, float]]:
    """{(model, cluster): (sum of squared distance to the model centre, mean distance to the
    cluster mean, sum of squared distance to the cluster mean, sum of silhouettes)}."""
    dimensions = len(centres[0][0])
    slots = _Slots(max(len(model) for model in centres))
    means = [
        [s.mean if s else list(centre) for s, centre in zip(model_sums, model_centres)]
        for model_sums, model_centres in zip(sums, centres)
    ]

    def squared_distance_to(points: Sequence[Sequence[Sequence[float]]]) -> Column:
        """To the model's point of the row's own cluster, component by component."""
        terms = []
        for d in range(dimensions):
            coordinate = slots.lookup([[p[d] for p in model] for model in points], F.col("c"))
            terms.append((F.col(f"v{d}") - coordinate) * (F.col(f"v{d}") - coordinate))
        return reduce(lambda acc, term: acc + term, terms, F.lit(0.0))

    to_mean = squared_distance_to(means)
    spreads = long.groupBy("m", "c").agg(
        F.sum(squared_distance_to(centres)).alias("to_centre"),
        F.avg(F.sqrt(to_mean)).alias("scatter"),
        F.sum(to_mean).alias("within"),
        F.sum(_silhouette_of_row(sums, slots, dimensions)).alias("silhouette"),
    )
    compiles = slots.width * dimensions <= WHOLE_STAGE_CODEGEN_MAX_TERMS
    with _whole_stage_codegen(long.sparkSession, compiles):
        rows = spreads.collect()
    return {
        (int(r["m"]), int(r["c"])): (
            float(r["to_centre"]),
            float(r["scatter"]),
            float(r["within"]),
            float(r["silhouette"]),
        )
        for r in rows
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


def _quality(
    model_sums: Sequence[_ClusterSums | None], spreads: dict[int, tuple]
) -> ClusterQuality:
    """One model's figures from its two passes; clusters without customers count as size 0
    and take no part in the indices."""
    present = [c for c, s in enumerate(model_sums) if s]
    customers = sum(model_sums[c].size for c in present)
    return ClusterQuality(
        sizes=tuple(s.size if s else 0 for s in model_sums),
        inertia=sum(spreads[c][0] for c in present),
        davies_bouldin=davies_bouldin_index(
            [model_sums[c].mean for c in present], [spreads[c][1] for c in present]
        ),
        calinski_harabasz=calinski_harabasz_index(
            [model_sums[c].size for c in present],
            [model_sums[c].mean for c in present],
            sum(spreads[c][2] for c in present),
        ),
        silhouette=(sum(spreads[c][3] for c in present) / customers if len(present) >= 2 else None),
    )


def models_quality(
    df: DataFrame,
    vector_col: str,
    cluster_cols: Sequence[str],
    centres: Sequence[Sequence[Sequence[float]]],
) -> list[ClusterQuality]:
    """The quality of each model's assignment (``cluster_cols[i]`` with ``centres[i]``), all
    models in two Spark passes. A silhouette needs two clusters with customers."""
    dimensions = len(centres[0][0])
    long = _long_assignments(df, vector_col, cluster_cols, dimensions)
    first = _cluster_sums(long, dimensions)
    sums = [[first.get((m, c)) for c in range(len(model))] for m, model in enumerate(centres)]
    spreads = _spreads(long, centres, sums)
    return [
        _quality(model_sums, {c: v for (mi, c), v in spreads.items() if mi == m})
        for m, model_sums in enumerate(sums)
    ]


def cluster_quality(
    df: DataFrame, vector_col: str, cluster_col: str, centres: Sequence[Sequence[float]]
) -> ClusterQuality:
    """Inertia, Davies-Bouldin, Calinski-Harabasz and silhouette of one assignment."""
    return models_quality(df, vector_col, [cluster_col], [centres])[0]


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
