"""The report page: one self-contained HTML file.

Images are embedded as base64 ``data:`` URIs and the style sheet is inline, so the file
can be mailed, archived or opened offline and shows exactly what it showed on the day it
was written. The page holds no scripts and loads nothing from the network.
"""

from __future__ import annotations

import base64
import dataclasses
import html
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

STYLE = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 0; color: #1d2733;
       background: #f5f6f8; line-height: 1.45; }
header { background: #1f3b57; color: white; padding: 24px 40px; }
header h1 { margin: 0 0 6px 0; font-size: 26px; }
header p { margin: 0; opacity: 0.85; }
nav { background: white; padding: 10px 40px; border-bottom: 1px solid #d8dde3; font-size: 14px;
      display: flex; flex-wrap: wrap; gap: 6px 18px; }
nav a { color: #1f3b57; text-decoration: none; white-space: nowrap; }
main { padding: 10px 40px 40px 40px; max-width: 1400px; }
section { background: white; margin: 22px 0; padding: 18px 26px; border-radius: 6px;
          box-shadow: 0 1px 3px rgba(0,0,0,0.08); }
section h2 { margin-top: 4px; color: #1f3b57; }
figure { margin: 14px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e6ea; }
figcaption { font-size: 13px; color: #55606d; margin-top: 4px; }
.note { background: #fff7e0; border-left: 4px solid #e0b040; padding: 8px 12px; font-size: 14px; }
.key-figures { display: flex; flex-wrap: wrap; gap: 14px; }
.key-figures div { background: #eef2f6; padding: 10px 16px; border-radius: 5px; min-width: 150px; }
.key-figures b { display: block; font-size: 22px; color: #1f3b57; }
table { border-collapse: collapse; font-size: 13px; margin: 10px 0; }
th, td { border: 1px solid #d8dde3; padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #eef2f6; }
td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td ul { margin: 0; padding-left: 18px; }
footer { color: #6b7580; font-size: 12px; padding: 0 40px 30px 40px; }
"""


@dataclasses.dataclass(frozen=True)
class Image:
    """A figure as PNG bytes; ``file_name`` is the PNG written next to the page."""

    file_name: str
    png: bytes
    alt: str
    caption: str = ""


@dataclasses.dataclass(frozen=True)
class Section:
    anchor: str
    heading: str
    _: dataclasses.KW_ONLY
    paragraphs: tuple[str, ...] = ()
    images: tuple[Image, ...] = ()
    tables: tuple[str, ...] = ()  # HTML fragments made by ``table_html`` / ``key_figures_html``
    notes: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class TableColumn:
    """``lines``: the value is a text of one item per line (recommended actions), shown
    as a bullet list."""

    name: str
    header: str
    format: Callable[[Any], str] = str
    numeric: bool = False
    lines: bool = False


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _cell(value: Any, column: TableColumn) -> str:
    if value is None or (not isinstance(value, dict) and pd.isna(value)):
        return "<td></td>"
    if column.lines:
        items = "".join(f"<li>{html.escape(line)}</li>" for line in str(value).splitlines())
        return f"<td><ul>{items}</ul></td>"
    css = ' class="number"' if column.numeric else ""
    return f"<td{css}>{html.escape(column.format(value))}</td>"


def table_html(frame: pd.DataFrame, columns: Sequence[TableColumn], caption: str = "") -> str:
    """An HTML table of ``frame``'s rows; every value is escaped, the lines of a ``lines``
    column become a bullet list."""
    head = "".join(f"<th>{html.escape(c.header)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(_cell(row[c.name], c) for c in columns) + "</tr>"
        for _, row in frame.iterrows()
    )
    caption_html = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{caption_html}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def key_figures_html(items: Sequence[tuple[str, str]]) -> str:
    """Headline numbers as labelled tiles: (label, value)."""
    tiles = "".join(
        f"<div><b>{html.escape(value)}</b>{html.escape(label)}</div>" for label, value in items
    )
    return f'<div class="key-figures">{tiles}</div>'


def _section_html(section: Section) -> str:
    parts = [
        f'<section id="{html.escape(section.anchor)}">',
        f"<h2>{html.escape(section.heading)}</h2>",
    ]
    parts += [f"<p>{html.escape(p)}</p>" for p in section.paragraphs]
    parts += [f'<p class="note">{html.escape(n)}</p>' for n in section.notes]
    parts += list(section.tables)
    for image in section.images:
        caption = f"<figcaption>{html.escape(image.caption)}</figcaption>" if image.caption else ""
        parts.append(
            f'<figure><img src="{data_uri(image.png)}" alt="{html.escape(image.alt)}" '
            f'data-file="{html.escape(image.file_name)}">{caption}</figure>'
        )
    parts.append("</section>")
    return "\n".join(parts)


def render_page(
    title: str, subtitle: str, sections: Sequence[Section], footer: str | None = None
) -> str:
    """The complete page: header, a table of contents, the sections and a footer."""
    nav = "".join(
        f'<a href="#{html.escape(s.anchor)}">{html.escape(s.heading)}</a>' for s in sections
    )
    body = "\n".join(_section_html(s) for s in sections)
    footer_html = f"<footer>{html.escape(footer)}</footer>" if footer else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>\n"
        f"<nav>{nav}</nav>\n<main>\n{body}\n</main>\n{footer_html}\n</body>\n</html>\n"
    )
