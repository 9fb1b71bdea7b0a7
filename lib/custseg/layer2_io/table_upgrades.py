"""Tables written by an older custseg, brought to this version's schema once.

segment_summary and cluster_profiles used to hold nested columns (actions as an array,
cluster_profiles' feature means, medians, centre and z-scores as maps) and money as double.
BI tools cannot load nested columns, so both are flat now: actions are one text, an action
per line; money is ``decimal(18,2)``; the maps are rows of cluster_features. A stage writes
its as_of with replaceWhere, which cannot change a schema (Delta refuses overwriteSchema
with replaceWhere), so an older table is rewritten whole, in one overwrite commit that
replaces the schema and sets the column comments, before the first stage that reads or
writes it (``pipeline``). On a current table an upgrade is one schema check: no commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType

from custseg.layer1_core.config.feature_names import CLUSTER_KEYS, FEATURE_MAPS, PROFILE_MEANS
from custseg.layer1_core.tables import (
    CLUSTER_FEATURES,
    CLUSTER_PROFILES,
    SEGMENT_SUMMARY,
    TableSpec,
)
from custseg.layer1_core.tables.spec import ACTION_SEPARATOR, table_location
from custseg.layer2_io import delta_io
from custseg.layer2_io.schemas import column_type

log = logging.getLogger("custseg")


def _outdated(spark: SparkSession, warehouse_root: str, spec: TableSpec) -> DataFrame | None:
    """The table when it exists with another schema than declared, else None."""
    path = table_location(warehouse_root, spec.name)
    if not delta_io.table_exists(spark, path) or not delta_io.schema_differs(spark, spec, path):
        return None
    return spark.read.format("delta").load(path)


def _actions_as_text(old: DataFrame) -> dict[str, Column]:
    """An older array of actions as one text, an action per line (empty becomes null);
    nothing to convert when the column is text already."""
    if not isinstance(old.schema["actions"].dataType, ArrayType):
        return {}
    return {"actions": F.nullif(F.array_join("actions", ACTION_SEPARATOR), F.lit(""))}


def _rewrite(
    spark: SparkSession,
    warehouse_root: str,
    spec: TableSpec,
    old: DataFrame,
    converted: dict[str, Column],
) -> None:
    """Every row again in the declared schema, in one commit: ``converted`` columns, the
    kept ones (``conform`` casts them, double money to decimal), null for a nullable column
    the older table lacks. A required column it lacks fails in ``conform``, by name."""
    columns = [
        converted[c.name].alias(c.name)
        if c.name in converted
        else F.col(f"`{c.name}`")
        if c.name in old.columns
        else F.lit(None).cast(column_type(c)).alias(c.name)
        for c in spec.columns
        if c.name in converted or c.name in old.columns or c.nullable
    ]
    delta_io.write_table(
        spark, warehouse_root, spec, old.select(columns), mode="overwrite", replace_schema=True
    )
    log.info("table %s: rewritten in this custseg's schema (flat, money in cents)", spec.name)


def upgrade_segment_summary(spark: SparkSession, warehouse_root: str) -> bool:
    """Actions as text and money in cents; True when the table was rewritten."""
    old = _outdated(spark, warehouse_root, SEGMENT_SUMMARY)
    if old is None:
        return False
    _rewrite(spark, warehouse_root, SEGMENT_SUMMARY, old, _actions_as_text(old))
    return True


def exploded_features(old: DataFrame) -> DataFrame:
    """cluster_features rows of an older cluster_profiles: one per cluster and feature that
    any of its maps holds, null where a map lacks the feature."""
    maps = [name for name in FEATURE_MAPS if name in old.columns]
    names = F.array_distinct(F.concat(*[F.map_keys(F.col(name)) for name in maps]))
    rows = old.select(*CLUSTER_KEYS, *maps, F.explode(names).alias("feature"))
    return rows.select(
        *CLUSTER_KEYS,
        "feature",
        *[
            (
                F.try_element_at(F.col(name), F.col("feature"))
                if name in maps
                else F.lit(None).cast("double")
            ).alias(column)
            for name, column in FEATURE_MAPS.items()
        ],
    )


def upgrade_cluster_profiles(spark: SparkSession, warehouse_root: str) -> bool:
    """cluster_features first (every as_of of the older maps), then cluster_profiles without
    the maps, with actions as text and the R, F, M means flat: a rerun after a kill between
    the two writes the same rows again. True when the tables were rewritten."""
    old = _outdated(spark, warehouse_root, CLUSTER_PROFILES)
    if old is None:
        return False
    converted = _actions_as_text(old)
    if "feature_means" in old.columns:
        delta_io.write_table(
            spark, warehouse_root, CLUSTER_FEATURES, exploded_features(old), mode="overwrite"
        )
        converted |= {
            mean: F.try_element_at(F.col("feature_means"), F.lit(column))
            for mean, column in PROFILE_MEANS.items()
        }
    _rewrite(spark, warehouse_root, CLUSTER_PROFILES, old, converted)
    return True


UPGRADES = {
    SEGMENT_SUMMARY.name: upgrade_segment_summary,
    CLUSTER_PROFILES.name: upgrade_cluster_profiles,
}


def upgrade_tables(
    spark: SparkSession, warehouse_root: str, names: Iterable[str] = tuple(UPGRADES)
) -> list[str]:
    """Upgrades the named tables (every table that has an upgrade by default); returns the
    names of those rewritten."""
    return [name for name in names if UPGRADES[name](spark, warehouse_root)]
