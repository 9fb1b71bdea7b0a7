"""The core layer stays importable where pyspark is not: the config is checked, the table
docs are generated and the CLI's validate runs before (or without) a JVM.

import-linter (``lint-imports`` in CI) checks the imports the code states; this checks what
importing it does, in a fresh interpreter where any import of pyspark fails.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LIB = Path(__file__).resolve().parents[1] / "lib"

IMPORT_CORE_WITHOUT_PYSPARK = """
import importlib
import importlib.abc
import pkgutil
import sys


class NoPyspark(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pyspark", "delta", "py4j"):
            raise ImportError(f"pyspark is blocked here: {name}")
        return None


sys.meta_path.insert(0, NoPyspark())
sys.path.insert(0, sys.argv[1])
import custseg.layer1_core as core

modules = [core.__name__]
for info in pkgutil.walk_packages(core.__path__, core.__name__ + "."):
    importlib.import_module(info.name)
    modules.append(info.name)

from custseg.layer1_core.config import load_packaged_settings
from custseg.layer1_core.config.feature_names import parse_features

settings = load_packaged_settings("local.yaml")
parse_features(settings.clustering.features)
assert not any(name.split(".")[0] == "pyspark" for name in sys.modules)
print(len(modules))
"""


def test_the_core_imports_and_loads_the_config_where_pyspark_cannot_be_imported():
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_CORE_WITHOUT_PYSPARK, str(LIB)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) >= 10  # config, tables and their modules were all imported


def test_the_blocker_does_block_pyspark():
    """The check above would pass vacuously if the blocker let pyspark through."""
    script = IMPORT_CORE_WITHOUT_PYSPARK.split("sys.path.insert")[0] + "import pyspark\n"
    result = subprocess.run(
        [sys.executable, "-c", script, str(LIB)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "pyspark is blocked here" in result.stderr
