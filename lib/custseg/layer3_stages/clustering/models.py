"""MLlib pipelines: VectorAssembler -> StandardScaler -> KMeans or BisectingKMeans.

Every model of a run shares one fitted scaler: the sweep fits up to 18 models and the
comparison, agreement and stability steps only make sense when all of them live in the
same standardised space. The scaler is fitted once on the training rows and the
clustering estimators on its output; ``pipeline_model`` then joins the three fitted stages
into one ``PipelineModel``, the unit that is saved and later scores raw features.

The scaler divides by each feature's standard deviation but does not subtract the mean:
every distance-based quantity here (assignments, inertia, the indices, silhouette) is
unchanged by a shift, and BisectingKMeans cannot split data centred on the origin (it
perturbs the root centre by 1e-4 of its norm, which is zero there, so all customers stay
in one cluster).

Determinism: the feature frame is hash-partitioned on customer_key into a fixed number of
partitions and sorted inside them, the training sample is a hash of the key (not
``DataFrame.sample``), and both estimators get the configured seed, so the same data and
settings give the same centres.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.clustering import BisectingKMeans, BisectingKMeansModel, KMeans, KMeansModel
from pyspark.ml.feature import StandardScaler, StandardScalerModel, VectorAssembler
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.layer1_core.config.model import ClusteringConfigError
from custseg.layer1_core.tables import CUSTOMER_KEY
from custseg.layer1_core.tables.cluster_tables import ALGORITHMS
from custseg.layer3_stages.clustering.features import Feature, ScalerStatistics

RAW_VECTOR = "features_raw"
VECTOR = "features"
PREDICTION = "cluster"
SAMPLE_BUCKETS = 1_000_000

ClusterModel = KMeansModel | BisectingKMeansModel


class ModelKey(NamedTuple):
    """Which model of a run. A named tuple so that it compares equal to, hashes like and
    unpacks as the plain ``(algorithm, k)`` pairs that tables and older callers use."""

    algorithm: str
    k: int

    @property
    def name(self) -> str:
        """``kmeans_k4``: the saved model's folder and how summaries refer to it."""
        return f"{self.algorithm}_k{self.k}"


def fixed_partitioning(df: DataFrame, partitions: int) -> DataFrame:
    """Same rows -> same partitions in the same order, whatever the input file layout."""
    return df.repartition(partitions, F.col(CUSTOMER_KEY)).sortWithinPartitions(CUSTOMER_KEY)


def sample_fraction(sample_size: int | None, customers: int) -> float | None:
    """Share of customers to fit on; None means fit on everyone."""
    if sample_size is None or customers <= 0 or sample_size >= customers:
        return None
    return max(sample_size, 1) / customers


def hash_sample(df: DataFrame, fraction: float | None, seed: int) -> DataFrame:
    """Keeps a stable pseudo-random share of customers, chosen by a hash of their key.

    Unlike ``DataFrame.sample`` the choice does not depend on partitioning, and a customer
    stays in (or out of) the sample from one monthly run to the next.
    """
    if fraction is None:
        return df
    threshold = max(1, round(fraction * SAMPLE_BUCKETS))
    bucket = F.pmod(F.xxhash64(F.col(CUSTOMER_KEY), F.lit(seed)), F.lit(SAMPLE_BUCKETS))
    return df.filter(bucket < threshold)


def training_frame(scaled: DataFrame, fraction: float | None, seed: int) -> DataFrame:
    """The vectors the estimators fit on, deliberately *not* cached as a DataFrame.

    MLlib's KMeans and BisectingKMeans cache their own copy of the input vectors when the
    input is not cached itself, and then iterate over Java objects. Given a cached DataFrame
    they skip that and rebuild every vector from the columnar cache in every iteration,
    which made each fit twice as slow (177,000 customers: KMeans 23 s -> 11 s,
    BisectingKMeans 46 s -> 22 s) for identical centres: same rows, same partitions, same
    order. Each concurrent fit holds its own copy, so memory grows with parallel_fits times
    the training set (4 x 200,000 vectors is about 100 MB).
    """
    return hash_sample(scaled, fraction, seed).select(VECTOR)


def scaler_pipeline(features: Sequence[Feature]) -> Pipeline:
    return Pipeline(
        stages=[
            VectorAssembler(inputCols=[f.frame_column for f in features], outputCol=RAW_VECTOR),
            StandardScaler(inputCol=RAW_VECTOR, outputCol=VECTOR, withMean=False, withStd=True),
        ]
    )


def scaled_frame(scaler_model: PipelineModel, frame: DataFrame) -> DataFrame:
    """The frame with the standardised vector, without the raw inputs it came from."""
    inputs = set(scaler_model.stages[0].getInputCols()) | {RAW_VECTOR}
    out = scaler_model.transform(frame)
    return out.select([c for c in out.columns if c not in inputs])


