"""pyspark types of the table declarations in ``custseg.layer1_core.tables``.

The core declares column types by name so that it imports no pyspark; this is the one place
that turns a declaration into the ``DataType`` or ``StructType`` Spark reads and writes with.
"""

from __future__ import annotations

import re

from pyspark.sql import types

from custseg.layer1_core.tables.spec import Column, SqlType, TableSpec

_PRIMITIVES = {
    "string": types.StringType,
    "boolean": types.BooleanType,
    "date": types.DateType,
    "timestamp": types.TimestampType,
    "int": types.IntegerType,
    "bigint": types.LongType,
    "double": types.DoubleType,
}
_DECIMAL = re.compile(r"decimal\((\d+),(\d+)\)")


def spark_type(sql_type: SqlType) -> types.DataType:
    """The pyspark type of a declared column type, nested types included."""
    if sql_type.element is not None:
        return types.ArrayType(spark_type(sql_type.element), sql_type.contains_null)
    if sql_type.key is not None and sql_type.value is not None:
        return types.MapType(
            spark_type(sql_type.key), spark_type(sql_type.value), sql_type.contains_null
        )
    decimal = _DECIMAL.fullmatch(sql_type.name)
    if decimal:
        return types.DecimalType(int(decimal[1]), int(decimal[2]))
    return _PRIMITIVES[sql_type.name]()


def column_type(column: Column) -> types.DataType:
    return spark_type(column.sql_type)


def table_schema(spec: TableSpec) -> types.StructType:
    """The schema a table is created with and its rows are conformed to."""
    return types.StructType(
        [types.StructField(c.name, column_type(c), c.nullable) for c in spec.columns]
    )
