"""scripts/submit.sh builds the spark-submit command: checked with a stand-in spark-submit
that prints its arguments (the real submissions are in test_cluster_submit and
test_end_to_end)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from custseg.layer2_io.spark import REDACTION_REGEX, delta_maven_coordinate

REPO = Path(__file__).resolve().parents[1]
ZIP = str(REPO / "dist" / "custseg.zip")
VENV_PYTHON = str(REPO / ".venv" / "bin" / "python")


@pytest.fixture
def submit(tmp_path):
    fake = tmp_path / "fake-spark-submit"
    fake.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n')
    fake.chmod(0o755)

    def run(*args: str, **env: str) -> list[str]:
        result = subprocess.run(
            ["bash", str(REPO / "scripts" / "submit.sh"), *args],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
            env={
                **os.environ,
                "SPARK_SUBMIT": str(fake),
                "CUSTSEG_HASH_KEY": "s3cr3t-key-0123456789",
                **env,
            },
        )
        assert result.returncode == 0, result.stderr
        assert "s3cr3t" not in result.stdout + result.stderr
        return result.stdout.splitlines()

    return run


def value_after(command: list[str], option: str) -> str:
    return command[command.index(option) + 1]


def confs(command: list[str]) -> dict[str, str]:
    """spark-submit's --conf settings (those before the job; the job has its own --conf)."""
    options = command[: next(i for i, arg in enumerate(command) if arg.startswith("jobs/"))]
    pairs = [options[i + 1] for i, arg in enumerate(options) if arg == "--conf"]
    return dict(pair.split("=", 1) for pair in pairs)


@pytest.mark.skipif(not Path(VENV_PYTHON).exists(), reason="needs the repository's .venv")
def test_local_master_gets_delta_this_python_and_a_small_delta_log_read(submit):
    command = submit("--master", "local[2]", "jobs/ingest.py", "--conf", "my.yaml")
    assert command[-3:] == ["jobs/ingest.py", "--conf", "my.yaml"]
    assert value_after(command, "--master") == "local[2]"
    assert value_after(command, "--packages") == delta_maven_coordinate()
    assert value_after(command, "--py-files") == ZIP
    settings = confs(command)
    assert settings["spark.pyspark.python"] == VENV_PYTHON
    assert settings["spark.pyspark.driver.python"] == VENV_PYTHON
    assert settings["spark.redaction.regex"] == REDACTION_REGEX
    assert settings["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert settings["spark.databricks.delta.snapshotPartitions"] == "1"  # as custseg's own


def test_cluster_options_are_kept_and_lists_merged(submit):
    command = submit(
        "--master", "spark://h:7077", "--total-executor-cores", "6",
        "--packages", "org.example:extra:1.0", "--py-files", "extra.zip",
        "--conf", "spark.executor.memory=2g", "jobs/rfm.py", "--conf", "c.yaml",
    )  # fmt: skip
    assert command[-3:] == ["jobs/rfm.py", "--conf", "c.yaml"]
    assert command.count("--packages") == command.count("--py-files") == 1
    assert value_after(command, "--packages") == f"org.example:extra:1.0,{delta_maven_coordinate()}"
    assert value_after(command, "--py-files") == f"{ZIP},extra.zip"
    settings = confs(command)
    assert "spark.pyspark.python" not in settings  # never a local path for executors
    assert settings["spark.executor.memory"] == "2g"
    assert settings["spark.databricks.delta.snapshotPartitions"] == "6"


def test_a_packed_environment_is_shipped_to_executors(submit):
    command = submit(
        "--master", "yarn", "--deploy-mode", "cluster", "--num-executors", "3",
        "--executor-cores", "2", "--archives", "data.zip#data", "jobs/pipeline.py",
        CUSTSEG_EXECUTOR_ENV="custseg-env.tar.gz",
    )  # fmt: skip
    assert value_after(command, "--archives") == "data.zip#data,custseg-env.tar.gz#environment"
    settings = confs(command)
    assert settings["spark.pyspark.python"] == "./environment/bin/python"
    assert "spark.pyspark.driver.python" not in settings  # the driver runs on the cluster
    assert settings["spark.databricks.delta.snapshotPartitions"] == "6"


def test_given_settings_win(submit):
    command = submit(
        "--master", "spark://h:7077",
        "--conf", "spark.databricks.delta.snapshotPartitions=3",
        "--conf", f"spark.pyspark.python={sys.executable}",
        "jobs/score.py",
    )  # fmt: skip
    settings = confs(command)
    assert settings["spark.databricks.delta.snapshotPartitions"] == "3"
    assert settings["spark.pyspark.python"] == sys.executable
    assert command[: command.index("jobs/score.py")].count("--conf") == len(settings)


def test_a_missing_job_is_a_usage_error(tmp_path):
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "submit.sh"), "--master", "local[2]", "jobs/nope.py"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 2
    assert "jobs/nope.py not found" in result.stderr
