"""Cluster quality measured in Spark: inertia, Davies-Bouldin, Calinski-Harabasz, silhouette, ARI.

Every model of a sweep is judged in the same two passes over the customers, not two or
three passes per model: with a few thousand customers each pass is a Spark job whose cost
is scheduling, so 18 models judged one by one cost a minute of job overhead. The frame
carries one assignment column per model. The first pass explodes it to (model, cluster)
pairs and aggregates them in one grouping: each cluster's size, vector sum and sum of
squared norms. The second (with those as constants) gives the spread about the means, the
squared distance to the model centres and each customer's silhouette, computed per batch
of customers with numpy (see ``_spreads`` for why). Only (model x k)-sized summaries reach
the driver.

Definitions follow scikit-learn so figures are comparable with notebooks:
Davies-Bouldin and Calinski-Harabasz use the *mean of the assigned points* as each
cluster's centroid, inertia uses the model's centres (MLlib's training cost). The
silhouette is MLlib ``ClusteringEvaluator``'s squared-Euclidean silhouette, computed with
its formula (cluster sums of vectors and squared norms), so it equals the evaluator's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from functools import reduce

import numpy as np
import pandas as pd
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
    the (few) dimensions so that code generation compiles it (array lambdas are interpreted)."""
    values = vector_to_array(F.col(vector_col))
    position = (F.col(cluster_col) + F.lit(1)).cast("int")
    terms = []
    for d in range(len(centres[0])):
        coordinate = F.element_at(F.array(*[F.lit(float(c[d])) for c in centres]), position)
        terms.append((values[d] - coordinate) * (values[d] - coordinate))
    return F.sqrt(reduce(lambda acc, term: acc + term, terms, F.lit(0.0)))


def _wide_assignments(
    df: DataFrame, vector_col: str, cluster_cols: Sequence[str], dimensions: int
) -> DataFrame:
    """One row per customer, the vector's components as plain columns ``v0``, ``v1``... and
    model ``i``'s cluster as ``m{i}``: both passes read these, the first without array
    lambdas (interpreted row by row), the second as Arrow batches (vectors have no Arrow type)."""
    values = vector_to_array(F.col(vector_col))
    return df.select(
        *[values[i].alias(f"v{i}") for i in range(dimensions)],
        *[F.col(c).cast("int").alias(f"m{i}") for i, c in enumerate(cluster_cols)],
    )


