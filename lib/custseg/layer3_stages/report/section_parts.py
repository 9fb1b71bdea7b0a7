"""Pieces every section builder uses: how numbers read in a table, and figures as images.

Sharing them keeps a count, a share or a sum of money written the same way in every
table of the page.
"""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from custseg.layer3_stages.report.html import Image
from custseg.layer3_stages.report.plotting import png_bytes


def as_count(value: Any) -> str:
    return f"{int(value):,}"


def as_money(value: Any) -> str:
    return f"{float(value):,.2f}"


def as_decimal(value: Any) -> str:
    return f"{float(value):,.1f}"


def as_share(value: Any) -> str:
    return f"{float(value):.1%}"


def as_metric(value: Any) -> str:
    return f"{float(value):,.3f}"


def figure_image(file_name: str, figure: Figure, alt: str, caption: str = "") -> Image:
    return Image(file_name, png_bytes(figure), alt, caption)
