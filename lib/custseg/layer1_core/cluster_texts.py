"""Cluster names and recommended actions: loading and validation of their texts.

The words clusters are named with and the actions that come with them are marketing copy,
kept as package data (``defaults/cluster_texts.yaml``) so that they can be edited without
touching the naming rules (``custseg.layer3_stages.clustering.naming``), which only decide
which text a cluster gets. The file is checked in full when loaded, before Spark starts
(``custseg validate`` and the preflight of every command that names clusters): a problem is
a ``ClusterTextsError`` naming the file, the dotted key, the value and what is allowed.

Besides the shape (every key present, no unknown key, text where text is needed), the
checks keep the names usable: templates use exactly their placeholders, no two level
combinations build the same base name, qualifier texts are unique, and no name or qualifier
contains ``QUALIFIER_SEPARATOR``, which splits a previous run's name into its base and
qualifiers.

The packaged file is read as text through ``importlib.resources``, never as a file path:
under ``spark-submit --py-files`` the package is imported from a zip and has no files.
"""

from __future__ import annotations

import dataclasses
import functools
import string
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from custseg.layer1_core.config import ConfigError, parse_yaml_text

PACKAGED_TEXTS = "defaults/cluster_texts.yaml"
PACKAGED_SOURCE = f"custseg/{PACKAGED_TEXTS} (packaged)"

# Between a base name and its qualifiers: "Recent newcomers, higher spend".
QUALIFIER_SEPARATOR = ", "

RECENCY_LEVELS = ("recent", "mid", "lapsed")
LEVELS = ("high", "mid", "low")
AXIS_LEVELS = {"recency": RECENCY_LEVELS, "frequency": LEVELS, "spend": LEVELS}
AXES = tuple(AXIS_LEVELS)
# Which value action a cluster named by the template gets: the first entry that applies
# (see ``naming.value_action_key``).
VALUE_ACTIONS = (
    "high_frequency_high_spend",
    "high_spend",
    "high_frequency",
    "low_frequency_low_spend",
    "mid_frequency_mid_spend",
    "other",
)
SPECIAL_NAMES = ("newcomers", "high_spending_newcomers", "lapsed_big_spenders")
SIDES = ("larger", "smaller")
NAME_PLACEHOLDERS = AXES
VARIANT_PLACEHOLDERS = ("number",)


class ClusterTextsError(ConfigError):
    """The cluster texts cannot be used as written; the message names the file and the key."""


@dataclasses.dataclass(frozen=True)
class Qualifier:
    """Words that tell a cluster from its look-alikes, and the action they call for."""

    text: str
    action: str


@dataclasses.dataclass(frozen=True)
class QualifierPair:
    """The qualifiers of the two sides of a cut: the larger and the smaller value."""

    larger: Qualifier
    smaller: Qualifier


