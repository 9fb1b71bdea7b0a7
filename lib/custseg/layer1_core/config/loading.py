"""Reads YAML configs and ``--set dotted.key=value`` overrides into validated settings."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from custseg.layer1_core.config.model import ConfigError, Settings
from custseg.layer1_core.config.validation import settings_from_dict


class _DatesAsTextLoader(yaml.SafeLoader):
    """YAML without implicit timestamps: ``2024-02-30`` stays text for the settings to
    reject with the key's name, instead of a bare ``ValueError`` from inside the parser."""


_DatesAsTextLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_yaml_text(text: str) -> Any:
    """YAML as the settings read it (dates stay text)."""
    return yaml.load(text, Loader=_DatesAsTextLoader)  # noqa: S506 - a SafeLoader subclass


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b=3`` -> (['a', 'b'], 3); the value is read as YAML so numbers and lists work."""
    if "=" not in text:
        raise ConfigError(f"--set takes dotted.key=value, got {text!r}")
    key, raw = text.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ConfigError(f"--set has an empty key: {text!r}")
    value = parse_yaml_text(raw) if raw.strip() else None
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


def read_yaml_file(
    path: Path, what: str, error: type[ConfigError] = ConfigError, hint: str = ""
) -> Any:
    """Parsed YAML of a user-edited file; a missing or broken file is ``error`` naming it."""
    if not path.is_file():
        raise error(f"{what} not found: {path}{hint}")
    try:
        return parse_yaml_text(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise error(f"{what} {path} is not valid YAML: {err}") from None


def load_settings(path: str | Path | None, overrides: list[str] | None = None) -> Settings:
    """Reads a YAML config (``None``: defaults only) and applies ``--set`` overrides."""
    loaded = None if path is None else read_yaml_file(Path(path), "config file")
    return _settings_from_yaml(loaded, f"config file {path}", overrides)


def load_packaged_settings(name: str, overrides: list[str] | None = None) -> Settings:
    """A config shipped inside the package (``custseg/defaults/<name>``), read as a resource
    so that it is found from any working directory, a wheel or a zip."""
    resource = resources.files("custseg").joinpath("defaults", name)
    try:
        loaded = parse_yaml_text(resource.read_text(encoding="utf-8"))
    except (FileNotFoundError, yaml.YAMLError) as error:
        raise ConfigError(f"packaged config custseg/defaults/{name}: {error}") from None
    return _settings_from_yaml(loaded, f"packaged config custseg/defaults/{name}", overrides)


def _settings_from_yaml(loaded: Any, source: str, overrides: list[str] | None) -> Settings:
    if loaded is not None and not isinstance(loaded, dict):
        raise ConfigError(f"{source} must hold a mapping at the top level")
    data = _merge(Settings().model_dump(), loaded or {})
    return settings_from_dict(apply_overrides(data, overrides or []))


def replace(settings: Settings, **changes: Any) -> Settings:
    """A validated copy with dotted keys changed: ``replace(s, **{"rfm.as_of": "2011-12-10"})``."""
    data = _set_paths(settings.model_dump(), [(k.split("."), v) for k, v in changes.items()])
    return settings_from_dict(data)