def scaler_statistics(scaler_model: PipelineModel) -> ScalerStatistics:
    """Read off once so centres can be moved between units on the driver without Spark."""
    scaler: StandardScalerModel = scaler_model.stages[1]
    scale = list(map(float, scaler.std.toArray()))
    shift = list(map(float, scaler.mean.toArray())) if scaler.getWithMean() else [0.0] * len(scale)
    return ScalerStatistics(shift=shift, scale=scale)


# KMeans' solver. MLlib's default, ``auto``, runs a job per fit to judge the vectors'
# density, and its rule (Spark 4.2 sums the indices of the non-zero features where it means
# their counts) then takes the row solver for any but the tiniest input. The block solver
# runs the same k-means|| start and Lloyd's iterations with the distances as matrix
# products: 4.3x faster on a million synthetic 3-dimensional points, the same centres
# (docs/performance.md, "Changes").
KMEANS_SOLVER = "block"


def clustering_estimator(key: ModelKey, *, seed: int, max_iter: int):
    common = dict(
        k=key.k, seed=seed, maxIter=max_iter, featuresCol=VECTOR, predictionCol=PREDICTION
    )
    if key.algorithm == "kmeans":
        return KMeans(**common, solver=KMEANS_SOLVER)
    if key.algorithm == "bisecting_kmeans":
        return BisectingKMeans(**common)
    raise ClusteringConfigError(
        f"unknown clustering algorithm {key.algorithm!r} (known: {', '.join(ALGORITHMS)})"
    )


# BisectingKMeans training rows per partition when it may fit on fewer partitions than the
# fixed ones (see ``fit_clustering``).
BISECTING_ROWS_PER_PARTITION = 250_000


def bisecting_partitions(training_rows: int, partitions: int) -> int:
    """Partitions for a BisectingKMeans fit: one per 250,000 rows, at most ``partitions``."""
    return max(1, min(partitions, -(-training_rows // BISECTING_ROWS_PER_PARTITION)))


def fit_clustering(
    train: DataFrame, key: ModelKey, *, seed: int, max_iter: int, training_rows: int | None = None
) -> ClusterModel:
    """KMeans fits on the fixed partitions as they are: k-means|| samples its initial centres
    per partition, so fewer partitions would give other centres.

    BisectingKMeans sums each cluster with an ``aggregateByKey`` that names no partition
    count, so it reduces into ``spark.default.parallelism`` when that is set, else into as
    many partitions as its input has. The order in which those summaries come back decides
    which split draws which random numbers: with another reduce count the deeper levels of
    the tree differ (seen at k >= 8 on 176,000 customers). So it fits on fewer input
    partitions (a task or two per job instead of one per fixed partition, for each of its
    hundreds of jobs) only when the default parallelism pins the reduce side to the fixed
    partitions, as local sessions do (custseg.layer2_io.spark); the sums then differ in float
    rounding only."""
    if key.algorithm == "bisecting_kmeans" and training_rows is not None:
        partitions = train.rdd.getNumPartitions()
        if _reduce_side_pinned(train.sparkSession, partitions):
            train = train.coalesce(bisecting_partitions(training_rows, partitions))
    return clustering_estimator(key, seed=seed, max_iter=max_iter).fit(train)


def _reduce_side_pinned(spark: SparkSession, partitions: int) -> bool:
    """Whether un-numbered RDD shuffles reduce into exactly ``partitions`` partitions
    whatever their input's layout."""
    configured = spark.sparkContext.getConf().get("spark.default.parallelism", None)
    return configured == str(partitions)


def centres(model: ClusterModel) -> list[list[float]]:
    """Centres in standardised units; index i is what the model predicts as cluster i."""
    return [list(map(float, c)) for c in model.clusterCenters()]


def assign(scaled: DataFrame, model: ClusterModel, cluster_col: str) -> DataFrame:
    """Adds the model's cluster index as ``cluster_col`` (so several models can be chained)."""
    return model.transform(scaled).withColumnRenamed(model.getPredictionCol(), cluster_col)


def assign_each(scaled: DataFrame, models_by_column: dict) -> DataFrame:
    """Adds one cluster column per model ({column: model}): several models' assignments of
    the same customers in one frame, read in one pass."""
    for column, model in models_by_column.items():
        scaled = assign(scaled, model, column)
    return scaled


def pipeline_model(scaler_model: PipelineModel, model: ClusterModel) -> PipelineModel:
    """The saved unit: raw feature columns in, standardised vector and cluster index out."""
    return PipelineModel(stages=[*scaler_model.stages, model])


def cluster_stage(saved: PipelineModel) -> ClusterModel:
    return saved.stages[-1]


def model_input_columns(saved: PipelineModel) -> list[str]:
    return list(saved.stages[0].getInputCols())


def model_path(models_root: str, as_of: str, key: ModelKey) -> str:
    """``<warehouse>/_models/<as_of>/<algorithm>_k<k>``: one folder per saved model."""
    return f"{models_root.rstrip('/')}/{as_of}/{key.name}"
