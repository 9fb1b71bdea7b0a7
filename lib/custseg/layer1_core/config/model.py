"""Every config key, declared once with its type and default.

Dates are ``datetime.date`` from load time on, so no stage parses or slices date text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re

from custseg.layer1_core.tables.spec import table_location

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_MODEL_NAME = re.compile(r"([a-z_]+)_k([0-9]+)")


def has_scheme(location: str) -> bool:
    """True for ``file:/x``, ``hdfs://nn/x``, ``s3a://b/x``; False for plain paths."""
    return bool(_SCHEME.match(location))


class ConfigError(ValueError):
    """A configuration problem a user can fix; the message names the key or file."""


CANONICAL_COLUMNS = (
    "customer_id",
    "order_id",
    "item_id",
    "item_name",
    "quantity",
    "unit_price",
    "amount",
    "purchase_time",
)

DEFAULT_COLUMN_MAPPING = {
    "customer_id": "customer_id",
    "item_id": "item_id",
    "item_name": "item_name",
    "unit_price": "unit_price",
    "quantity": "item_count",
    "purchase_time": "purchase_time",
}


@dataclasses.dataclass(frozen=True)
class CsvOptions:
    header: bool = True
    delimiter: str = ","
    quote: str = '"'
    escape: str = '"'
    encoding: str = "UTF-8"
    multiline: bool = False

    def spark_format_options(self) -> dict[str, str]:
        """The options Spark's CSV reader and writer share, under Spark's names: one
        mapping, so every custseg CSV is read and written with the same dialect."""
        return {
            "sep": self.delimiter,
            "quote": self.quote,
            "escape": self.escape,
            "encoding": self.encoding,
        }


PROFILE_COLUMNS = ("customer_id", "signup_date")
# A profile attribute's name: it becomes a map key and the feature name profile_<name>.
PROFILE_ATTRIBUTE_NAME = r"[A-Za-z][A-Za-z0-9_]*"


@dataclasses.dataclass(frozen=True)
class ProfileSettings:
    """A customer profile export (one row per customer), read whole by every ingest run.

    ``attributes`` are numeric source columns kept as they are named; the clustering reads
    each as the feature ``profile_<attribute>``.
    """

    path: str = ""
    format: str = "csv"
    columns: dict = dataclasses.field(
        default_factory=lambda: {"customer_id": "customer_id", "signup_date": "signup_date"}
    )
    attributes: list = dataclasses.field(default_factory=list)
    date_format: str = "yyyy-MM-dd"
    csv: CsvOptions = dataclasses.field(default_factory=CsvOptions)


@dataclasses.dataclass(frozen=True)
class InputSettings:
    path: str = "data/demo"
    format: str = "csv"
    columns: dict = dataclasses.field(default_factory=lambda: dict(DEFAULT_COLUMN_MAPPING))
    timestamp_format: str = "yyyy-MM-dd HH:mm:ss"
    csv: CsvOptions = dataclasses.field(default_factory=CsvOptions)
    profiles: ProfileSettings | None = None


@dataclasses.dataclass(frozen=True)
class PseudonymSettings:
    key_env: str = "CUSTSEG_HASH_KEY"
    # Where ``custseg demo`` creates its key, so that every command run without --conf in
    # the demo's folder (keys, status, export, a stage) finds the key the demo wrote with.
    key_file: str | None = ".secrets/hash.key"


@dataclasses.dataclass(frozen=True)
class CleaningSettings:
    returns: str = "drop"
    cancellation_prefix: str = "C"
    zero_price: str = "quarantine"
    customer_id_pattern: str = "^[A-Za-z0-9][A-Za-z0-9_-]*$"
    customer_id_max_length: int = 128
    min_purchase_time: dt.date = dt.date(1900, 1, 1)
    max_purchase_time: dt.date | None = None
    max_quarantine_share: float = 0.5
    duplicate_lines: str = "keep"
    replacement_characters: str = "warn"


