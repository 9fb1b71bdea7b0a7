"""Layer 1, the core: config, table specs, feature names, the segment map, cluster texts and
file formats.

Plain Python that imports no pyspark, so the config is checked before Spark starts and
anything above may import it. Import-linter keeps it that way (the contracts in pyproject.toml).
"""