def _long_assignments(wide: DataFrame, models: int, dimensions: int) -> DataFrame:
    """One row per (customer, model): ``m`` the model's position, ``c`` its cluster. The
    first pass is unrolled arithmetic on these columns, compiled by whole-stage code
    generation (array lambdas such as ``aggregate`` are interpreted row by row)."""
    return wide.select(
        *_components(dimensions),
        F.posexplode(F.array(*[F.col(f"m{i}") for i in range(models)])).alias("m", "c"),
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


@dataclasses.dataclass(frozen=True)
class _ModelConstants:
    """What the second pass needs of one model, as numpy arrays indexed by cluster."""

    centres: np.ndarray  # (k, d): the model's centres
    means: np.ndarray  # (k, d): the mean of the cluster's points (the centre if empty)
    sizes: np.ndarray  # (k,)
    norms: np.ndarray  # (k,): sum of the points' squared norms
    vector_sums: np.ndarray  # (k, d)


def _model_constants(
    model_centres: Sequence[Sequence[float]], model_sums: Sequence[_ClusterSums | None]
) -> _ModelConstants:
    """An empty cluster keeps its centre as its "mean" and size 0: no customer reads it, and
    the silhouette skips it, as MLlib's evaluator does."""
    dimensions = len(model_centres[0])
    filled = [s or _ClusterSums(0, [0.0] * dimensions, 0.0) for s in model_sums]
    return _ModelConstants(
        centres=np.asarray(model_centres, dtype=float),
        means=np.asarray(
            [s.mean if s else list(c) for s, c in zip(model_sums, model_centres)], dtype=float
        ),
        sizes=np.asarray([float(s.size) for s in filled]),
        norms=np.asarray([s.squared_norm_sum for s in filled]),
        vector_sums=np.asarray([s.vector_sum for s in filled], dtype=float),
    )


def _squared_distances(points: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Row i to ``targets[i]``, summed component by component in order, as the first
    version's Spark expression did, so each row's figure is the same double."""
    total = np.zeros(len(points))
    for d in range(points.shape[1]):
        total = total + (points[:, d] - targets[:, d]) * (points[:, d] - targets[:, d])
    return total


def _squared_norms(points: np.ndarray) -> np.ndarray:
    """||x||^2 of each row, summed component by component in order (the first pass's sum)."""
    norm = np.zeros(len(points))
    for d in range(points.shape[1]):
        norm = norm + points[:, d] * points[:, d]
    return norm


def _silhouettes(
    points: np.ndarray, norm: np.ndarray, labels: np.ndarray, model: _ModelConstants
) -> np.ndarray:
    """MLlib's squared-Euclidean silhouette of each point (``SquaredEuclideanSilhouette``):
    the mean squared distance to cluster C is ||x||^2 + sum_C ||y||^2 / n_C - 2 x.sum_C(y) / n_C;
    a point alone in its cluster, or with no other cluster to compare, scores 0. ``norm`` is
    each point's ||x||^2, the same for every model of a batch."""
    dot = np.zeros((len(points), len(model.sizes)))
    for d in range(points.shape[1]):
        dot = dot + points[:, d, None] * model.vector_sums[None, :, d]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_distance = norm[:, None] + model.norms / model.sizes - 2.0 * dot / model.sizes
        rows = np.arange(len(points))
        own_size = model.sizes[labels]
        within = mean_distance[rows, labels] * own_size / (own_size - 1.0)
        others = np.where(model.sizes > 0, mean_distance, np.inf)
        others[rows, labels] = np.inf
        nearest = others.min(axis=1)
        scores = np.where(
            within < nearest,
            1.0 - within / nearest,
            np.where(within > nearest, nearest / within - 1.0, 0.0),
        )
    return np.where((own_size == 1.0) | np.isinf(nearest), 0.0, scores)


SPREADS_SCHEMA = "m int, c int, to_centre double, scatter double, within double, silhouette double"


def _spread_partials(
    batches: Iterator[pd.DataFrame], constants: Sequence[_ModelConstants], dimensions: int
) -> Iterator[pd.DataFrame]:
    """Per batch of customers, each (model, cluster)'s sums of the squared distance to the
    model centre, the distance and squared distance to the cluster mean, and the silhouette:
    only sums leave the Python worker, at most (models x k) rows per batch of thousands."""
    for batch in batches:
        points = batch[[f"v{d}" for d in range(dimensions)]].to_numpy(dtype=float)
        norm = _squared_norms(points)
        parts = []
        for m, model in enumerate(constants):
            labels = batch[f"m{m}"].to_numpy(dtype=np.int64)
            k = len(model.sizes)
            to_mean = _squared_distances(points, model.means[labels])
            figures = {
                "to_centre": _squared_distances(points, model.centres[labels]),
                "scatter": np.sqrt(to_mean),
                "within": to_mean,
                "silhouette": _silhouettes(points, norm, labels, model),
            }
            present = np.bincount(labels, minlength=k) > 0
            part = {
                name: np.bincount(labels, weights=values, minlength=k).astype(float)
                for name, values in figures.items()
            }
            parts.append(
                pd.DataFrame({"m": m, "c": np.arange(k, dtype=np.int32), **part}).loc[present]
            )
        yield pd.concat(parts, ignore_index=True).astype({"m": "int32", "c": "int32"})


def _spreads(
    wide: DataFrame,
    centres: Sequence[Sequence[Sequence[float]]],
    sums: Sequence[Sequence[_ClusterSums | None]],
) -> dict[tuple[int, int], tuple[float, float, float, float]]:
    """{(model, cluster): (sum of squared distance to the model centre, mean distance to the
    cluster mean, sum of squared distance to the cluster mean, sum of silhouettes)}.

    The one vectorised pandas step of custseg's clustering, and why: each customer's
    silhouette compares it with every cluster of every model (a k = 2..10 sweep of two
    algorithms: 108 cluster terms per customer). As one Spark expression that outgrows the
    JVM's 64 KB method limit and runs uncompiled; split into columns it compiles into
    methods too large for HotSpot to compile further. Measured at 16M rows (2.8 million
    customers, 18 models) this pass took 197 s and 377 s those two ways. numpy evaluates
    the same formula, in the same order per customer, on whole batches; only (model x k)
    sums per batch come back to Spark."""
    dimensions = len(centres[0][0])
    constants = [_model_constants(c, s) for c, s in zip(centres, sums)]

    def partials(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return _spread_partials(batches, constants, dimensions)

    rows = (
        wide.mapInPandas(partials, SPREADS_SCHEMA)
        .groupBy("m", "c")
        .agg(*[F.sum(n).alias(n) for n in ("to_centre", "scatter", "within", "silhouette")])
        .collect()
    )
    return {
        (int(r["m"]), int(r["c"])): (
            float(r["to_centre"]),
            float(r["scatter"]) / sums[r["m"]][r["c"]].size,
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
    wide = _wide_assignments(df, vector_col, cluster_cols, dimensions)
    first = _cluster_sums(_long_assignments(wide, len(cluster_cols), dimensions), dimensions)
    sums = [[first.get((m, c)) for c in range(len(model))] for m, model in enumerate(centres)]
    spreads = _spreads(wide, centres, sums)
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
