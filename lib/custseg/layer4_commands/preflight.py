"""Checks that need no Spark, run before the SparkSession starts.

A missing hashing key, a mistyped input path, a broken segment map or broken cluster texts
would otherwise be reported only after Spark's start-up and its Java output. Each check
returns its problems as one-line texts naming the config key or file, so ``custseg
validate`` can list them all at once and a command can stop at the first. Nothing here
imports pyspark: that import alone costs seconds, and the point is to answer in well under
a few.
"""

from __future__ import annotations

import glob
import os
from typing import NamedTuple

from custseg.layer1_core.cluster_texts import load_cluster_texts
from custseg.layer1_core.config import (
    ConfigError,
    InputSettings,
    PseudonymSettings,
    RfmSettings,
    Settings,
)
from custseg.layer1_core.segment_map import load_segment_map
from custseg.layer2_io.locations import local_path, plain_paths_are_local
from custseg.layer3_stages.ingest.hash_key import HashKeyError, load_hash_key

# Which commands need what; ``demo`` is checked as ``run`` once it has made its key and data.
NEEDS_KEY = frozenset({"ingest", "run", "keys"})
READS_INPUT = frozenset({"ingest", "run"})
READS_SEGMENT_MAP = frozenset({"rfm", "run"})
NAMES_CLUSTERS = frozenset({"cluster", "run"})
_GLOB_CHARACTERS = frozenset("*?[{")


class Problems(NamedTuple):
    """Problems by kind: the CLI exits 2 for configuration problems, as for a ConfigError."""

    config: list[str]
    other: list[str]

    @property
    def all(self) -> list[str]:
        return self.config + self.other


def key_problems(pseudonym: PseudonymSettings) -> list[str]:
    """Loads the key as the ingest stage will and drops it: only the message is kept, and
    ``HashKeyError`` messages never contain the key."""
    try:
        load_hash_key(pseudonym.key_env, pseudonym.key_file)
    except HashKeyError as error:
        return [str(error)]
    return []


def _glob_matches(pattern: str) -> bool:
    """Whether a Hadoop glob matches something. Python's glob has no ``{a,b}``, so for such
    a pattern only the folder before the first glob character is required to exist."""
    if "{" not in pattern:
        return bool(glob.glob(pattern))
    fixed = pattern[: min(pattern.index(c) for c in _GLOB_CHARACTERS if c in pattern)]
    return os.path.isdir(os.path.dirname(fixed) or ".")


def path_problems(location: str, key: str, plain_is_local: bool = True) -> list[str]:
    """A local file, folder or glob that matches nothing; a name such as ``sales[2010].csv``
    is first taken as itself, as the ingest stage takes it."""
    path = local_path(location, plain_is_local)
    if path is None or os.path.exists(path):
        return []
    if _GLOB_CHARACTERS.intersection(path) and _glob_matches(path):
        return []
    return [f"{key} {location} does not exist (no file, folder or glob match)"]


def input_problems(source: InputSettings, plain_is_local: bool = True) -> list[str]:
    problems = path_problems(source.path, "input.path", plain_is_local)
    if source.profiles is not None:
        problems += path_problems(source.profiles.path, "input.profiles.path", plain_is_local)
    return problems


def segment_map_problems(rfm: RfmSettings) -> list[str]:
    """The map the rfm stage will load (``rfm.segments_file`` or the packaged one), loaded
    and validated by the same function."""
    try:
        load_segment_map(rfm.segments_file, rfm.bins)
    except ConfigError as error:
        return [str(error)]
    return []


def cluster_texts_problems() -> list[str]:
    """The cluster names and actions (packaged ``defaults/cluster_texts.yaml``), loaded and
    validated as the cluster stage will."""
    try:
        load_cluster_texts()
    except ConfigError as error:
        return [str(error)]
    return []


def command_problems(settings: Settings, command: str) -> Problems:
    """The checks ``command`` needs; ``validate`` runs them all."""
    everything = command == "validate"
    config = (
        segment_map_problems(settings.rfm) if everything or command in READS_SEGMENT_MAP else []
    )
    if everything or command in NAMES_CLUSTERS:
        config += cluster_texts_problems()
    other = key_problems(settings.pseudonym) if everything or command in NEEDS_KEY else []
    if everything or command in READS_INPUT:
        other += input_problems(settings.input, plain_paths_are_local(settings.spark))
    return Problems(config=config, other=other)
