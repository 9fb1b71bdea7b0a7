"""Installs the custseg package from lib/.

pyspark and delta-spark are pinned as a pair: delta-spark 4.4.0 declares
pyspark>=4.0.1,<=4.2.0, and its JVM artefact is built per Spark minor version
(io.delta:delta-spark_4.2_2.13:4.4.0 for pyspark 4.2.x;
Maven Central has no 4.4.1 build of that artefact, so the pip package is held at 4.4.0). Change both together.
"""

import re
from pathlib import Path

from setuptools import find_packages, setup

# The version is written once, in custseg/__init__.py; read as text, since importing the
# package here would need its dependencies installed first.
VERSION = re.search(
    r'^__version__ = "([^"]+)"$',
    (Path(__file__).parent / "lib" / "custseg" / "__init__.py").read_text(encoding="utf-8"),
    re.MULTILINE,
)[1]
PYSPARK_VERSION = "4.2.0"
DELTA_SPARK_VERSION = "4.4.0"

setup(
    name="custseg",
    version=VERSION,
    description="Customer segmentation (RFM + MLlib clustering) on Spark and Delta Lake",
    package_dir={"": "lib"},
    packages=find_packages("lib"),
    package_data={"custseg": ["defaults/*.yaml"]},
    python_requires=">=3.10",
    install_requires=[
        f"pyspark=={PYSPARK_VERSION}",
        f"delta-spark=={DELTA_SPARK_VERSION}",
        "pyyaml>=6,<7",
        "pydantic>=2,<3",  # the settings models (custseg.layer1_core.config.model)
        "numpy>=1.26",
        "pandas>=2.2,<3",  # pyspark 4.2 does not yet support pandas 3
        "pyarrow>=15",
        "matplotlib>=3.8",
        "tqdm>=4.66",  # progress bars on a terminal (custseg.layer2_io.console)
        # delta-rs: custseg status reads a local warehouse's tables without a JVM
        # (custseg.layer2_io.delta_log); BI readers use it too (README)
        "deltalake>=1.0,<2",
    ],
    extras_require={
        "dev": [
            "pytest>=8",
            "chispa==0.12.0",
            "hypothesis>=6.100",
            "scikit-learn>=1.5",
            "polars>=1.0",
            "ruff==0.17.6",  # pinned: a new ruff release must not turn CI red on its own
            "import-linter==2.17",  # the layer contracts in pyproject.toml, run by .ci/run
        ],
        # scripts/bench/benchmark.py's reference programs: measured against, never run by custseg
        "bench": [
            "duckdb>=1.1",
            "scikit-learn>=1.5",
        ],
    },
    entry_points={"console_scripts": ["custseg=custseg.layer4_commands.cli:main"]},
)