@dataclasses.dataclass(frozen=True)
class NamedProfile:
    name: str
    actions: tuple[str, ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClusterTexts:
    """Every text the naming rules hand out; axes are ``recency``, ``frequency``, ``spend``."""

    name_template: str
    words: Mapping[str, Mapping[str, str]]  # axis -> level -> word
    recency_actions: Mapping[str, str]  # recency level -> action
    value_actions: Mapping[str, str]  # VALUE_ACTIONS key -> action
    special: Mapping[str, NamedProfile]  # SPECIAL_NAMES key -> name and actions
    both_scales: Mapping[str, QualifierPair]  # axis -> qualifiers
    size: QualifierPair
    average_only: Mapping[str, QualifierPair]  # axis -> qualifiers
    variant_template: str
    variant_action: str
    source: str

    def template_name(self, recency: str, frequency: str, spend: str) -> str:
        """The template's name for these levels: spaces around an empty word closed up, the
        first letter capitalised."""
        text = _squeeze(
            self.name_template.format(
                recency=self.words["recency"][recency],
                frequency=self.words["frequency"][frequency],
                spend=self.words["spend"][spend],
            )
        )
        return text[:1].upper() + text[1:]

    def variant(self, number: int) -> Qualifier:
        """The qualifier of the ``number``-th of look-alikes nothing else tells apart."""
        return Qualifier(_squeeze(self.variant_template.format(number=number)), self.variant_action)


def _squeeze(text: str) -> str:
    """Runs of spaces and line breaks as one space, none at the ends."""
    return " ".join(text.split())


class _Reader:
    """Reads parsed YAML by dotted key; every problem is one line naming the file and key."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, problem: str) -> ClusterTextsError:
        where = f"cluster texts {self.source}"
        return ClusterTextsError(f"{where}: {key} {problem}" if key else f"{where} {problem}")

    def mapping(self, data: Any, key: str, allowed: tuple[str, ...]) -> dict:
        """``data`` as a mapping with exactly the ``allowed`` keys."""
        expected = ", ".join(allowed)
        if not isinstance(data, dict):
            raise self.fail(key, f"must be a mapping of {expected}, got {data!r}")
        unknown = [str(k) for k in data if k not in allowed]
        if unknown:
            raise self.fail(key, f"has unknown key(s) {', '.join(unknown)} (allowed: {expected})")
        missing = [k for k in allowed if k not in data]
        if missing:
            raise self.fail(key, f"lacks {', '.join(missing)} (needed: {expected})")
        return data

    def text(self, data: dict, key: str, name: str | int, *, empty: bool = False) -> str:
        """``data[name]`` as one line of text; ``empty``: may be empty (or left blank)."""
        value = "" if empty and data[name] is None else data[name]
        where = f"{key}.{name}"
        if not isinstance(value, str):
            hint = "quote a text that contains ': '" if isinstance(value, dict) else "a text"
            raise self.fail(where, f"must be text, got {value!r} ({hint})")
        squeezed = _squeeze(value)
        if not squeezed and not empty:
            raise self.fail(where, f"must be non-empty text, got {value!r}")
        return squeezed

    def texts(self, data: dict, key: str, name: str) -> tuple[str, ...]:
        value = data[name]
        where = f"{key}.{name}"
        if not isinstance(value, list) or not value:
            raise self.fail(
                where,
                f"must be a list of one or more texts, got {value!r} "
                "(one '- ' line per action; quote an action that contains ': ')",
            )
        return tuple(
            self.text(dict(enumerate(value, 1)), where, i) for i in range(1, len(value) + 1)
        )

    def template(self, data: dict, key: str, name: str, placeholders: tuple[str, ...]) -> str:
        """A text whose ``{placeholders}`` are each used, and nothing else in braces."""
        value = self.text(data, key, name)
        where = f"{key}.{name}"
        allowed = ", ".join(f"{{{p}}}" for p in placeholders)
        try:
            fields = [
                (field, spec, conversion)
                for _, field, spec, conversion in string.Formatter().parse(value)
                if field is not None
            ]
        except ValueError as error:
            raise self.fail(
                where, f"{value!r} has unbalanced braces ({error}; allowed: {allowed})"
            ) from None
        for field, spec, conversion in fields:
            if field not in placeholders or spec or conversion:
                shown = "{" + field + (f"!{conversion}" if conversion else "")
                shown += (f":{spec}" if spec else "") + "}"
                raise self.fail(
                    where, f"{value!r} uses unknown placeholder {shown} (allowed: {allowed})"
                )
        used = [field for field, _, _ in fields]
        for placeholder in placeholders:
            if used.count(placeholder) != 1:
                raise self.fail(
                    where, f"{value!r} must use {{{placeholder}}} once (placeholders: {allowed})"
                )
        return value

    def qualifier(self, data: Any, key: str) -> Qualifier:
        entry = self.mapping(data, key, ("text", "action"))
        return Qualifier(self.text(entry, key, "text"), self.text(entry, key, "action"))

    def pair(self, data: Any, key: str) -> QualifierPair:
        entry = self.mapping(data, key, SIDES)
        return QualifierPair(*(self.qualifier(entry[side], f"{key}.{side}") for side in SIDES))

    def by_axis(self, data: Any, key: str) -> dict[str, QualifierPair]:
        entry = self.mapping(data, key, AXES)
        return {axis: self.pair(entry[axis], f"{key}.{axis}") for axis in AXES}


def parse_cluster_texts(data: Any, source: str) -> ClusterTexts:
    """Builds and validates the texts from parsed YAML."""
    read = _Reader(source)
    top = read.mapping(data, "", ("base_names", "special_names", "qualifiers", "variants"))
    base = read.mapping(
        top["base_names"], "base_names", ("template", "words", "recency_actions", "value_actions")
    )
    words_data = read.mapping(base["words"], "base_names.words", AXES)
    words = {}
    for axis, levels in AXIS_LEVELS.items():
        key = f"base_names.words.{axis}"
        entry = read.mapping(words_data[axis], key, levels)
        words[axis] = {level: read.text(entry, key, level, empty=True) for level in levels}
    recency_actions = read.mapping(
        base["recency_actions"], "base_names.recency_actions", RECENCY_LEVELS
    )
    value_actions = read.mapping(base["value_actions"], "base_names.value_actions", VALUE_ACTIONS)
    special_data = read.mapping(top["special_names"], "special_names", SPECIAL_NAMES)
    special = {}
    for name in SPECIAL_NAMES:
        key = f"special_names.{name}"
        entry = read.mapping(special_data[name], key, ("name", "actions"))
        special[name] = NamedProfile(
            read.text(entry, key, "name"), read.texts(entry, key, "actions")
        )
    qualifiers = read.mapping(
        top["qualifiers"], "qualifiers", ("both_scales", "size", "average_only")
    )
    variants = read.mapping(top["variants"], "variants", ("text", "action"))
    texts = ClusterTexts(
        name_template=read.template(base, "base_names", "template", NAME_PLACEHOLDERS),
        words=words,
        recency_actions={
            level: read.text(recency_actions, "base_names.recency_actions", level)
            for level in RECENCY_LEVELS
        },
        value_actions={
            rule: read.text(value_actions, "base_names.value_actions", rule)
            for rule in VALUE_ACTIONS
        },
        special=special,
        both_scales=read.by_axis(qualifiers["both_scales"], "qualifiers.both_scales"),
        size=read.pair(qualifiers["size"], "qualifiers.size"),
        average_only=read.by_axis(qualifiers["average_only"], "qualifiers.average_only"),
        variant_template=read.template(variants, "variants", "text", VARIANT_PLACEHOLDERS),
        variant_action=read.text(variants, "variants", "action"),
        source=source,
    )
    _check_names(texts, read)
    return texts


def _qualifier_keys(texts: ClusterTexts) -> dict[str, Qualifier]:
    """Every qualifier by its dotted key."""
    found = {}
    for tier, pairs in (("both_scales", texts.both_scales), ("average_only", texts.average_only)):
        for axis, pair in pairs.items():
            found |= {f"qualifiers.{tier}.{axis}.{s}": getattr(pair, s) for s in SIDES}
    found |= {f"qualifiers.size.{s}": getattr(texts.size, s) for s in SIDES}
    return found


def _check_names(texts: ClusterTexts, read: _Reader) -> None:
    """Names and qualifiers that would make two clusters' names equal, or a previous run's
    name unreadable."""
    pieces = {"base_names.template": texts.name_template}
    for axis, words in texts.words.items():
        for level, word in words.items():
            key = f"base_names.words.{axis}.{level}"
            others = [other for other, w in words.items() if w == word and other != level]
            if others:
                raise read.fail(
                    key, f"{word!r} is also the word for {others[0]}: each level needs its own"
                )
            pieces[key] = word
    pieces |= {f"special_names.{k}.name": p.name for k, p in texts.special.items()}
    qualifiers = {f"{k}.text": q.text for k, q in _qualifier_keys(texts).items()}
    pieces |= {**qualifiers, "variants.text": texts.variant_template}
    for key, text in pieces.items():
        if QUALIFIER_SEPARATOR in text:
            raise read.fail(
                key,
                f"{text!r} contains {QUALIFIER_SEPARATOR!r}, which separates a cluster name "
                "from its qualifiers: use other punctuation",
            )
    names: dict[str, str] = {}  # name -> where it comes from
    for recency in RECENCY_LEVELS:
        for frequency in LEVELS:
            for spend in LEVELS:
                levels = f"recency {recency}, frequency {frequency}, spend {spend}"
                name = texts.template_name(recency, frequency, spend)
                if not name or name in names:
                    found = f"the name {name!r} of {names[name]}" if name else "an empty name"
                    raise read.fail(
                        "base_names.template",
                        f"{texts.name_template!r} gives {found} to {levels} too: each "
                        "combination of levels needs a name of its own",
                    )
                names[name] = levels
    for key, profile in texts.special.items():
        if profile.name in names:
            raise read.fail(
                f"special_names.{key}.name",
                f"{profile.name!r} is also the name of {names[profile.name]}: "
                "use a name of its own",
            )
        names[profile.name] = f"special_names.{key}"
    seen: dict[str, str] = {}
    for key, text in {**qualifiers, "variants.text": texts.variant(1).text}.items():
        if text in seen:
            raise read.fail(key, f"{text!r} is also {seen[text]}: qualifiers must differ")
        seen[text] = key


def packaged_texts_text() -> str:
    """The packaged texts' YAML, readable whether the package is a folder or inside a zip."""
    return resources.files("custseg").joinpath(PACKAGED_TEXTS).read_text(encoding="utf-8")


def _yaml_problem(error: yaml.YAMLError) -> str:
    """A YAML parser error on one line: what is wrong and where."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"{error.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return _squeeze(str(error))


def load_cluster_texts(path: str | Path | None = None) -> ClusterTexts:
    """Reads ``path`` (None: the packaged texts) and validates it."""
    if path:
        source = str(path)
        if not Path(path).is_file():
            raise ClusterTextsError(f"cluster texts not found: {source}")
        text = Path(path).read_text(encoding="utf-8")
    else:
        source, text = PACKAGED_SOURCE, packaged_texts_text()
    try:
        data = parse_yaml_text(text)
    except yaml.YAMLError as error:
        raise ClusterTextsError(
            f"cluster texts {source} is not valid YAML: {_yaml_problem(error)}"
        ) from None
    return parse_cluster_texts(data, source)


@functools.cache
def packaged_cluster_texts() -> ClusterTexts:
    """The packaged texts, loaded and checked once per process (what the naming rules use
    when they are given no texts)."""
    return load_cluster_texts()
