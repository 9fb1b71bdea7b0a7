"""Hand-built customer_rfm rows and frames for the clustering tests (no RFM stage needed)."""

from __future__ import annotations

import datetime as dt

import numpy as np
from pyspark.sql import functions as F

from custseg.layer1_core import tables
from custseg.layer2_io import delta_io
from custseg.layer2_io.schemas import column_type

AS_OF = dt.date(2021, 12, 31)

# Four behaviours far apart on the log scale: (recency days, orders, spend, RFM segment)
GROUPS = {
    "active_big": (6, 25, 6000.0, "Champions"),
    "lapsed_big": (280, 18, 4500.0, "Can't Lose"),
    "recent_new": (8, 1, 40.0, "New Customers"),
    "lapsed_small": (300, 1, 25.0, "Hibernating"),
}


def rfm_rows(
    group_sizes: dict, seed: int = 7, shift: float = 1.0, key_prefix: str = "c"
) -> list[tuple]:
    """(customer_key, recency_days, frequency, monetary, segment) around each group's values.

    ``shift`` scales every value slightly, standing in for next month's data.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for group, size in group_sizes.items():
        recency, orders, spend, segment = GROUPS[group]
        for i in range(size):
            noise = rng.lognormal(0.0, 0.15, size=3)
            rows.append(
                (
                    f"{key_prefix}{group}_{i:04d}",
                    max(0, int(recency * noise[0] * shift)),
                    max(1, int(round(orders * noise[1] * shift))),
                    float(round(spend * noise[2] * shift, 2)),
                    segment,
                )
            )
    return rows


def customer_rfm_frame(spark, rows, as_of: dt.date = AS_OF):
    """A conformed customer_rfm frame from (key, recency, frequency, monetary, segment) rows.

    Columns the clustering tests do not care about get a neutral value (0 when the column
    is required, else null), so new customer_rfm columns do not break these tests.
    """
    df = spark.createDataFrame(
        rows,
        "customer_key string, recency_days int, frequency long, monetary double, segment string",
    )
    df = (
        df.withColumn("as_of", F.lit(as_of))
        .withColumn("tenure_days", F.col("recency_days") + F.lit(30))
        .withColumn("average_order_value", F.col("monetary") / F.col("frequency"))
        .withColumn("spend_365d", F.col("monetary"))
        .withColumn("orders_365d", F.col("frequency"))
    )
    for column in tables.CUSTOMER_RFM.columns:
        if column.name not in df.columns:
            neutral = F.lit(None) if column.nullable else F.lit(0)
            df = df.withColumn(column.name, neutral.cast(column_type(column)))
    return delta_io.conform(df, tables.CUSTOMER_RFM)
