"""Small hand-built transactions for the RFM tests, in the shape of tables.TRANSACTIONS."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.layer1_core import tables
from custseg.layer2_io import delta_io


def key(name: str) -> str:
    """A 64-character customer key, as the ingest stage's HMAC would give."""
    return hashlib.sha256(name.encode()).hexdigest()


def line(
    customer: str,
    time: str,
    amount: str | float,
    order_id: str | None = None,
    *,
    is_return: bool = False,
    quantity: int = 1,
) -> tuple:
    """One purchase line; ``time`` is 'YYYY-MM-DD HH:MM:SS' in UTC."""
    return (
        key(customer),
        order_id,
        "item",
        "an item",
        quantity if not is_return else -quantity,
        Decimal(str(amount)),
        is_return,
        time,
    )


def transactions(spark: SparkSession, lines: list[tuple]) -> DataFrame:
    """A transactions frame with every column of the table; times parsed in UTC by Spark."""
    raw = spark.createDataFrame(
        lines,
        "customer_key string, order_id string, item_id string, item_name string, "
        "quantity long, amount decimal(18,4), is_return boolean, time string",
    )
    purchase_time = F.to_timestamp("time", "yyyy-MM-dd HH:mm:ss")
    return delta_io.conform(
        raw.withColumn("purchase_time", purchase_time)
        .withColumn("unit_price", F.col("amount") / F.abs(F.col("quantity")))
        .withColumn("purchase_date", F.to_date(purchase_time))
        .withColumn("purchase_month", F.date_format(purchase_time, "yyyy-MM"))
        .withColumn("source_file", F.lit("test.csv"))
        .withColumn("ingest_run_id", F.lit("test-run")),
        tables.TRANSACTIONS,
    )


def save_transactions(spark: SparkSession, settings, lines: list[tuple]) -> None:
    """Writes the lines as the transactions Delta table.

    A plain Delta write of the table's columns: the rfm stage only reads the table, and
    delta_io.write_table would also create it with its constraints and properties first, a
    commit more per test.
    """
    (
        transactions(spark, lines)
        .write.format("delta")
        .mode("overwrite")
        .save(settings.table_path(tables.TRANSACTIONS.name))
    )
