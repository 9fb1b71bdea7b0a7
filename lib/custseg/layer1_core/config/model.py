"""Every config key, declared once with its type, default and allowed values.

The settings are pydantic models: strict types (the YAML already gives numbers, texts and
lists, so the only coercion made is the lossless int -> float), no unknown keys, frozen.
``validation`` turns pydantic's errors into one line naming the dotted key; a field's
``description`` is what that line says is allowed, where pydantic's own words would be
vaguer. Dates are ``datetime.date`` from load time on, so no stage parses or slices date text.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from custseg.layer1_core.tables.spec import table_location

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_MODEL_NAME = re.compile(r"([a-z_]+)_k([0-9]+)")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def has_scheme(location: str) -> bool:
    """True for ``file:/x``, ``hdfs://nn/x``, ``s3a://b/x``; False for plain paths."""
    return bool(_SCHEME.match(location))


class ConfigError(ValueError):
    """A configuration problem a user can fix; the message names the key or file."""


def _invalid(text: str) -> PydanticCustomError:
    """A failed check whose ``text`` reads after "config key 'a.b' " in the one-line error.

    The text goes in as context rather than as the template, so braces in a user's value
    are not taken for placeholders."""
    return PydanticCustomError("config", "{text}", {"text": text})


def _iso_date(value: Any) -> dt.date:
    """Only a calendar date written YYYY-MM-DD: a time of day or another layout is refused
    rather than cut off, and an impossible day (2024-02-30) is named as such."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError as error:
            raise _invalid(f"is not a real date: {value!r} ({error})") from None
    raise _invalid(f"must be a date written YYYY-MM-DD, got {value!r}")


def _auto_or_count(value: Any) -> int | str:
    """``auto`` or a whole number >= 1; one check, so that a wrong value gets one message
    instead of one per member of an ``int | str`` union."""
    if value == "auto" or (type(value) is int and value >= 1):
        return value
    raise _invalid(f"must be auto or a number >= 1, got {value!r}")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
FileFormat = Literal["csv", "parquet", "delta"]
# A source column name, or null for a canonical column the source does not have.
ColumnMapping = dict[str, str | None]
PROFILE_COLUMNS = ("customer_id", "signup_date")
# A profile attribute's name: it becomes a map key and the feature name profile_<name>.
PROFILE_ATTRIBUTE_NAME = r"[A-Za-z][A-Za-z0-9_]*"


class _Section(BaseModel):
    """A block of the YAML. Unknown keys are refused here, before the fields are read, so
    the error can list the keys the block does know."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _known_keys_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(str(key) for key in set(data) - set(cls.model_fields))
            if unknown:
                known = sorted(cls.model_fields)
                raise PydanticCustomError(
                    "unknown_keys", "unknown keys", {"unknown": unknown, "known": known}
                )
        return data


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


class CsvOptions(_Section):
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


class ProfileSettings(_Section):
    """A customer profile export (one row per customer), read whole by every ingest run.

    ``attributes`` are numeric source columns kept as they are named; the clustering reads
    each as the feature ``profile_<attribute>``.
    """

    path: str = ""
    format: FileFormat = "csv"
    columns: ColumnMapping = Field(
        default_factory=lambda: {"customer_id": "customer_id", "signup_date": "signup_date"}
    )
    attributes: list[Annotated[str, Field(pattern=f"^{PROFILE_ATTRIBUTE_NAME}$")]] = Field(
        default_factory=list,
        description="a column name of letters, digits and _ starting with a letter "
        "(each becomes the feature profile_<name>)",
    )
    date_format: str = "yyyy-MM-dd"
    csv: CsvOptions = Field(default_factory=CsvOptions)


class InputSettings(_Section):
    path: str = "data/demo"
    format: FileFormat = "csv"
    columns: ColumnMapping = Field(default_factory=lambda: dict(DEFAULT_COLUMN_MAPPING))
    timestamp_format: str = "yyyy-MM-dd HH:mm:ss"
    csv: CsvOptions = Field(default_factory=CsvOptions)
    profiles: ProfileSettings | None = None


class PseudonymSettings(_Section):
    key_env: str = "CUSTSEG_HASH_KEY"
    # Where ``custseg demo`` creates its key, so that every command run without --conf in
    # the demo's folder (keys, status, export, a stage) finds the key the demo wrote with.
    key_file: str | None = ".secrets/hash.key"


