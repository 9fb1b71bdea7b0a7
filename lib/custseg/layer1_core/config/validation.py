"""Turns parsed YAML into typed settings: lossless coercion, choices and cross-key rules.

Every error names the dotted key so a user can find it in the file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import types
import typing
from typing import Any

from custseg.layer1_core.config import feature_names as features
from custseg.layer1_core.config.model import (
    CANONICAL_COLUMNS,
    PROFILE_ATTRIBUTE_NAME,
    PROFILE_COLUMNS,
    ClusteringSettings,
    ConfigError,
    ProfileSettings,
    Settings,
    has_scheme,
)

_CHOICES = {
    "input.format": ("csv", "parquet", "delta"),
    "input.profiles.format": ("csv", "parquet", "delta"),
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


def _check_mapping(columns: dict, canonical: tuple[str, ...], key: str) -> None:
    """Only known canonical names, each mapped to a column name or left unmapped (null)."""
    unknown_columns = sorted(set(columns) - set(canonical))
    if unknown_columns:
        raise ConfigError(
            f"unknown canonical column(s) under {key}: "
            + ", ".join(unknown_columns)
            + f" (canonical columns: {', '.join(canonical)})"
        )
    for name, source in columns.items():
        if source is not None and not isinstance(source, str):
            raise ConfigError(f"config key '{key}.{name}' must be a column name (string)")


def _validate_columns(settings: Settings) -> None:
    _check_mapping(settings.input.columns, CANONICAL_COLUMNS, "input.columns")
    mapped = {k for k, v in settings.input.columns.items() if v}
    missing = [c for c in ("customer_id", "purchase_time") if c not in mapped]
    if "amount" not in mapped and not {"quantity", "unit_price"} <= mapped:
        missing.append("amount or quantity+unit_price")
    if missing:
        raise ConfigError("input.columns must map the required column(s): " + ", ".join(missing))


def _validate_profiles(profiles: ProfileSettings | None) -> None:
    """A profile block needs a location and an id column; its attributes are plain names
    (they become feature names) and never the id or date column (an id kept as a number
    would sit in customer_profiles in clear)."""
    if profiles is None:
        return
    if not profiles.path.strip():
        raise ConfigError("config key 'input.profiles.path' must name a file, folder or glob")
    _check_mapping(profiles.columns, PROFILE_COLUMNS, "input.profiles.columns")
    if not profiles.columns.get("customer_id"):
        raise ConfigError("input.profiles.columns must map the required column customer_id")
    if not profiles.date_format.strip():
        raise ConfigError("config key 'input.profiles.date_format' must be a date pattern")
    mapped = {source for source in profiles.columns.values() if source}
    for attribute in profiles.attributes:
        if not isinstance(attribute, str) or not re.fullmatch(PROFILE_ATTRIBUTE_NAME, attribute):
            raise ConfigError(
                "config key 'input.profiles.attributes' takes column names of letters, digits "
                f"and _ starting with a letter (each becomes the feature profile_<name>), got "
                f"{attribute!r}"
            )
        if attribute in mapped:
            raise ConfigError(
                f"config key 'input.profiles.attributes' lists {attribute!r}, which "
                "input.profiles.columns maps already: an id or a date is no numeric attribute"
            )
    if len(set(profiles.attributes)) != len(profiles.attributes):
        raise ConfigError("config key 'input.profiles.attributes' lists a column twice")


def _validate_spark(settings: Settings) -> None:
    partitions = settings.spark.shuffle_partitions
    if partitions != "auto" and not (isinstance(partitions, int) and partitions >= 1):
        raise ConfigError("config key 'spark.shuffle_partitions' must be auto or a number >= 1")
    memory = settings.spark.driver_memory
    if memory != "auto" and not re.fullmatch(r"(?i)[1-9][0-9]*([kmgtp]b?)?", str(memory)):
        raise ConfigError(
            f"config key 'spark.driver_memory' must be auto or a JVM size such as 4g, got {memory!r}"
        )


def _validate_logging(settings: Settings) -> None:
    """The JVM writes the log through a file descriptor, so it must be a local folder."""
    folder = settings.logging.dir
    if not folder or (has_scheme(folder) and not folder.startswith("file:")):
        raise ConfigError(
            f"config key 'logging.dir' must be a local folder (a path or file: URI), got {folder!r}"
        )


def _validate(settings: Settings) -> None:
    _validate_columns(settings)
    _validate_logging(settings)
    _validate_profiles(settings.input.profiles)
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
    _validate_clustering(settings.clustering)
    _validate_features(settings)


def _validate_features(settings: Settings) -> None:
    """Unknown features, or profile features without the profile columns they need, fail
    when the config is loaded rather than after the ingest and rfm stages of a run."""

    parsed = features.parse_features(settings.clustering.features)
    features.check_profile_features(parsed, settings.input.profiles)


def _validate_clustering(clustering: ClusteringSettings) -> None:
    k_range = clustering.k_range
    if (
        len(k_range) != 2
        or not all(isinstance(k, int) for k in k_range)
        or not 2 <= k_range[0] <= k_range[1]
    ):
        raise ConfigError(
            "config key 'clustering.k_range' must be [low, high] with 2 <= low <= high"
        )
    if not 2 <= clustering.min_k <= k_range[1]:
        raise ConfigError(
            "config key 'clustering.min_k' must lie between 2 and the upper end of "
            f"clustering.k_range ({k_range[1]}), got {clustering.min_k}"
        )
    for name in ("parallel_fits", "max_iter"):
        if getattr(clustering, name) < 1:
            raise ConfigError(f"config key 'clustering.{name}' must be at least 1")
    threshold = clustering.name_threshold
    if not (math.isfinite(threshold) and threshold >= 0.0):
        raise ConfigError(
            f"config key 'clustering.name_threshold' must be a number >= 0, got {threshold!r}"
        )
    if not all(isinstance(k, int) and k >= 2 for k in clustering.k):
        raise ConfigError("config key 'clustering.k' must be a list of whole numbers >= 2")
    bad_algorithms = sorted(set(clustering.algorithms) - {"kmeans", "bisecting_kmeans"})
    if bad_algorithms or not clustering.algorithms:
        raise ConfigError(
            "config key 'clustering.algorithms' takes kmeans and/or bisecting_kmeans, got "
            + repr(clustering.algorithms)
        )
    _validate_primary(clustering)


def _validate_primary(clustering: ClusteringSettings) -> None:
    """An explicit primary must be a model the run fits anyway: one of its algorithms at a k
    it sweeps or keeps."""
    if clustering.primary == "auto":
        return
    named = clustering.primary_model
    if named is None:
        raise ConfigError(
            "config key 'clustering.primary' must be auto or a model name such as kmeans_k5, "
            f"got {clustering.primary!r}"
        )
    algorithm, k = named
    if algorithm not in clustering.algorithms:
        raise ConfigError(
            f"config key 'clustering.primary' names {algorithm}, which is not in "
            f"clustering.algorithms {clustering.algorithms}"
        )
    low, high = clustering.k_range
    if not low <= k <= high and k not in clustering.k:
        raise ConfigError(
            f"config key 'clustering.primary' names k={k}, which is neither in "
            f"clustering.k_range {clustering.k_range} nor in clustering.k {clustering.k}"
        )


def settings_from_dict(data: dict) -> Settings:
    settings = _build(Settings, data or {})
    _validate(settings)
    return settings
