"""Typed, validated settings loaded from YAML with ``--set dotted.key=value`` overrides.

The YAML keys are a public contract (BI and ops scripts set them), so every key is declared
once (``model``), every unknown key or wrong type is an error that names the dotted path
(``validation``), and the secret hashing key is deliberately *not* a setting: only the name
of the environment variable or the path of a key file are.
"""

from custseg.layer1_core.config.loading import (
    apply_overrides,
    load_packaged_settings,
    load_settings,
    parse_override,
    parse_yaml_text,
    read_yaml_file,
    replace,
)
from custseg.layer1_core.config.model import (
    CANONICAL_COLUMNS,
    DEFAULT_COLUMN_MAPPING,
    PROFILE_ATTRIBUTE_NAME,
    PROFILE_COLUMNS,
    CleaningSettings,
    ClusteringSettings,
    ConfigError,
    CsvOptions,
    InputSettings,
    LoggingSettings,
    ProfileSettings,
    PseudonymSettings,
    ReportSettings,
    RfmSettings,
    Settings,
    SparkSettings,
)
from custseg.layer1_core.config.validation import settings_from_dict

__all__ = [
    "CANONICAL_COLUMNS",
    "DEFAULT_COLUMN_MAPPING",
    "PROFILE_ATTRIBUTE_NAME",
    "PROFILE_COLUMNS",
    "CleaningSettings",
    "ClusteringSettings",
    "ConfigError",
    "CsvOptions",
    "InputSettings",
    "LoggingSettings",
    "ProfileSettings",
    "PseudonymSettings",
    "ReportSettings",
    "RfmSettings",
    "Settings",
    "SparkSettings",
    "apply_overrides",
    "load_packaged_settings",
    "load_settings",
    "parse_override",
    "parse_yaml_text",
    "read_yaml_file",
    "replace",
    "settings_from_dict",
]
