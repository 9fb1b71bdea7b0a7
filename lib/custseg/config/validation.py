"""Turns parsed YAML into typed settings: lossless coercion, choices and cross-key rules.

Every error names the dotted key so a user can find it in the file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import types
import typing
from typing import Any

from custseg.config.model import CANONICAL_COLUMNS, ConfigError, Settings

_CHOICES = {
    "input.format": ("csv", "parquet", "delta"),
    "cleaning.returns": ("drop", "net"),
    "cleaning.zero_price": ("quarantine", "keep"),
    "cleaning.duplicate_lines": ("keep", "drop"),
    "cleaning.replacement_characters": ("warn", "quarantine"),
}


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _as_date(value: Any, key: str) -> dt.date:
    """Only a calendar date written YYYY-MM-DD: a time of day or another layout is refused
    rather than cut off, and an impossible day (2024-02-30) names the key."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError as error:
            raise ConfigError(
                f"config key '{key}' is not a real date: {value!r} ({error})"
            ) from None
    raise ConfigError(f"config key '{key}' must be a date written YYYY-MM-DD, got {value!r}")


def _scalar(value: Any, tp: Any) -> tuple[bool, Any]:
    """(accepted, value) for the scalar annotations; only lossless coercions are made."""
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    accepted = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: is_number,
        str: isinstance(value, str),
        list: isinstance(value, list),
        dict: isinstance(value, dict),
    }.get(tp, False)
    if not accepted:
        return False, None
    return True, tp(value) if tp in (float, list, dict) else value


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Checks ``value`` against the annotation ``tp`` and returns it typed."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        if value is None:
            return None
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        for option in options[:-1]:  # the first type that takes the value, else the last
            try:
                return _coerce(value, option, key)
            except ConfigError:
                continue
        return _coerce(value, options[-1], key)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}' must be a mapping, got {type(value).__name__}")
        return _build(tp, value, key + ".")
    if tp is dt.date:
        return _as_date(value, key)
    accepted, typed = _scalar(value, tp)
    if accepted:
        return typed
    raise ConfigError(
        f"config key '{key}' must be of type {_type_name(tp)}, "
        f"got {type(value).__name__} ({value!r})"
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


def _validate_columns(settings: Settings) -> None:
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


def _validate_spark(settings: Settings) -> None:
    partitions = settings.spark.shuffle_partitions
    if partitions != "auto" and not (isinstance(partitions, int) and partitions >= 1):
        raise ConfigError("config key 'spark.shuffle_partitions' must be auto or a number >= 1")
    memory = settings.spark.driver_memory
    if memory != "auto" and not re.fullmatch(r"(?i)[1-9][0-9]*([kmgtp]b?)?", str(memory)):
        raise ConfigError(
            f"config key 'spark.driver_memory' must be auto or a JVM size such as 4g, got {memory!r}"
        )


def _validate(settings: Settings) -> None:
    _validate_columns(settings)
    _validate_spark(settings)
    max_time = settings.cleaning.max_purchase_time
    if max_time is not None and max_time <= settings.cleaning.min_purchase_time:
        raise ConfigError(
            "config key 'cleaning.max_purchase_time' must be after cleaning.min_purchase_time"
        )
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
    for name in ("parallel_fits", "max_iter"):
        if getattr(settings.clustering, name) < 1:
            raise ConfigError(f"config key 'clustering.{name}' must be at least 1")
    if not all(isinstance(k, int) and k >= 2 for k in settings.clustering.k):
        raise ConfigError("config key 'clustering.k' must be a list of whole numbers >= 2")
    bad_algorithms = sorted(set(settings.clustering.algorithms) - {"kmeans", "bisecting_kmeans"})
    if bad_algorithms or not settings.clustering.algorithms:
        raise ConfigError(
            "config key 'clustering.algorithms' takes kmeans and/or bisecting_kmeans, got "
            + repr(settings.clustering.algorithms)
        )


def settings_from_dict(data: dict) -> Settings:
    settings = _build(Settings, data or {})
    _validate(settings)
    return settings
