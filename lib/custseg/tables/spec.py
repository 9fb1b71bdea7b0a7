"""What a table is, independent of where it lives: name, schema, comments, partitioning,
constraints and table properties. Pure declarations; ``custseg.delta_io`` applies them.
"""

from __future__ import annotations

import dataclasses

from pyspark.sql.types import DataType, DecimalType, StructField, StructType

# SQL users find the tables in this catalog database (see delta_io.register_in_catalog).
DATABASE = "custseg"
MONEY = DecimalType(18, 4)

# Set on every table when it is created, so they show in ``SHOW TBLPROPERTIES`` where BI users
# look. The log keeps 30 days of history (time travel reaches that far while the data files
# exist); VACUUM deletes data files only once unreferenced for 7 days, so running readers and
# time travel within a week never break. Deletion vectors stay off so that non-Spark readers
# (delta-rs, polars) read every table.
TABLE_PROPERTIES = (
    ("delta.logRetentionDuration", "interval 30 days"),
    ("delta.deletedFileRetentionDuration", "interval 7 days"),
    ("delta.enableDeletionVectors", "false"),
)


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    type: DataType
    comment: str
    nullable: bool = True


@dataclasses.dataclass(frozen=True)
class TableSpec:
    name: str
    comment: str
    columns: tuple[Column, ...]
    partition_by: tuple[str, ...] = ()
    constraints: tuple[tuple[str, str], ...] = ()
    properties: tuple[tuple[str, str], ...] = TABLE_PROPERTIES
    # Delta's optimized write: rows are shuffled by partition value before writing, so a
    # write spread over many partitions (a year of months) makes one file per partition
    # and bin instead of one per task and partition.
    optimize_write: bool = False

    @property
    def schema(self) -> StructType:
        return StructType([StructField(c.name, c.type, c.nullable) for c in self.columns])

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def column(name: str, type_: DataType, comment: str, nullable: bool = True) -> Column:
    """Short positional form that keeps the table declarations one column per line."""
    return Column(name, type_, comment, nullable)


def table_location(warehouse_root: str, name: str) -> str:
    """Table T lives at ``<warehouse>/T``: a public contract with BI tools."""
    return f"{warehouse_root.rstrip('/')}/{name}"
