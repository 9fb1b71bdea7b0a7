"""Turns parsed YAML into typed settings: pydantic checks each key, this module the rules
that span keys, and every error is one line naming the dotted key.

pydantic's own message ("Input should be a valid integer") names no key a user could find
in the file, so its first error is rewritten: the dotted key, what is allowed and the value
given, as in ``config key 'rfm.bins' must be at least 2, got 1``.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from custseg.layer1_core.config import feature_names as features
from custseg.layer1_core.config.model import (
    CANONICAL_COLUMNS,
    PROFILE_COLUMNS,
    ClusteringSettings,
    ConfigError,
    ProfileSettings,
    Settings,
)

# pydantic's error for a value of the wrong type -> the type the message names.
_TYPE_NAMES = {
    "bool_type": "bool",
    "int_type": "int",
    "float_type": "float",
    "string_type": "str",
    "list_type": "list",
    "dict_type": "dict",
}
# What a failed constraint allows, from the error's context, where the field has no
# ``description`` (a field with a pattern needs one: a regex tells a user little).
_ALLOWED = {
    "greater_than_equal": "at least {ge}",
    "less_than_equal": "at most {le}",
    "finite_number": "a finite number",
    "too_short": "a list of at least {min_length} item(s)",
}


def _dotted(loc: tuple[int | str, ...]) -> str:
    """``('clustering', 'k', 0)`` -> ``clustering.k[0]``: the key as written in the YAML,
    with the position of a bad item in a list."""
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        elif part != "[key]":  # pydantic's marker for a mapping's key rather than its value
            key += ("." if key else "") + part
    return key


def _section_of(annotation: Any) -> type[BaseModel] | None:
    """The settings block a field holds (``ProfileSettings | None`` -> ProfileSettings)."""
    for candidate in typing.get_args(annotation) or (annotation,):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _field_at(loc: tuple[int | str, ...]) -> FieldInfo | None:
    """The declared field an error is about; list positions and mapping keys under it are
    the field's own items."""
    section: type[BaseModel] | None = Settings
    field = None
    for part in loc:
        if section is None or part not in section.model_fields:
            break
        field = section.model_fields[part]
        section = _section_of(field.annotation)
    return field


def _choices(annotation: Any) -> tuple[str, ...]:
    """The values of the ``Literal`` a field is, or holds a list of; () if none."""
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    for argument in typing.get_args(annotation):
        if found := _choices(argument):
            return found
    return ()


def _message(error: ErrorDetails) -> str:
    """One line for one of pydantic's errors, in the words the rest of custseg uses."""
    key, kind, value = _dotted(error["loc"]), error["type"], error["input"]
    context = error.get("ctx", {})
    if kind == "unknown_keys":
        prefix = f"{key}." if key else ""
        return (
            "unknown config key(s): "
            + ", ".join(prefix + name for name in context["unknown"])
            + f" (known under '{key or '<root>'}': {', '.join(context['known'])})"
        )
    if kind == "config":  # the model's own checks wrote the rest of the line
        return f"config key '{key}' {error['msg']}"
    got = f"{type(value).__name__} ({value!r})"
    if kind in ("model_type", "model_attributes_type"):
        return f"config key '{key}' must be a mapping, got {got}"
    if kind in _TYPE_NAMES:
        return f"config key '{key}' must be of type {_TYPE_NAMES[kind]}, got {got}"
    field = _field_at(error["loc"])
    if field is not None and field.description:
        return f"config key '{key}' must be {field.description}, got {value!r}"
    choices = _choices(field.annotation) if field is not None else ()
    if kind == "literal_error" and choices:
        return f"config key '{key}' must be one of {', '.join(choices)}, got {value!r}"
    if kind in _ALLOWED:
        return f"config key '{key}' must be {_ALLOWED[kind].format(**context)}, got {value!r}"
    return f"config key '{key}': {error['msg']}, got {value!r}"


def _check_mapping(columns: dict, canonical: tuple[str, ...], key: str) -> None:
    """Only known canonical names (the model checked the values: a column name or null)."""
    unknown_columns = sorted(set(columns) - set(canonical))
    if unknown_columns:
        raise ConfigError(
            f"unknown canonical column(s) under {key}: "
            + ", ".join(unknown_columns)
            + f" (canonical columns: {', '.join(canonical)})"
        )


def _validate_columns(settings: Settings) -> None:
    _check_mapping(settings.input.columns, CANONICAL_COLUMNS, "input.columns")
    mapped = {k for k, v in settings.input.columns.items() if v}
    missing = [c for c in ("customer_id", "purchase_time") if c not in mapped]
    if "amount" not in mapped and not {"quantity", "unit_price"} <= mapped:
        missing.append("amount or quantity+unit_price")
    if missing:
        raise ConfigError("input.columns must map the required column(s): " + ", ".join(missing))


def _validate_profiles(profiles: ProfileSettings | None) -> None:
    """A profile block needs a location and an id column; its attributes (plain names, as
    the model checked) are never the id or date column (an id kept as a number would sit
    in customer_profiles in clear)."""
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
        if attribute in mapped:
            raise ConfigError(
                f"config key 'input.profiles.attributes' lists {attribute!r}, which "
                "input.profiles.columns maps already: an id or a date is no numeric attribute"
            )
    if len(set(profiles.attributes)) != len(profiles.attributes):
        raise ConfigError("config key 'input.profiles.attributes' lists a column twice")


def _validate(settings: Settings) -> None:
    """The rules that span keys, checked once every key has its type."""
    _validate_columns(settings)
    _validate_profiles(settings.input.profiles)
    max_time = settings.cleaning.max_purchase_time
    if max_time is not None and max_time <= settings.cleaning.min_purchase_time:
        raise ConfigError(
            "config key 'cleaning.max_purchase_time' must be after cleaning.min_purchase_time"
        )
    _validate_clustering(settings.clustering)
    _validate_features(settings)


def _validate_features(settings: Settings) -> None:
    """Unknown features, or profile features without the profile columns they need, fail
    when the config is loaded rather than after the ingest and rfm stages of a run."""

    parsed = features.parse_features(settings.clustering.features)
    features.check_profile_features(parsed, settings.input.profiles)


def _validate_clustering(clustering: ClusteringSettings) -> None:
    k_range = clustering.k_range
    if len(k_range) != 2 or not 2 <= k_range[0] <= k_range[1]:
        raise ConfigError(
            "config key 'clustering.k_range' must be [low, high] with 2 <= low <= high, "
            f"got {k_range}"
        )
    if not 2 <= clustering.min_k <= k_range[1]:
        raise ConfigError(
            "config key 'clustering.min_k' must lie between 2 and the upper end of "
            f"clustering.k_range ({k_range[1]}), got {clustering.min_k}"
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
    """Validated settings, or a ``ConfigError`` with the first problem on one line (the CLI
    prints one line and exits 2)."""
    try:
        settings = Settings.model_validate(data or {})
    except ValidationError as error:
        raise ConfigError(_message(error.errors(include_url=False)[0])) from None
    _validate(settings)
    return settings