class CleaningSettings(_Section):
    returns: Literal["drop", "net"] = "drop"
    cancellation_prefix: str = "C"
    zero_price: Literal["quarantine", "keep"] = "quarantine"
    customer_id_pattern: str = "^[A-Za-z0-9][A-Za-z0-9_-]*$"
    customer_id_max_length: int = 128
    min_purchase_time: IsoDate = dt.date(1900, 1, 1)
    max_purchase_time: IsoDate | None = None
    max_quarantine_share: float = Field(0.5, ge=0.0, le=1.0, description="a share in [0, 1]")
    duplicate_lines: Literal["keep", "drop"] = "keep"
    replacement_characters: Literal["warn", "quarantine"] = "warn"


class RfmSettings(_Section):
    as_of: IsoDate | None = None
    window_days: int | None = Field(None, ge=1, description="a positive number of days")
    bins: int = Field(5, ge=2)
    segments_file: str | None = None
    include_non_positive_monetary: bool = False


class ClusteringSettings(_Section):
    features: list = Field(default_factory=lambda: ["log_recency", "log_frequency", "log_monetary"])
    algorithms: list[Literal["kmeans", "bisecting_kmeans"]] = Field(
        default_factory=lambda: ["kmeans", "bisecting_kmeans"], min_length=1
    )
    k_range: list[int] = Field(default_factory=lambda: [2, 10])
    k: list[Annotated[int, Field(ge=2)]] = Field(default_factory=lambda: [4, 5])
    min_cluster_share: float = 0.02
    min_k: int = 3
    primary: str = "auto"
    sample_size: int | None = None
    seed: int = 42
    # MLlib's default maxIter (was 40). Kept models' costs within 0.09% of those at 40 and the
    # same chosen k on the demo and Online Retail (docs/performance.md, "`maxIter` 20").
    max_iter: int = Field(20, ge=1)
    parallel_fits: int = Field(4, ge=1)
    partitions: int = 8
    # Population standard deviations (log scale) a cluster must lie from the population's
    # mean before its name calls it high or low on an axis (custseg.layer3_stages.clustering.naming).
    name_threshold: float = Field(0.35, ge=0.0, description="a number >= 0")

    @property
    def primary_model(self) -> tuple[str, int] | None:
        """(algorithm, k) of an explicit ``primary`` such as ``kmeans_k5``, the name a saved
        model's folder has; None for ``auto`` or a name that does not read that way."""
        parsed = _MODEL_NAME.fullmatch(self.primary)
        return (parsed[1], int(parsed[2])) if parsed else None


class ReportSettings(_Section):
    path: str = "reports"
    sample_size: int = 5000


class LoggingSettings(_Section):
    """Where a run's log file goes: always on the machine running the driver's Python (the
    warehouse may be on HDFS, a log file being written is read with ``tail``)."""

    dir: str = "logs"

    @field_validator("dir")
    @classmethod
    def _local_folder(cls, folder: str) -> str:
        """The JVM writes the log through a file descriptor, so it must be a local folder."""
        if not folder or (has_scheme(folder) and not folder.startswith("file:")):
            raise _invalid(f"must be a local folder (a path or file: URI), got {folder!r}")
        return folder


class SparkSettings(_Section):
    master: str = "local[2]"
    # "auto": from the machine and the master (custseg.layer2_io.sizing); a number or size overrides.
    driver_memory: str = Field(
        "auto",
        pattern=r"^(auto|(?i:[1-9][0-9]*([kmgtp]b?)?))$",
        description="auto or a JVM size such as 4g",
    )
    shuffle_partitions: Annotated[int | str, PlainValidator(_auto_or_count)] = "auto"
    ui: bool = False
    conf: dict = Field(default_factory=dict)


class Settings(_Section):
    warehouse: str = "warehouse"
    input: InputSettings = Field(default_factory=InputSettings)
    pseudonym: PseudonymSettings = Field(default_factory=PseudonymSettings)
    cleaning: CleaningSettings = Field(default_factory=CleaningSettings)
    rfm: RfmSettings = Field(default_factory=RfmSettings)
    clustering: ClusteringSettings = Field(default_factory=ClusteringSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    spark: SparkSettings = Field(default_factory=SparkSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)

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
