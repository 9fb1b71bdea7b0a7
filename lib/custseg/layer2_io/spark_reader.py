"""``TableReader`` through Spark, for warehouses delta-rs is not given (see
``custseg.layer2_io.delta_log``): HDFS, object stores, plain paths on a cluster."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import TimestampType

from custseg.layer1_core.tables import table_location
from custseg.layer2_io import delta_io
from custseg.layer2_io.delta_log import TableLog

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


class SparkTableReader:
    """The same answers as ``DeltaLogReader``: aggregates are computed by Spark, and only
    small tables' rows reach the driver. Timestamps are taken as microseconds since the
    epoch, so they arrive in UTC whatever the driver's time zone."""

    def __init__(self, spark: SparkSession, root: str):
        self.spark = spark
        self.root = root

    def _path(self, name: str) -> str:
        return table_location(self.root, name)

    def exists(self, name: str) -> bool:
        return delta_io.table_exists(self.spark, self._path(name))

    def log(self, name: str) -> TableLog:
        table = DeltaTable.forPath(self.spark, self._path(name))
        detail = table.detail().select("numFiles", "sizeInBytes").first()
        version = table.history(1).select("version").first()[0]
        return TableLog(int(version), int(detail["numFiles"]), int(detail["sizeInBytes"]))

    def rows(self, name: str, columns: Sequence[str]) -> list[dict]:
        frame = delta_io.read_table(self.spark, self.root, name).select(*columns)
        stamps = {f.name for f in frame.schema.fields if isinstance(f.dataType, TimestampType)}
        picked = [F.unix_micros(c).alias(c) if c in stamps else F.col(c) for c in columns]
        return [
            {
                column: _utc(value) if column in stamps else value
                for column, value in row.asDict().items()
            }
            for row in frame.select(*picked).collect()
        ]

    def counts(self, name: str, keys: Sequence[str]) -> dict[tuple, int]:
        grouped = delta_io.read_table(self.spark, self.root, name).groupBy(*keys).count()
        return {tuple(row[key] for key in keys): row["count"] for row in grouped.collect()}


def _utc(micros: int | None) -> dt.datetime | None:
    return None if micros is None else _EPOCH + dt.timedelta(microseconds=micros)
