"""The k sweep, the choice of k, and the side-by-side comparison of the two algorithms.

Each (algorithm, k) is fitted on the training rows (everyone, or the hash sample) and
judged on *every* customer, so the figures describe the assignment that will be written.
The default rule picks the lowest Davies-Bouldin index among the ks from ``min_k`` up whose
smallest cluster holds at least ``min_cluster_share`` of customers: two clusters give a
campaign nothing to choose between, and a k that wins by splitting off a sliver of outliers
is not useful for marketing either. Of the algorithms' choices, the one with the best index
becomes the run's primary model, the one a marketer is pointed to.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from pyspark.sql import DataFrame

from custseg.layer1_core.config.model import ClusteringConfigError
from custseg.layer1_core.tables.cluster_tables import quality_rank
from custseg.layer2_io.console import step
from custseg.layer3_stages.clustering import metrics, models
from custseg.layer3_stages.clustering.models import ModelKey

log = logging.getLogger("custseg")

# metric -> True when larger is better
SELECTION_METRICS = {"davies_bouldin": False, "silhouette": True, "calinski_harabasz": True}
DEFAULT_SELECTION_METRIC = "davies_bouldin"


@dataclasses.dataclass(frozen=True)
class FittedModel:
    algorithm: str
    k: int
    model: models.ClusterModel
    centres: list[list[float]]
    quality: metrics.ClusterQuality
    seconds: float
    training_customers: int

    @property
    def key(self) -> ModelKey:
        return ModelKey(self.algorithm, self.k)

    @property
    def silhouette(self) -> float | None:
        return self.quality.silhouette

    def metric(self, name: str) -> float | None:
        return getattr(self.quality, name)


def sweep_plan(algorithms: Sequence[str], k_range: Sequence[int]) -> list[ModelKey]:
    low, high = k_range
    return [ModelKey(algorithm, k) for algorithm in algorithms for k in range(low, high + 1)]


def evaluate(
    scaled: DataFrame, fitted: Sequence[models.ClusterModel]
) -> list[metrics.ClusterQuality]:
    """Every model judged on the same customers in the same two passes (see ``metrics``).

    The assignments are computed in each pass, not cached: a sweep's frame holds one column
    per model (18 for the default sweep), and caching it for 17.7 million customers ran the
    4 GB JVM out of heap (docs/performance.md, the 100M run). Assigning is a few distances
    per model and customer, cheaper than writing and reading that cache."""
    if not fitted:
        return []
    columns = [f"cluster_{i}" for i in range(len(fitted))]
    assigned = models.assign_each(scaled, dict(zip(columns, fitted))).select(
        models.VECTOR, *columns
    )
    return metrics.models_quality(
        assigned, models.VECTOR, columns, [models.centres(m) for m in fitted]
    )


def _timed_fit(
    train: DataFrame, key: ModelKey, *, seed: int, max_iter: int, training_rows: int
) -> tuple:
    """(model, seconds): timed in its own thread, so concurrent fits each get their own."""
    started = time.perf_counter()
    model = models.fit_clustering(
        train, key, seed=seed, max_iter=max_iter, training_rows=training_rows
    )
    return model, time.perf_counter() - started


def sweep(
    train: DataFrame,
    scaled: DataFrame,
    plan: Iterable[ModelKey],
    *,
    seed: int,
    max_iter: int,
    training_customers: int,
    parallel_fits: int = 1,
) -> list[FittedModel]:
    """Every model of the plan, in plan order, fitted on ``train`` and judged on ``scaled``
    (every customer), so the figures describe the assignment that will be written.

    A fit of a few thousand customers is dozens of tiny Spark jobs whose cost is scheduling,
    not arithmetic, so independent fits run from ``parallel_fits`` threads (Spark runs jobs
    of several threads at once, as CrossValidator's ``parallelism`` does). Each fit has its
    own seed and reads the same cached, fixed-partitioned rows, so the models are the same as
    fitted one after another. ``seconds`` is the fit's own time.
    """
    keys = [ModelKey(*key) for key in plan]
    workers = max(1, min(parallel_fits, len(keys)))
    finished = itertools.count(1)  # next() is atomic under the GIL: safe from the threads

    def fit(key: ModelKey) -> tuple:
        model, seconds = _timed_fit(
            train, key, seed=seed, max_iter=max_iter, training_rows=training_customers
        )
        step(
            log,
            f"fit {next(finished)}/{len(keys)} {key.algorithm} k={key.k}",
            f" in {seconds:.1f}s",
        )
        return model, seconds

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="custseg-fit") as pool:
        fits = list(pool.map(fit, keys))
    if fits:
        step(log, f"metrics of {len(fits)} model(s)", " on every customer")
    qualities = evaluate(scaled, [model for model, _ in fits])
    fitted = [
        FittedModel(
            algorithm=key.algorithm,
            k=key.k,
            model=model,
            centres=models.centres(model),
            quality=quality,
            seconds=seconds,
            training_customers=training_customers,
        )
        for key, (model, seconds), quality in zip(keys, fits, qualities)
    ]
    for m in fitted:
        log.info(
            "fitted %s k=%d in %.1fs: inertia %.1f, Davies-Bouldin %s",
            m.algorithm,
            m.k,
            m.seconds,
            m.quality.inertia,
            m.quality.davies_bouldin,
        )
    return fitted


def choose_k(
    candidates: Sequence[FittedModel],
    min_cluster_share: float,
    *,
    min_k: int,
    metric: str = DEFAULT_SELECTION_METRIC,
) -> int | None:
    """The k from ``min_k`` up with the best ``metric`` among models whose smallest cluster
    is big enough; ties go to the higher silhouette, then to the smaller k, the simpler story.

    Smaller ks stay in the sweep for the charts but are never chosen: on customer data the
    index tends to favour two clusters, recent buyers against lapsed ones (the demo data
    picks k=2 for both algorithms), which leaves a campaign nothing to choose between. When
    no k passes the size test the size test is dropped (and logged) rather than choosing
    nothing.
    """
    if metric not in SELECTION_METRICS:
        raise ClusteringConfigError(
            f"unknown selection metric {metric!r} (known: {', '.join(SELECTION_METRICS)})"
        )
    scored = [m for m in candidates if m.k >= min_k and m.metric(metric) is not None]
    eligible = [m for m in scored if m.quality.smallest_share >= min_cluster_share]
    if scored and not eligible:
        log.warning(
            "no k from %d up keeps every cluster above %.1f%% of customers; choosing on %s alone",
            min_k,
            100 * min_cluster_share,
            metric,
        )
        eligible = scored
    if not eligible:
        return None
    larger_is_better = SELECTION_METRICS[metric]
    return min(
        eligible,
        key=lambda m: (
            *quality_rank(m.metric(metric), m.silhouette, larger_is_better=larger_is_better),
            m.k,
        ),
    ).k


def primary_model(
    fitted: Mapping[ModelKey, FittedModel],
    chosen: Mapping[str, int | None],
    algorithms: Sequence[str],
) -> ModelKey | None:
    """The model a marketer should use: of each algorithm's chosen model, the lowest
    Davies-Bouldin index, then the higher silhouette, then the algorithm listed first.

    None when no algorithm chose a k (no model could be judged).
    """
    candidates = [fitted[ModelKey(a, chosen[a])] for a in algorithms if chosen.get(a)]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda m: (
            *quality_rank(m.metric(DEFAULT_SELECTION_METRIC), m.silhouette),
            algorithms.index(m.algorithm),
        ),
    ).key


def kept_models(
    algorithms: Sequence[str],
    chosen: dict[str, int | None],
    fixed_ks: Sequence[int],
    primary: ModelKey | None = None,
) -> list[ModelKey]:
    """Models saved and assigned: each algorithm's chosen k, the fixed comparison ks and the
    primary model (an explicit one may be none of those)."""
    return [
        ModelKey(algorithm, k)
        for algorithm in algorithms
        for k in sorted(
            {
                *fixed_ks,
                *([chosen[algorithm]] if chosen.get(algorithm) else []),
                *([primary.k] if primary and primary.algorithm == algorithm else []),
            }
        )
    ]


def selection_rows(
    fitted: Iterable[FittedModel],
    chosen: dict[str, int | None],
    kept: Iterable[ModelKey],
    *,
    primary: ModelKey | None,
) -> list[dict]:
    """model_selection rows (without as_of), one per fitted model."""
    kept = set(kept)
    return [
        {
            "algorithm": m.algorithm,
            "k": m.k,
            "inertia": m.quality.inertia,
            "silhouette": m.silhouette,
            "davies_bouldin": m.quality.davies_bouldin,
            "calinski_harabasz": m.quality.calinski_harabasz,
            "smallest_cluster_share": m.quality.smallest_share,
            "seconds": m.seconds,
            "sample_size": m.training_customers,
            "chosen": chosen.get(m.algorithm) == m.k,
            "saved": m.key in kept,
            "is_primary": m.key == primary,
        }
        for m in sorted(fitted, key=lambda m: m.key)
    ]


def comparison_ks(kept: Iterable[ModelKey]) -> list[int]:
    return sorted({k for _, k in kept})


def comparison_row(
    k: int,
    kmeans: FittedModel | None,
    bisecting: FittedModel | None,
    adjusted_rand_index: float | None,
) -> dict:
    """One model_comparison row (without as_of); a missing algorithm leaves its side null."""
    row = {"k": k, "adjusted_rand_index": adjusted_rand_index}
    for prefix, model in (("kmeans", kmeans), ("bisecting", bisecting)):
        row[f"{prefix}_inertia"] = model.quality.inertia if model else None
        row[f"{prefix}_silhouette"] = model.silhouette if model else None
        row[f"{prefix}_davies_bouldin"] = model.quality.davies_bouldin if model else None
        row[f"{prefix}_calinski_harabasz"] = model.quality.calinski_harabasz if model else None
    return row
