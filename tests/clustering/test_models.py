"""Deterministic fitting: fixed partitioning, hash sampling, seeds; the saved pipeline unit."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from custseg.layer1_core.config.model import ClusteringConfigError
from custseg.layer2_io.spark import cached
from custseg.layer3_stages.clustering import features, models
from custseg.layer3_stages.clustering.models import ModelKey

FEATURES = features.parse_features(["log_recency", "log_frequency", "log_monetary"])
GROUP_SIZES = {"active_big": 40, "lapsed_big": 30, "recent_new": 60, "lapsed_small": 50}


def fitted_centres(rfm, algorithm, seed=42):
    frame = models.fixed_partitioning(features.feature_frame(rfm, FEATURES), 2)
    scaler = models.scaler_pipeline(FEATURES).fit(frame)
    model = models.fit_clustering(
        models.scaled_frame(scaler, frame), ModelKey(algorithm, 4), seed=seed, max_iter=20
    )
    return models.centres(model)


@pytest.mark.parametrize("algorithm", models.ALGORITHMS)
def test_same_data_and_seed_give_the_same_centres_whatever_the_input_layout(make_rfm, algorithm):
    rfm = make_rfm(GROUP_SIZES)
    reshuffled = rfm.repartition(3, F.col("monetary")).sortWithinPartitions(
        F.col("monetary").desc()
    )

    first = fitted_centres(rfm, algorithm)
    again = fitted_centres(rfm, algorithm)
    from_other_layout = fitted_centres(reshuffled, algorithm)

    assert len(first) == 4
    for centre, same, other in zip(first, again, from_other_layout):
        assert same == pytest.approx(centre, rel=1e-9, abs=1e-12)
        assert other == pytest.approx(centre, rel=1e-9, abs=1e-12)


def test_hash_sample_is_stable_and_independent_of_partitioning(spark):
    customers = spark.range(2000).select(F.concat(F.lit("k"), F.col("id")).alias("customer_key"))

    sample = {r[0] for r in models.hash_sample(customers, 0.25, seed=42).collect()}
    again = {r[0] for r in models.hash_sample(customers.repartition(5), 0.25, seed=42).collect()}
    other_seed = {r[0] for r in models.hash_sample(customers, 0.25, seed=7).collect()}

    assert sample == again
    assert 400 < len(sample) < 600
    assert sample != other_seed


@pytest.mark.parametrize(
    "sample_size, customers, expected",
    [(None, 1000, None), (5000, 1000, None), (1000, 1000, None), (200, 1000, 0.2)],
)
def test_sample_fraction(sample_size, customers, expected):
    assert models.sample_fraction(sample_size, customers) == expected


def test_the_saved_unit_scores_raw_features_like_the_fitted_stages(make_rfm, tmp_path):
    from pyspark.ml import PipelineModel

    frame = models.fixed_partitioning(features.feature_frame(make_rfm(GROUP_SIZES), FEATURES), 2)
    scaler = models.scaler_pipeline(FEATURES).fit(frame)
    scaled = models.scaled_frame(scaler, frame)
    model = models.fit_clustering(scaled, ModelKey("kmeans", 4), seed=42, max_iter=20)
    path = models.model_path(str(tmp_path / "_models"), "2021-12-31", ModelKey("kmeans", 4))
    models.pipeline_model(scaler, model).write().overwrite().save(path)

    loaded = PipelineModel.load(path)
    direct = models.assign(scaled, model, "direct").select("customer_key", "direct")
    reloaded = loaded.transform(frame).select("customer_key", F.col("cluster").alias("reloaded"))

    assert path.endswith("/_models/2021-12-31/kmeans_k4")
    assert models.model_input_columns(loaded) == [f.frame_column for f in FEATURES]
    assert (
        direct.join(reloaded, on="customer_key", how="inner").filter("direct != reloaded").count()
        == 0
    )
    assert direct.count() == 180


def test_an_unknown_algorithm_is_a_configuration_error():
    with pytest.raises(ClusteringConfigError, match="unknown clustering algorithm 'dbscan'"):
        models.clustering_estimator(ModelKey("dbscan", 4), seed=42, max_iter=20)


@pytest.mark.parametrize("algorithm", models.ALGORITHMS)
def test_the_fits_take_mllib_defaults_for_everything_but_k_seed_and_solver(spark, algorithm):
    """Issue 28: the default fit is MLlib's (maxIter 20, tol, initSteps,
    minDivisibleClusterSize), measured against maxIter 40 in docs/performance.md; KMeans
    takes the block solver (the same centres, faster)."""
    from pyspark.ml.clustering import BisectingKMeans, KMeans

    from custseg.layer1_core.config import ClusteringSettings

    defaults = ClusteringSettings()
    estimator = models.clustering_estimator(
        ModelKey(algorithm, 4), seed=defaults.seed, max_iter=defaults.max_iter
    )
    plain = {"kmeans": KMeans, "bisecting_kmeans": BisectingKMeans}[algorithm]()

    def by_name(params):
        chosen = {"k", "seed", "featuresCol", "predictionCol"}
        return {p.name: v for p, v in params.extractParamMap().items() if p.name not in chosen}

    if algorithm == "kmeans":
        plain.setSolver("block")
    assert defaults.max_iter == 20
    assert by_name(estimator) == by_name(plain)


def test_kmeans_block_solver_gives_the_row_solvers_centres(spark):
    """The block solver computes distances as matrix products; on the same partitions it
    starts from the same k-means|| centres and ends where the row solver (what MLlib's
    ``auto`` takes for custseg's vectors) ends."""
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.feature import VectorAssembler

    points = [
        (float(i % 7) + i / 1000.0, float((i * 3) % 11), float(i % 5) ** 1.5) for i in range(600)
    ]
    frame = VectorAssembler(inputCols=["a", "b", "c"], outputCol=models.VECTOR).transform(
        spark.createDataFrame(points, "a double, b double, c double").repartition(4, "a")
    )
    key = ModelKey("kmeans", 4)
    with cached(frame) as same_rows:
        ours = models.clustering_estimator(key, seed=7, max_iter=20).fit(same_rows)
        row = KMeans(k=4, seed=7, maxIter=20, featuresCol=models.VECTOR, solver="row")
        reference = row.fit(same_rows)

    assert ours.getSolver() == "block"
    assert len(models.centres(ours)) == len(models.centres(reference)) == 4
    for got, expected in zip(models.centres(ours), models.centres(reference), strict=True):
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert ours.summary.trainingCost == pytest.approx(reference.summary.trainingCost, rel=1e-12)


def test_model_key_is_still_the_plain_pair():
    key = ModelKey("kmeans", 4)

    assert key == ("kmeans", 4) and {("kmeans", 4): 1}[key] == 1
    assert key.name == "kmeans_k4"


@pytest.mark.parametrize(
    "rows, partitions, expected", [(8_000, 8, 1), (250_001, 8, 2), (3_000_000, 8, 8), (0, 8, 1)]
)
def test_bisecting_fits_take_one_partition_per_250000_rows(rows, partitions, expected):
    assert models.bisecting_partitions(rows, partitions) == expected


def test_bisecting_kmeans_fits_the_same_centres_on_fewer_partitions(make_rfm):
    """With the reduce side pinned (the test session's default parallelism is 2, the fixed
    partitions here) only the task count changes: the sums differ in float rounding only."""
    frame = models.fixed_partitioning(features.feature_frame(make_rfm(GROUP_SIZES), FEATURES), 2)
    scaled = models.scaled_frame(models.scaler_pipeline(FEATURES).fit(frame), frame)
    key = ModelKey("bisecting_kmeans", 4)

    on_fixed = models.fit_clustering(scaled, key, seed=42, max_iter=20)
    coalesced = models.fit_clustering(scaled, key, seed=42, max_iter=20, training_rows=180)

    assert scaled.rdd.getNumPartitions() == 2
    for centre, same in zip(models.centres(on_fixed), models.centres(coalesced), strict=True):
        assert same == pytest.approx(centre, rel=1e-9, abs=1e-12)


def test_concurrent_fits_give_the_models_and_metrics_of_sequential_ones(make_rfm):
    from custseg.layer3_stages.clustering import selection

    frame = models.fixed_partitioning(features.feature_frame(make_rfm(GROUP_SIZES), FEATURES), 2)
    scaled = models.scaled_frame(models.scaler_pipeline(FEATURES).fit(frame), frame).cache()
    plan = selection.sweep_plan(models.ALGORITHMS, [2, 4])
    effort = {"seed": 42, "max_iter": 20, "training_customers": 180}

    def outcome(parallel_fits):
        fitted = selection.sweep(scaled, scaled, plan, **effort, parallel_fits=parallel_fits)
        return [(m.key, m.centres, m.quality, m.silhouette) for m in fitted]

    one_by_one, concurrent = outcome(1), outcome(4)
    scaled.unpersist()
    assert [row[0] for row in concurrent] == plan  # plan order kept
    assert concurrent == one_by_one


@pytest.mark.parametrize("algorithm", models.ALGORITHMS)
def test_the_training_frame_is_left_for_mllib_to_cache_and_fits_the_same(make_rfm, algorithm):
    frame = models.fixed_partitioning(features.feature_frame(make_rfm(GROUP_SIZES), FEATURES), 2)
    scaled = models.scaled_frame(models.scaler_pipeline(FEATURES).fit(frame), frame).cache()
    train = models.training_frame(scaled, None, seed=42)

    on_cached = models.fit_clustering(scaled, ModelKey(algorithm, 4), seed=42, max_iter=20)
    on_training = models.fit_clustering(train, ModelKey(algorithm, 4), seed=42, max_iter=20)
    scaled.unpersist()

    assert not train.storageLevel.useMemory and not train.storageLevel.useDisk
    assert models.centres(on_training) == models.centres(on_cached)
