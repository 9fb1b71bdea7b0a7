"""What a stage hands back when it finishes: a typed summary, one readable line of it for the
console, all of it for the log file.

Each stage defines its own frozen dataclass on ``StageSummary`` (``<stage>/summary.py``);
``as_dict`` is the full summary (the log file's line), ``line`` the one the console prints,
with the stage's wall time, which the runner measures. No pyspark here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, ClassVar


@dataclasses.dataclass(frozen=True)
class StageSummary:
    """The base of every stage's summary: ``parts`` says what the stage did, in a few
    comma-separated pieces."""

    STAGE: ClassVar[str] = ""
    # Fields left out of ``as_dict`` while None: they are in a summary only when they apply
    # (customers without a profile only with profile features, ...).
    OPTIONAL: ClassVar[tuple[str, ...]] = ()

    def as_dict(self) -> dict[str, Any]:
        """Every field as plain data (nested summaries too), for the log file."""
        data = dataclasses.asdict(self)
        for name in self.OPTIONAL:
            if data[name] is None:
                del data[name]
        return data

    def parts(self) -> list[str]:
        raise NotImplementedError

    def line(self, seconds: float) -> str:
        """``<stage>: <what it did>, <wall time>``, e.g. ``rfm: as_of 2022-01-01, ..., 12 s``."""
        return f"{self.STAGE}: {', '.join([*self.parts(), duration(seconds)])}"


def count(number: int) -> str:
    """A count as a person reads it: ``235,616``."""
    return f"{number:,}"


def plural(number: int, noun: str) -> str:
    """``1 file``, ``12 files``, ``1,234 customers``."""
    return f"{count(number)} {noun}{'' if number == 1 else 's'}"


def duration(seconds: float) -> str:
    """``4.2 s``, ``50 s``, ``2 min 5 s``."""
    if round(seconds, 1) < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s"


def largest(counts: Mapping[str, int], shown: int = 3, label: Callable[[str], str] = str) -> str:
    """The ``shown`` largest counts as ``name 1,234``, largest first (then by name), and
    ``...`` when there are more."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    text = ", ".join(f"{label(name)} {count(number)}" for name, number in ranked[:shown])
    return text + (", ..." if len(ranked) > shown else "")
