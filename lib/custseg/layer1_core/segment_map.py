"""The R x F segment map: loading and validation.

The map is YAML users edit (``rfm.segments_file``); the default is the classic ten-segment
map for five bins, shipped as package data. Every (R, F) score cell must belong to exactly
one segment: a gap would leave customers without a segment and an overlap would make the
result depend on rule order, so both are errors that name the cells.

The packaged map is read as text through ``importlib.resources``, never as a file path:
under ``spark-submit --py-files`` the package is imported from a zip and has no files.

Format::

    bins: 5
    segments:
      - name: Champions
        r: "5"          # a score, or a range "low-high"
        f: "4-5"
        description: ...
        actions: [..., ...]
"""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from custseg.layer1_core.config import ConfigError, parse_yaml_text, read_yaml_file

PACKAGED_MAP = "defaults/segments.yaml"
PACKAGED_SOURCE = f"custseg/{PACKAGED_MAP} (packaged)"


class SegmentMapError(ConfigError):
    """The segment map cannot be used as written; the message names the file and the cells."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Segment:
    name: str
    r_scores: tuple[int, int]
    f_scores: tuple[int, int]
    description: str
    actions: tuple[str, ...]

    def cells(self) -> list[tuple[int, int]]:
        return [
            (r, f)
            for r in range(self.r_scores[0], self.r_scores[1] + 1)
            for f in range(self.f_scores[0], self.f_scores[1] + 1)
        ]


@dataclasses.dataclass(frozen=True)
class SegmentMap:
    bins: int
    segments: tuple[Segment, ...]
    source: str

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.segments]


def packaged_map_text() -> str:
    """The default map's YAML, readable whether the package is a folder or inside a zip."""
    return resources.files("custseg").joinpath(PACKAGED_MAP).read_text(encoding="utf-8")


def format_scores(scores: tuple[int, int]) -> str:
    low, high = scores
    return str(low) if low == high else f"{low}-{high}"


def format_cell(r: int, f: int) -> str:
    return f"R={r},F={f}"


def _parse_scores(value: Any, what: str) -> tuple[int, int]:
    """``5``, ``"5"`` or ``"4-5"`` -> (low, high)."""
    text = (
        str(value).strip()
        if isinstance(value, (int, str)) and not isinstance(value, bool)
        else None
    )
    parts = text.split("-") if text else []
    if len(parts) not in (1, 2) or not all(p.strip().isdigit() for p in parts):
        raise SegmentMapError(f"{what} must be a score or a range like '4-5', got {value!r}")
    low, high = int(parts[0]), int(parts[-1])
    if low > high:
        raise SegmentMapError(f"{what} range {value!r} runs backwards")
    return low, high


