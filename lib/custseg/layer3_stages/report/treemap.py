"""Squarified treemap layout (Bruls, Huizing and van Wijk, 2000).

Written here rather than taken from a package because it is forty lines and the report
needs nothing else from one: rectangles are kept close to square so small segments stay
readable next to large ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple


class Rect(NamedTuple):
    x: float
    y: float
    width: float
    height: float


def _worst_aspect(row_areas: Sequence[float], short_side: float) -> float:
    """The most elongated rectangle a row would produce when laid along ``short_side``."""
    total = sum(row_areas)
    side_squared = short_side * short_side
    return max(
        max(side_squared * area / (total * total), (total * total) / (side_squared * area))
        for area in row_areas
    )


def squarify(
    values: Sequence[float], *, x: float, y: float, width: float, height: float
) -> list[Rect]:
    """Rectangles tiling ``(x, y, width, height)`` with areas proportional to ``values``.

    The result is aligned with the input order; values that are not positive get an empty
    rectangle at the origin so callers can zip labels with rectangles without filtering.
    """
    rects = [Rect(x, y, 0.0, 0.0)] * len(values)
    positive = sorted((i for i, v in enumerate(values) if v > 0), key=lambda i: (-values[i], i))
    total = sum(values[i] for i in positive)
    if not positive or width <= 0 or height <= 0:
        return rects
    scale = width * height / total
    pending = [(i, values[i] * scale) for i in positive]
    while pending:
        short_side = min(width, height)
        row = [pending[0]]
        while len(row) < len(pending) and _worst_aspect(
            [a for _, a in row] + [pending[len(row)][1]], short_side
        ) <= _worst_aspect([a for _, a in row], short_side):
            row.append(pending[len(row)])
        pending = pending[len(row) :]
        row_area = sum(a for _, a in row)
        if width >= height:  # a column on the left, as tall as the free space
            column_width = row_area / height if pending else width
            offset = y
            for i, area in row:
                rects[i] = Rect(x, offset, column_width, area / column_width)
                offset += area / column_width
            x, width = x + column_width, width - column_width
        else:  # a row at the bottom, as wide as the free space
            row_height = row_area / width if pending else height
            offset = x
            for i, area in row:
                rects[i] = Rect(offset, y, area / row_height, row_height)
                offset += area / row_height
            y, height = y + row_height, height - row_height
    return rects
