"""Spark sizing for settings left at auto: from the master's cores and the machine's memory."""

from __future__ import annotations

import os

import pytest

from custseg import sizing
from custseg.config import ConfigError, Settings, replace


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


def test_auto_partitions_are_four_per_core_local_or_cluster():
    assert sizing.resolved_shuffle_partitions("auto", "local[2]", cluster_cores=1) == 8
    assert sizing.resolved_shuffle_partitions("auto", "yarn", cluster_cores=50) == 200
    assert sizing.resolved_shuffle_partitions(12, "local[2]", cluster_cores=1) == 12


def test_local_driver_memory_is_half_the_machine_within_bounds():
    gib = 2**30
    assert sizing.local_driver_memory(24 * gib) == "12g"
    assert sizing.local_driver_memory(2 * gib) == "2g"
    assert sizing.local_driver_memory(256 * gib) == "32g"
    assert sizing.resolved_driver_memory("6g") == "6g"
    assert sizing.resolved_driver_memory("auto").endswith("g")


def test_auto_and_numbers_are_accepted_and_nonsense_is_named():
    settings = replace(Settings(), **{"spark.shuffle_partitions": "auto"})
    assert settings.spark.shuffle_partitions == "auto"
    assert replace(settings, **{"spark.shuffle_partitions": 16}).spark.shuffle_partitions == 16
    with pytest.raises(ConfigError, match="spark.shuffle_partitions"):
        replace(settings, **{"spark.shuffle_partitions": "many"})
    with pytest.raises(ConfigError, match="spark.driver_memory"):
        replace(settings, **{"spark.driver_memory": "lots"})