def _parse_segment(entry: Any, index: int, source: str) -> Segment:
    where = f"segment map {source}, segment #{index + 1}"
    if not isinstance(entry, dict):
        raise SegmentMapError(f"{where} must be a mapping with name, r, f, description, actions")
    unknown = sorted(set(entry) - {"name", "r", "f", "description", "actions"})
    if unknown:
        raise SegmentMapError(f"{where} has unknown key(s): {', '.join(map(str, unknown))}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SegmentMapError(f"{where} needs a non-empty name")
    where = f"segment map {source}, segment '{name}'"
    for key in ("r", "f"):
        if key not in entry:
            raise SegmentMapError(f"{where} needs '{key}' (a score or a range like '4-5')")
    description = entry.get("description", "")
    if not isinstance(description, str):
        raise SegmentMapError(f"{where}: description must be text")
    actions = entry.get("actions", [])
    if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
        raise SegmentMapError(
            f"{where}: actions must be a list of texts (quote an action that contains ': ')"
        )
    return Segment(
        name=name.strip(),
        r_scores=_parse_scores(entry["r"], f"{where}: r"),
        f_scores=_parse_scores(entry["f"], f"{where}: f"),
        description=" ".join(description.split()),
        actions=tuple(" ".join(a.split()) for a in actions),
    )


def coverage_problems(segments: tuple[Segment, ...], bins: int) -> list[str]:
    """Every reason the segments do not cover the bins x bins grid exactly once."""
    problems = []
    for segment in segments:
        for axis, (low, high) in (("R", segment.r_scores), ("F", segment.f_scores)):
            if low < 1 or high > bins:
                problems.append(
                    f"segment '{segment.name}' has {axis} scores "
                    f"{format_scores((low, high))} outside 1-{bins}"
                )
    owners: dict[tuple[int, int], list[str]] = {}
    for segment in segments:
        for cell in segment.cells():
            owners.setdefault(cell, []).append(segment.name)
    grid = [(r, f) for r in range(bins, 0, -1) for f in range(bins, 0, -1)]
    uncovered = [format_cell(r, f) for r, f in grid if (r, f) not in owners]
    overlapping = [
        f"{format_cell(r, f)} ({', '.join(owners[r, f])})"
        for r, f in grid
        if len(owners.get((r, f), [])) > 1
    ]
    if uncovered:
        problems.append("cells covered by no segment: " + "; ".join(uncovered))
    if overlapping:
        problems.append("cells covered by more than one segment: " + "; ".join(overlapping))
    return problems


def parse_segment_map(data: Any, bins: int, source: str) -> SegmentMap:
    """Builds and validates a map for ``bins`` scores from parsed YAML."""
    if not isinstance(data, dict) or not isinstance(data.get("segments"), list):
        raise SegmentMapError(f"segment map {source} must hold 'bins' and a list 'segments'")
    unknown = sorted(set(data) - {"bins", "segments"})
    if unknown:
        raise SegmentMapError(
            f"segment map {source} has unknown key(s): "
            f"{', '.join(map(str, unknown))} (known: bins, segments)"
        )
    map_bins = data.get("bins")
    if not isinstance(map_bins, int) or isinstance(map_bins, bool):
        raise SegmentMapError(
            f"segment map {source} must say which score count it is for (bins: {bins})"
        )
    if map_bins != bins:
        raise SegmentMapError(
            f"segment map {source} is written for bins={map_bins} but rfm.bins is {bins}: "
            f"point rfm.segments_file at a map for {bins} bins"
        )
    segments = tuple(_parse_segment(e, i, source) for i, e in enumerate(data["segments"]))
    names = [s.name for s in segments]
    repeated = sorted({n for n in names if names.count(n) > 1})
    problems = [f"segment name(s) used twice: {', '.join(repeated)}"] if repeated else []
    problems += coverage_problems(segments, bins)
    if problems:
        raise SegmentMapError(
            f"segment map {source} (bins={bins}) is invalid: " + ". ".join(problems)
        )
    return SegmentMap(bins, segments, source)


def segment_for(segment_map: SegmentMap, r: int, f: int) -> str:
    """The segment of one score cell: ``segments.segment_column``'s rule, for people and tests."""
    return next(s.name for s in segment_map.segments if (r, f) in s.cells())


def _packaged_map_data() -> Any:
    """The parsed default map; broken YAML here is a packaging bug, still named like a file."""
    try:
        return parse_yaml_text(packaged_map_text())
    except yaml.YAMLError as err:
        raise SegmentMapError(f"segment map {PACKAGED_SOURCE} is not valid YAML: {err}") from None


def load_segment_map(path: str | None, bins: int) -> SegmentMap:
    """Reads ``path`` (None: the packaged default) and validates it for ``bins`` scores.

    A user's map is read on the driver as a file, so a typo in ``rfm.segments_file`` is
    reported as a missing file rather than falling back to the default.
    """
    if not path:
        return parse_segment_map(_packaged_map_data(), bins, PACKAGED_SOURCE)
    file = Path(path)
    data = read_yaml_file(file, "segment map", SegmentMapError, hint=" (rfm.segments_file)")
    return parse_segment_map(data, bins, str(file))
