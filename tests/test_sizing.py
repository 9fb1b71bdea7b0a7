"""Spark sizing for settings left at auto: from the master's cores and the machine's memory."""

from __future__ import annotations

import os

import pytest

from custseg.layer1_core.config import ConfigError, Settings, replace
from custseg.layer2_io import sizing


@pytest.mark.parametrize(
    ("master", "cores"),
    [
        ("local", 1),
        ("local[2]", 2),
        ("local[16]", 16),
        ("local[3,2]", 3),
        ("local[*]", os.cpu_count()),
        ("yarn", None),
        ("spark://host:7077", None),
        ("k8s://https://host", None),
    ],
)
def test_local_cores_from_the_master(master, cores):
    assert sizing.local_cores(master) == cores


def test_auto_partitions_are_four_per_local_core_and_left_to_spark_on_a_cluster():
    assert sizing.resolved_shuffle_partitions("auto", "local[2]") == 8
    assert sizing.resolved_shuffle_partitions("auto", "yarn") is None
    assert sizing.resolved_shuffle_partitions(12, "local[2]") == 12
    assert sizing.resolved_shuffle_partitions(400, "spark://host:7077") == 400


def test_local_driver_memory_is_two_gib_per_core_within_half_the_machine():
    gib = 2**30
    assert sizing.local_driver_memory(24 * gib, cores=2) == "4g"
    assert sizing.local_driver_memory(24 * gib, cores=16) == "12g"
    assert sizing.local_driver_memory(2 * gib, cores=2) == "1g"
    assert sizing.local_driver_memory(512 * gib, cores=64) == "32g"
    assert sizing.local_driver_memory(None, cores=2) == sizing.FALLBACK_DRIVER_MEMORY
    assert sizing.resolved_driver_memory("6g", "local[2]") == "6g"
    assert sizing.resolved_driver_memory("auto", "local[2]").endswith("g")


def test_auto_and_numbers_are_accepted_and_nonsense_is_named():
    settings = replace(Settings(), **{"spark.shuffle_partitions": "auto"})
    assert settings.spark.shuffle_partitions == "auto"
    assert replace(settings, **{"spark.shuffle_partitions": 16}).spark.shuffle_partitions == 16
    with pytest.raises(ConfigError, match="spark.shuffle_partitions"):
        replace(settings, **{"spark.shuffle_partitions": "many"})
    assert replace(settings, **{"spark.driver_memory": "512mb"}).spark.driver_memory == "512mb"
    with pytest.raises(ConfigError, match="spark.driver_memory"):
        replace(settings, **{"spark.driver_memory": "lots"})


def test_local_sessions_pin_the_default_parallelism_to_the_fixed_partitions(monkeypatch):
    """MLlib's un-numbered RDD shuffles then reduce into the fits' fixed partitions whatever
    the layout of their input; on a cluster Spark's own value (or spark-submit's) stays."""
    from custseg.layer2_io.spark import session_options

    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    local = {"spark.master": "local[2]", "clustering.partitions": 6}
    local_options = session_options(replace(Settings(), **local), "t")
    cluster = session_options(replace(Settings(), **{"spark.master": "yarn"}), "t")

    assert local_options["spark.default.parallelism"] == "6"
    assert "spark.default.parallelism" not in cluster


def test_the_test_session_reduces_into_the_fixed_partitions(spark):
    pairs = spark.sparkContext.parallelize([(i % 3, 1) for i in range(30)], 1)
    assert pairs.reduceByKey(lambda a, b: a + b).getNumPartitions() == 2


def test_caches_are_stored_uncompressed_everywhere_unless_the_config_says_otherwise(
    monkeypatch, spark
):
    """Spark's columnar cache compression cost as much as reading, typing and keying the
    lines it cached (docs/performance.md): off locally and under spark-submit, and a
    config's spark.conf can still turn it back on."""
    from custseg.layer2_io.spark import session_options

    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    setting = "spark.sql.inMemoryColumnarStorage.compressed"
    local = session_options(replace(Settings(), **{"spark.master": "local[2]"}), "t")
    chosen = replace(Settings(), **{"spark.conf": {setting: "true"}})
    monkeypatch.setenv("PYSPARK_GATEWAY_PORT", "1")  # as spark-submit leaves it
    submitted = session_options(Settings(), "t")
    monkeypatch.delenv("PYSPARK_GATEWAY_PORT")

    assert local[setting] == "false"
    assert submitted[setting] == "false"
    assert session_options(chosen, "t")[setting] == "true"
    assert spark.conf.get(setting) == "false"
