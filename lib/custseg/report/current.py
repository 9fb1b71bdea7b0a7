"""The ``segments_current`` table: the latest picture of every customer in one row.

BI tools and CRM exports want a single lookup by customer: segment, scores, the segment
before, and the cluster name under each chosen model, without joining three tables or
knowing which as_of is the latest.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from custseg.report.aggregates import at_as_of


def segments_current(rfm: DataFrame, clusters: DataFrame | None, as_of: dt.date) -> DataFrame:
    """One row per customer at ``as_of`` with the cluster name under every model.

    ``clusters`` maps model keys such as ``kmeans_k5`` to cluster names; it is null for a
    customer no model assigned (or when no clustering has run yet).
    """
    latest = at_as_of(rfm, as_of)
    if clusters is None:
        return latest.withColumn("clusters", F.lit(None).cast("map<string,string>"))
    model_key = F.concat(F.col("algorithm"), F.lit("_k"), F.col("k").cast("string"))
    named = (
        at_as_of(clusters, as_of)
        .groupBy("customer_key")
        .agg(
            F.map_from_entries(
                F.array_sort(
                    F.collect_list(
                        F.struct(model_key.alias("key"), F.col("cluster_name").alias("value"))
                    )
                )
            ).alias("clusters")
        )
    )
    return latest.join(named, "customer_key", how="left")
