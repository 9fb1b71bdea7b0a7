"""Per-customer output of a model: stable cluster id, name and distance to the centre.

The model predicts an arbitrary cluster index; customers must instead carry the id and
name that cluster_profiles gave that index (kept stable across runs), whether the model
was just fitted or loaded to score a later month.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.layer1_core.tables.cluster_tables import IS_PRIMARY
from custseg.layer3_stages.clustering import metrics, models
from custseg.layer3_stages.clustering.features import SEGMENT
from custseg.layer3_stages.clustering.models import ModelKey

CLUSTER_ID, CLUSTER_NAME, DISTANCE = "cluster_id", "cluster_name", "distance_to_centre"


@dataclasses.dataclass(frozen=True)
class ClusterLabels:
    """Stable id and name of each model cluster: ``ids[i]`` and ``names[i]`` belong to the
    cluster the model predicts as i."""

    ids: Sequence[int]
    names: Sequence[str]

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping]) -> ClusterLabels:
        """From saved cluster_profiles rows (model_cluster, cluster_id, cluster_name) of one
        model, in any order: scoring a later month must reuse exactly these labels."""
        ordered = sorted(rows, key=lambda r: r["model_cluster"])
        return cls(
            ids=[r["cluster_id"] for r in ordered], names=[r["cluster_name"] for r in ordered]
        )


def label_assignments(
    assigned: DataFrame,
    *,
    key: ModelKey,
    centres: Sequence[Sequence[float]],
    labels: ClusterLabels,
    is_primary: bool | None,
    prediction_column: str = models.PREDICTION,
    vector_column: str = models.VECTOR,
) -> DataFrame:
    """Adds algorithm, k, stable id, name, distance to the model's centre and whether the
    model is the run's primary one (None when the saved model's run did not say).

    The labels are looked up in k-element literal arrays rather than joined, so there is
    no shuffle of the customers.
    """
    position = (F.col(prediction_column) + F.lit(1)).cast("int")
    ids = F.array(*[F.lit(int(i)) for i in labels.ids])
    names = F.array(*[F.lit(str(n)) for n in labels.names])
    return (
        assigned.withColumn("algorithm", F.lit(key.algorithm))
        .withColumn("k", F.lit(key.k))
        .withColumn(CLUSTER_ID, F.element_at(ids, position))
        .withColumn(CLUSTER_NAME, F.element_at(names, position))
        .withColumn(DISTANCE, metrics.distance_to_centre(vector_column, prediction_column, centres))
        .withColumn(IS_PRIMARY, F.lit(is_primary).cast("boolean"))
    )


def segment_crosstab(labelled: DataFrame) -> DataFrame:
    """Customers per (model, RFM segment, cluster): how the rule segments spread over clusters."""
    return labelled.groupBy("algorithm", "k", SEGMENT, CLUSTER_ID, CLUSTER_NAME).agg(
        F.count(F.lit(1)).alias("customers")
    )
