"""The shared column names, the as_of slice (replaceWhere text and filter) and ``cached``."""

from __future__ import annotations

import datetime as dt
import inspect

import pytest
from pyspark import StorageLevel
from pyspark.sql import DataFrame

from custseg.layer1_core import tables
from custseg.layer1_core.config import feature_names
from custseg.layer1_core.tables import AS_OF, CUSTOMER_KEY
from custseg.layer2_io.delta_io import AsOfSlice
from custseg.layer2_io.spark import ROW_CACHE, cached

JAN, FEB = dt.date(2024, 1, 31), dt.date(2024, 2, 29)


def test_the_specs_declare_the_shared_columns_by_their_constants():
    assert (CUSTOMER_KEY, AS_OF) == ("customer_key", "as_of")
    for spec in (tables.CUSTOMER_RFM, tables.CUSTOMER_CLUSTERS, tables.SEGMENTS_CURRENT):
        assert spec.column_names[:2] == [CUSTOMER_KEY, AS_OF]
    assert tables.CUSTOMER_RFM.partition_by == (AS_OF,)
    assert tables.CUSTOMER_RFM.sorted_by == (CUSTOMER_KEY,)
    assert feature_names.CLUSTER_KEYS[0] is AS_OF


def test_the_slice_predicate_is_the_iso_date_as_a_sql_string():
    assert AsOfSlice(JAN).predicate == "as_of = '2024-01-31'"


def test_the_slice_predicate_and_filter_select_the_same_rows(spark):
    frame = spark.createDataFrame(
        [(JAN, "a"), (FEB, "b"), (JAN, "c")], f"{AS_OF} date, {CUSTOMER_KEY} string"
    )
    this_slice = AsOfSlice(JAN)

    by_filter = frame.where(this_slice.filter).orderBy(CUSTOMER_KEY).collect()
    by_predicate = frame.where(this_slice.predicate).orderBy(CUSTOMER_KEY).collect()

    assert [row[CUSTOMER_KEY] for row in by_filter] == ["a", "c"]
    assert by_predicate == by_filter


def _is_cached(frame) -> bool:
    level = frame.storageLevel
    return level.useMemory or level.useDisk


def test_cached_persists_at_the_level_given_and_unpersists_after(spark):
    frame = spark.range(5)
    with cached(frame, ROW_CACHE) as inside:
        assert inside.storageLevel == ROW_CACHE
        assert inside.count() == 5
    assert not _is_cached(frame)


def test_cached_defaults_to_sparks_own_level(spark):
    frame = spark.range(5)
    with cached(frame) as inside:
        default = inspect.signature(DataFrame.persist).parameters["storageLevel"].default
        assert inside.storageLevel == default
        assert inside.storageLevel != StorageLevel.NONE
    assert not _is_cached(frame)


def test_cached_unpersists_when_the_block_raises(spark):
    frame = spark.range(5)
    with pytest.raises(RuntimeError, match="boom"), cached(frame, ROW_CACHE) as inside:
        assert _is_cached(inside)
        raise RuntimeError("boom")
    assert not _is_cached(frame)
