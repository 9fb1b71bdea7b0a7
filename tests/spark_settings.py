"""Spark settings changed for one block of a test and put back after it: the whole test run
shares one session, so a setting left behind would change every later test."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping


@contextlib.contextmanager
def spark_settings(spark, settings: Mapping[str, str]) -> Iterator[None]:
    before = {key: spark.conf.get(key) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            spark.conf.set(key, value)


def several_partitions(spark, partitions: int = 4):
    """Shuffle partitions that adaptive execution may not merge, so that even tiny data is
    spread over ``partitions`` tasks (positions cross partition borders, writes make several
    files)."""
    return spark_settings(
        spark,
        {
            "spark.sql.shuffle.partitions": str(partitions),
            "spark.sql.adaptive.coalescePartitions.enabled": "false",
        },
    )