@dataclasses.dataclass(frozen=True)
class RfmSettings:
    as_of: dt.date | None = None
    window_days: int | None = None
    bins: int = 5
    segments_file: str | None = None
    include_non_positive_monetary: bool = False


@dataclasses.dataclass(frozen=True)
class ClusteringSettings:
    features: list = dataclasses.field(
        default_factory=lambda: ["log_recency", "log_frequency", "log_monetary"]
    )
    algorithms: list = dataclasses.field(default_factory=lambda: ["kmeans", "bisecting_kmeans"])
    k_range: list = dataclasses.field(default_factory=lambda: [2, 10])
    k: list = dataclasses.field(default_factory=lambda: [4, 5])
    min_cluster_share: float = 0.02
    min_k: int = 3
    primary: str = "auto"
    sample_size: int | None = None
    seed: int = 42
    max_iter: int = 40
    parallel_fits: int = 4
    partitions: int = 8
    # Population standard deviations (log scale) a cluster must lie from the population's
    # mean before its name calls it high or low on an axis (custseg.layer3_stages.clustering.naming).
    name_threshold: float = 0.35

    @property
    def primary_model(self) -> tuple[str, int] | None:
        """(algorithm, k) of an explicit ``primary`` such as ``kmeans_k5``, the name a saved
        model's folder has; None for ``auto`` or a name that does not read that way."""
        parsed = _MODEL_NAME.fullmatch(self.primary)
        return (parsed[1], int(parsed[2])) if parsed else None


@dataclasses.dataclass(frozen=True)
class ReportSettings:
    path: str = "reports"
    sample_size: int = 5000


@dataclasses.dataclass(frozen=True)
class LoggingSettings:
    """Where a run's log file goes: always on the machine running the driver's Python (the
    warehouse may be on HDFS, a log file being written is read with ``tail``)."""

    dir: str = "logs"


@dataclasses.dataclass(frozen=True)
class SparkSettings:
    master: str = "local[2]"
    # "auto": from the machine and the master (custseg.layer2_io.sizing); a number or size overrides.
    driver_memory: str = "auto"
    shuffle_partitions: int | str = "auto"
    ui: bool = False
    conf: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Settings:
    warehouse: str = "warehouse"
    input: InputSettings = dataclasses.field(default_factory=InputSettings)
    pseudonym: PseudonymSettings = dataclasses.field(default_factory=PseudonymSettings)
    cleaning: CleaningSettings = dataclasses.field(default_factory=CleaningSettings)
    rfm: RfmSettings = dataclasses.field(default_factory=RfmSettings)
    clustering: ClusteringSettings = dataclasses.field(default_factory=ClusteringSettings)
    report: ReportSettings = dataclasses.field(default_factory=ReportSettings)
    spark: SparkSettings = dataclasses.field(default_factory=SparkSettings)
    logging: LoggingSettings = dataclasses.field(default_factory=LoggingSettings)

    @property
    def warehouse_root(self) -> str:
        """The warehouse as the table I/O takes it.

        A local warehouse given as a relative path is taken from the working directory and
        made absolute, so catalog registrations and Delta logs agree on one location. Runs
        qualify it fully first (``custseg.layer2_io.locations``); a URI is kept as it is.
        """
        root = self.warehouse.rstrip("/")
        if not has_scheme(root) and not root.startswith("/"):
            root = os.path.abspath(root)
        return root

    def table_path(self, table: str) -> str:
        """Where table ``table`` lives: ``<warehouse>/<table>``, the contract with BI tools."""
        return table_location(self.warehouse_root, table)


class ClusteringConfigError(ConfigError):
    """A clustering setting names something that does not exist: a feature, an algorithm or
    a selection metric.

    It is a ``ConfigError`` (and so a ``ValueError``) because the CLI turns configuration
    problems into a usage exit code: the run did not fail, it was asked for the impossible.
    """
