"""The warehouse's tables read without a JVM, through delta-rs (the ``deltalake`` package).

Read-only commands (``custseg status``) need a few facts from the Delta logs and a few
small aggregates. Starting a JVM for them costs seconds on a quiet laptop and minutes on a
busy machine; delta-rs reads the same logs and Parquet files from Python in well under a
second. Nothing here imports pyspark.

What a read-only command needs is ``TableReader``: ``DeltaLogReader`` is the one without a
JVM, ``custseg.layer2_io.spark_reader.SparkTableReader`` the one through Spark; both give
the same answers, so a command's text does not depend on which one read the tables.

Where delta-rs is used: a warehouse on the local disk, a ``file:`` URI or a plain path
where plain paths are local (``locations.plain_paths_are_local``). delta-rs can also read
``s3://``/``s3a://``, ``abfss://``/``az://``, ``gs://`` and ``hdfs://``, but with
credentials of its own: environment variables (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``, ``AWS_ENDPOINT_URL``; ``AZURE_STORAGE_ACCOUNT_NAME``
with a key or token; ``GOOGLE_APPLICATION_CREDENTIALS``), an instance's metadata service, or
``storage_options``, not the ``spark.hadoop.fs.*`` settings custseg hands to Spark. A plain
path on a cluster means the default file system only Hadoop's configuration names. So
``local_warehouse`` answers None for every such location and the command reads through
Spark there, as it always did.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Protocol

from deltalake import DeltaTable, QueryBuilder

from custseg.layer1_core.config import Settings
from custseg.layer1_core.tables import table_location
from custseg.layer2_io.locations import local_path, plain_paths_are_local

# The name a table is queried by in ``DeltaLogReader``'s SQL, and the count's column.
_TABLE = "t"
_ROWS = "__rows"


@dataclasses.dataclass(frozen=True)
class TableLog:
    """A table's current version, with the data files it is made of and their bytes."""

    version: int
    files: int
    size_bytes: int


class TableReader(Protocol):
    """The reads of a read-only command, on the tables under ``root`` (qualified, as
    ``locations.display_location`` shows it). Timestamps are aware datetimes in UTC."""

    root: str

    def exists(self, name: str) -> bool:
        """Whether table ``name`` has a committed version."""

    def log(self, name: str) -> TableLog:
        """The current version of an existing table, from its Delta log."""

    def rows(self, name: str, columns: Sequence[str]) -> list[dict]:
        """Every row of a small table, with these columns only."""

    def counts(self, name: str, keys: Sequence[str]) -> dict[tuple, int]:
        """Rows per distinct combination of ``keys`` (None for null), of a table of any size."""


def local_warehouse(settings: Settings) -> str | None:
    """The warehouse as an absolute local path when it is on the local disk, else None."""
    path = local_path(settings.warehouse, plain_paths_are_local(settings.spark))
    if path is None or not path.strip():
        return None
    return os.path.abspath(path)


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class DeltaLogReader:
    """``TableReader`` for a warehouse on the local disk (``local_warehouse``), with delta-rs.

    Queries run in delta-rs's own SQL engine (DataFusion, ``QueryBuilder``), which reads
    only the columns a query names and aggregates as it reads; results arrive as Arrow
    tables of the small ``arro3`` library, turned into Python values without importing
    pyarrow or pandas (those imports alone would take longer than the reads)."""

    def __init__(self, root: str):
        self.root = root

    def _table(self, name: str) -> DeltaTable:
        return DeltaTable(table_location(self.root, name))

    def _query(self, name: str, sql: str) -> list[dict]:
        result = QueryBuilder().register(_TABLE, self._table(name)).execute(sql).read_all()
        columns = {column: result.column(column).to_pylist() for column in result.column_names}
        return [dict(zip(columns, values)) for values in zip(*columns.values())]

    def exists(self, name: str) -> bool:
        return DeltaTable.is_deltatable(table_location(self.root, name))

    def log(self, name: str) -> TableLog:
        table = self._table(name)
        files = table.get_add_actions(flatten=True)
        return TableLog(
            version=table.version(),
            files=files.num_rows,
            size_bytes=sum(files.column("size_bytes").to_pylist()),
        )

    def rows(self, name: str, columns: Sequence[str]) -> list[dict]:
        picked = ", ".join(_quoted(column) for column in columns)
        return self._query(name, f"SELECT {picked} FROM {_TABLE}")

    def counts(self, name: str, keys: Sequence[str]) -> dict[tuple, int]:
        grouped = ", ".join(_quoted(key) for key in keys)
        rows = self._query(
            name, f"SELECT {grouped}, count(*) AS {_ROWS} FROM {_TABLE} GROUP BY {grouped}"
        )
        return {tuple(row[key] for key in keys): row[_ROWS] for row in rows}
