"""The ``segments_current`` table: the latest picture of every customer in one flat row.

BI tools, spreadsheets and campaign exports want one lookup by customer, with what to do
about it: segment, its meaning and first action, the purchase dates and the recommended
(primary) model's cluster, without joining five tables, knowing which as_of is the latest
or unpacking map and array columns that Tableau, Power BI and Excel cannot read.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.layer1_core.tables import AS_OF, CUSTOMER_KEY
from custseg.layer1_core.tables.spec import ACTION_SEPARATOR, DISPLAY_MONEY
from custseg.layer3_stages.report.aggregates import at_as_of

# Keys of the primary model's rows in customer_clusters and cluster_profiles.
_CLUSTER_COLUMNS = ("cluster_model", "cluster_id", "cluster_name", "cluster_action")


def _money(column: Column) -> Column:
    return column.cast(DISPLAY_MONEY.name)


def _first_action(actions: str) -> Column:
    """The first line of an actions text; null stays null."""
    return F.substring_index(F.col(actions), ACTION_SEPARATOR, 1)


def segment_since(rfm: DataFrame, as_of: dt.date) -> DataFrame:
    """Per customer at ``as_of``: the first as_of of its current unbroken run in its segment.

    A run is broken by an earlier as_of at which the customer was in another segment;
    as_ofs at which the customer was not scored at all do not break it.
    """
    current = at_as_of(rfm, as_of).select(CUSTOMER_KEY, F.col("segment").alias("_current"))
    history = (
        rfm.where(F.col(AS_OF) <= F.lit(as_of))
        .select(CUSTOMER_KEY, AS_OF, "segment")
        .join(current, CUSTOMER_KEY)
    )
    left_it = (
        history.where(F.col("segment") != F.col("_current"))
        .groupBy(CUSTOMER_KEY)
        .agg(F.max(AS_OF).alias("_left"))
    )
    return (
        history.join(left_it, CUSTOMER_KEY, how="left")
        .where(F.col("_left").isNull() | (F.col(AS_OF) > F.col("_left")))
        .groupBy(CUSTOMER_KEY)
        .agg(F.min(AS_OF).alias("segment_since"))
    )


def primary_clusters(
    clusters: DataFrame, profiles: DataFrame, primary: tuple[str, int], as_of: dt.date
) -> DataFrame:
    """The primary model's cluster of every customer it assigned at ``as_of``, with the
    cluster's first action from the profiles of the model that assigned it (an earlier
    model after ``custseg score``)."""
    algorithm, k = primary
    is_model = (F.col("algorithm") == F.lit(algorithm)) & (F.col("k") == F.lit(k))
    actions = profiles.where(is_model).select(
        F.col(AS_OF).alias("model_as_of"),
        "cluster_id",
        _first_action("actions").alias("cluster_action"),
    )
    return (
        at_as_of(clusters, as_of)
        .where(is_model)
        .join(actions, ["model_as_of", "cluster_id"], how="left")
        .select(
            CUSTOMER_KEY,
            F.lit(f"{algorithm}_k{k}").alias("cluster_model"),
            "cluster_id",
            "cluster_name",
            "cluster_action",
        )
    )


def segments_current(
    rfm: DataFrame,
    segments: DataFrame,
    cluster_rows: DataFrame | None,
    as_of: dt.date,
) -> DataFrame:
    """One row per customer scored at ``as_of``.

    ``segments`` is segment_summary (descriptions and actions per as_of and segment);
    ``cluster_rows`` is ``primary_clusters`` or None before any clustering, when the
    cluster columns are null.
    """
    meanings = at_as_of(segments, as_of).select(
        "segment",
        F.col("description").alias("segment_description"),
        _first_action("actions").alias("segment_action"),
    )
    customers = (
        at_as_of(rfm, as_of)
        .join(F.broadcast(meanings), "segment", how="left")
        .join(segment_since(rfm, as_of), CUSTOMER_KEY)
        .select(
            CUSTOMER_KEY,
            AS_OF,
            "segment",
            "segment_description",
            "segment_action",
            "previous_segment",
            "segment_since",
            "r_score",
            "f_score",
            "m_score",
            "recency_days",
            F.col("frequency").alias("orders"),
            _money(F.col("monetary")).alias("spend"),
            _money(F.col("average_order_value")).alias("average_order_value"),
            F.to_date("first_purchase_time").alias("first_purchase_date"),
            F.to_date("last_purchase_time").alias("last_purchase_date"),
        )
    )
    if cluster_rows is None:
        return customers.select("*", *[F.lit(None).alias(name) for name in _CLUSTER_COLUMNS])
    return customers.join(cluster_rows, CUSTOMER_KEY, how="left")
