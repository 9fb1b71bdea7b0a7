"""The column dictionary (docs/tables.md) rendered from the table specs, so that what BI users
read cannot drift from what the jobs write: a test compares the committed file with this text.
"""

from __future__ import annotations

from collections.abc import Iterable

from custseg.layer1_core.tables.spec import (
    DATABASE,
    STATS_COLUMNS_PROPERTY,
    TABLE_PROPERTIES,
    TableSpec,
)

# Relative to the repository root; scripts/generate_table_docs.py writes it, the test reads it.
DOCS_FILE = "docs/tables.md"
GENERATOR = "scripts/generate_table_docs.py"


def render_markdown(specs: Iterable[TableSpec]) -> str:
    """The whole page; the specs keep their order so the page follows the pipeline's stages."""
    specs = list(specs)
    parts = [_header(specs), *(_table_section(spec) for spec in specs)]
    return "\n".join(parts).rstrip("\n") + "\n"


def _header(specs: list[TableSpec]) -> str:
    """Says the page is generated (edits by hand would be overwritten) and states once what
    every table shares, so the sections only show what differs."""
    names = ", ".join(f"[`{spec.name}`](#{spec.name})" for spec in specs)
    return "\n".join(
        [
            "# Tables: column dictionary",
            "",
            f"Generated from the table specs in `lib/custseg/layer1_core/tables/` by `{GENERATOR}`;",
            "edit the specs, not this file, then run the script again.",
            "",
            "Table `T` is a Delta table at `<warehouse>/T`; the report stage registers it in "
            f"Spark's catalog as `{DATABASE}.T`. Types are Spark SQL types; `decimal(18,4)` is "
            "money in the source currency, `decimal(18,2)` money rounded to cents for "
            "reading. Nullable `no`: a write with a null there fails "
            "(Delta NOT NULL). To read them without Spark see "
            "[the README](../README.md#reading-the-tables-without-spark).",
            "",
            f"Tables: {names}.",
            "",
            "Table properties of every table unless its section says otherwise:",
            "",
            *_property_lines(TABLE_PROPERTIES),
            "",
        ]
    )


def _table_section(spec: TableSpec) -> str:
    """One table: what a row is, how files are split, the columns, and the checks a write
    must pass (a BI user can rely on those holding for every row)."""
    if spec.partition_by:
        partitioning = "Partitioned by " + ", ".join(f"`{c}`" for c in spec.partition_by) + "."
    else:
        partitioning = "Not partitioned."
    if spec.sorted_by:
        keys = ", ".join(f"`{c}`" for c in spec.sorted_by)
        partitioning += f" Each write is sorted by {keys}: its files cover disjoint ranges of it."
    if spec.single_file:
        per_value = " per partition value" if spec.partition_by else ""
        partitioning += f" Each write makes one file{per_value} (its rows are few)."
    lines = [f"## {spec.name}", "", spec.comment, "", partitioning, ""]
    lines += ["| column | type | nullable | description |", "| --- | --- | --- | --- |"]
    lines += [
        f"| `{c.name}` | `{c.sql_type.name}` | {'yes' if c.nullable else 'no'} "
        f"| {_cell(c.comment)} |"
        for c in spec.columns
    ]
    lines.append("")
    if spec.constraints:
        lines += ["Constraints (Delta CHECK constraints: a write breaking one fails):", ""]
        lines += [f"* `{name}`: `{expression}`" for name, expression in spec.constraints]
        lines.append("")
    if spec.properties != TABLE_PROPERTIES:
        lines += ["Table properties:", "", *_property_lines(spec.properties), ""]
    if spec.stats_columns:
        named = ", ".join(f"`{c}`" for c in spec.stats_columns)
        lines += [
            f"Delta keeps per-file minimum, maximum and null count only for {named} "
            f"(`{STATS_COLUMNS_PROPERTY}`): besides the partition column, a reader skips "
            "files by those columns only (files written before custseg set the property "
            "keep the statistics they have).",
            "",
        ]
    return "\n".join(lines)


def _property_lines(properties: tuple[tuple[str, str], ...]) -> list[str]:
    return [f"* `{key}` = `{value}`" for key, value in properties]


def _cell(text: str) -> str:
    """A pipe would end the markdown table cell early."""
    return text.replace("|", "\\|")
