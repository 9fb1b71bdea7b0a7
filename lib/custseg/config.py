"""Typed, validated settings loaded from YAML with ``--set dotted.key=value`` overrides.

The YAML keys are a public contract (BI and ops scripts set them), so every key is
declared here once, every unknown key or wrong type is an error that names the dotted
path, and the secret hashing key is deliberately *not* a setting: only the name of the
environment variable or the path of a key file are.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import types
import typing
from pathlib import Path
from typing import Any

import yaml


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


@dataclasses.dataclass(frozen=True)
class InputSettings:
    path: str = "data/demo"
    format: str = "csv"
    columns: dict = dataclasses.field(default_factory=lambda: dict(DEFAULT_COLUMN_MAPPING))
    timestamp_format: str = "yyyy-MM-dd HH:mm:ss"
    csv: CsvOptions = dataclasses.field(default_factory=CsvOptions)


@dataclasses.dataclass(frozen=True)
class PseudonymSettings:
    key_env: str = "CUSTSEG_HASH_KEY"
    key_file: str | None = None


@dataclasses.dataclass(frozen=True)
class CleaningSettings:
    returns: str = "drop"
    cancellation_prefix: str = "C"
    zero_price: str = "quarantine"
    customer_id_pattern: str = "^[A-Za-z0-9][A-Za-z0-9_-]*$"
    min_purchase_time: str = "2000-01-01"
    max_purchase_time: str | None = None
    max_quarantine_share: float = 0.5


@dataclasses.dataclass(frozen=True)
class RfmSettings:
    as_of: str | None = None
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
    sample_size: int | None = None
    seed: int = 42
    max_iter: int = 40
    partitions: int = 8


@dataclasses.dataclass(frozen=True)
class ReportSettings:
    path: str = "reports"
    sample_size: int = 5000


@dataclasses.dataclass(frozen=True)
class SparkSettings:
    master: str = "local[2]"
    driver_memory: str = "4g"
    shuffle_partitions: int = 8
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

    def table_path(self, table: str) -> str:
        """Table T lives at ``<warehouse>/T`` (a public contract with BI tools).

        A local warehouse given as a relative path is taken from the working directory and
        made absolute, so catalog registrations and Delta logs agree on one location.
        """
        root = self.warehouse.rstrip("/")
        if "://" not in root and not root.startswith("/"):
            root = os.path.abspath(root)
        return f"{root}/{table}"


_CHOICES = {
    "input.format": ("csv", "parquet", "delta"),
    "cleaning.returns": ("drop", "net"),
    "cleaning.zero_price": ("quarantine", "keep"),
}


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Checks ``value`` against the annotation ``tp``; only lossless coercions are made."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(value, args[0], key)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}' must be a mapping, got {type(value).__name__}")
        return _build(tp, value, key + ".")
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (dt.date, dt.datetime)):  # YAML parses bare dates
            return value.isoformat()
    elif tp is list:
        if isinstance(value, list):
            return list(value)
    elif tp is dict and isinstance(value, dict):
        return dict(value)
    raise ConfigError(
        f"config key '{key}' must be of type {_type_name(tp)}, got {type(value).__name__} ({value!r})"
    )


def _build(cls: type, data: dict, prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            "unknown config key(s): "
            + ", ".join(prefix + u for u in unknown)
            + f" (known under '{prefix.rstrip('.') or '<root>'}': {', '.join(sorted(names))})"
        )
    kwargs = {}
    for name in data:
        kwargs[name] = _coerce(data[name], hints[name], prefix + name)
        if isinstance(kwargs[name], str) and (prefix + name) in _CHOICES:
            allowed = _CHOICES[prefix + name]
            if kwargs[name] not in allowed:
                raise ConfigError(
                    f"config key '{prefix + name}' must be one of {', '.join(allowed)}, "
                    f"got {kwargs[name]!r}"
                )
    return cls(**kwargs)


def _validate(settings: Settings) -> None:
    unknown_columns = sorted(set(settings.input.columns) - set(CANONICAL_COLUMNS))
    if unknown_columns:
        raise ConfigError(
            "unknown canonical column(s) under input.columns: "
            + ", ".join(unknown_columns)
            + f" (canonical columns: {', '.join(CANONICAL_COLUMNS)})"
        )
    for name, source in settings.input.columns.items():
        if source is not None and not isinstance(source, str):
            raise ConfigError(f"config key 'input.columns.{name}' must be a column name (string)")
    mapped = {k for k, v in settings.input.columns.items() if v}
    missing = [c for c in ("customer_id", "purchase_time") if c not in mapped]
    if "amount" not in mapped and not {"quantity", "unit_price"} <= mapped:
        missing.append("amount or quantity+unit_price")
    if missing:
        raise ConfigError("input.columns must map the required column(s): " + ", ".join(missing))
    for key in ("rfm.as_of", "cleaning.min_purchase_time", "cleaning.max_purchase_time"):
        section, field = key.split(".")
        value = getattr(getattr(settings, section), field)
        if value is not None:
            try:
                dt.date.fromisoformat(value[:10])
            except ValueError:
                raise ConfigError(
                    f"config key '{key}' must be an ISO date (YYYY-MM-DD), got {value!r}"
                ) from None
    if settings.rfm.bins < 2:
        raise ConfigError("config key 'rfm.bins' must be at least 2")
    if settings.rfm.window_days is not None and settings.rfm.window_days < 1:
        raise ConfigError("config key 'rfm.window_days' must be a positive number of days")
    if not 0.0 <= settings.cleaning.max_quarantine_share <= 1.0:
        raise ConfigError("config key 'cleaning.max_quarantine_share' must lie in [0, 1]")
    k_range = settings.clustering.k_range
    if (
        len(k_range) != 2
        or not all(isinstance(k, int) for k in k_range)
        or not 2 <= k_range[0] <= k_range[1]
    ):
        raise ConfigError(
            "config key 'clustering.k_range' must be [low, high] with 2 <= low <= high"
        )
    if not all(isinstance(k, int) and k >= 2 for k in settings.clustering.k):
        raise ConfigError("config key 'clustering.k' must be a list of whole numbers >= 2")
    bad_algorithms = sorted(set(settings.clustering.algorithms) - {"kmeans", "bisecting_kmeans"})
    if bad_algorithms or not settings.clustering.algorithms:
        raise ConfigError(
            "config key 'clustering.algorithms' takes kmeans and/or bisecting_kmeans, got "
            + repr(settings.clustering.algorithms)
        )


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b=3`` -> (['a', 'b'], 3); the value is read as YAML so numbers and lists work."""
    if "=" not in text:
        raise ConfigError(f"--set takes dotted.key=value, got {text!r}")
    key, raw = text.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ConfigError(f"--set has an empty key: {text!r}")
    value = yaml.safe_load(raw) if raw.strip() else None
    return parts, value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    return _set_paths(data, [parse_override(text) for text in overrides])


