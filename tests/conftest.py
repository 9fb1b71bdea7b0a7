"""One SparkSession with Delta for the whole test run, and warehouse settings per test."""

from __future__ import annotations

import pytest

from custseg.layer1_core.config import Settings, replace
from custseg.layer2_io.spark import get_spark
from tests.small_run import SmallRun, run_small_pipeline

TEST_HASH_KEY = "test-key-0123456789abcdef-not-a-secret"


@pytest.fixture(scope="session")
def spark():
    settings = replace(
        Settings(),
        # clustering.partitions as in the ``settings`` fixture: it sets the default parallelism
        **{"spark.shuffle_partitions": 2, "spark.driver_memory": "2g", "clustering.partitions": 2},
    )
    session = get_spark(settings, app_name="custseg-tests")
    yield session
    session.stop()


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    """Default settings with a private warehouse and a test hashing key in the environment."""
    monkeypatch.setenv("CUSTSEG_HASH_KEY", TEST_HASH_KEY)
    return replace(
        Settings(),
        **{
            "warehouse": str(tmp_path / "warehouse"),
            # hermetic: the default key file is relative to the working directory
            "pseudonym.key_file": None,
            "report.path": str(tmp_path / "reports"),
            "spark.shuffle_partitions": 2,
            "clustering.partitions": 2,
        },
    )


@pytest.fixture(scope="session")
def small_run(spark, tmp_path_factory) -> SmallRun:
    """The small whole-pipeline run in local mode, made once for the session."""
    return run_small_pipeline(tmp_path_factory.mktemp("small-run"))