def _set_paths(data: dict, assignments: list[tuple[list[str], Any]]) -> dict:
    data = dict(data)
    for parts, value in assignments:
        node = data
        for part in parts[:-1]:
            child = node.get(part)
            child = dict(child) if isinstance(child, dict) else {}
            node[part] = child
            node = child
        node[parts[-1]] = value
    return data


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "columns":
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def settings_from_dict(data: dict) -> Settings:
    settings = _build(Settings, data or {})
    _validate(settings)
    return settings


def read_yaml_file(
    path: Path, what: str, error: type[ConfigError] = ConfigError, hint: str = ""
) -> Any:
    """Parsed YAML of a user-edited file; a missing or broken file is ``error`` naming it."""
    if not path.is_file():
        raise error(f"{what} not found: {path}{hint}")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise error(f"{what} {path} is not valid YAML: {err}") from None


def load_settings(path: str | Path | None, overrides: list[str] | None = None) -> Settings:
    """Reads a YAML config (``None``: defaults only) and applies ``--set`` overrides."""
    data: dict = dataclasses.asdict(Settings())
    if path is not None:
        path = Path(path)
        loaded = read_yaml_file(path, "config file")
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must hold a mapping at the top level")
        data = _merge(data, loaded or {})
    data = apply_overrides(data, overrides or [])
    return settings_from_dict(data)


def replace(settings: Settings, **changes: Any) -> Settings:
    """A validated copy with dotted keys changed: ``replace(s, **{"rfm.as_of": "2011-12-10"})``."""
    data = _set_paths(dataclasses.asdict(settings), [(k.split("."), v) for k, v in changes.items()])
    return settings_from_dict(data)
