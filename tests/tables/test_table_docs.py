"""docs/tables.md is the page BI users read; it must say what the specs declare. No Spark."""

from __future__ import annotations

from pathlib import Path

from custseg.layer1_core.tables import (
    ALL_TABLES,
    CUSTOMER_PROFILES,
    TRANSACTIONS,
    Column,
    TableSpec,
)
from custseg.layer1_core.tables.docs import DOCS_FILE, GENERATOR, render_markdown
from custseg.layer1_core.tables.spec import STRING
from custseg.layer2_io.schemas import column_type

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_committed_column_dictionary_matches_the_specs():
    committed = (REPO_ROOT / DOCS_FILE).read_text(encoding="utf-8")
    assert committed == render_markdown(ALL_TABLES.values()), (
        f"{DOCS_FILE} is out of date with lib/custseg/layer1_core/tables/: run "
        f"`.venv/bin/python {GENERATOR}` and commit the result"
    )


def test_every_table_and_column_has_its_row():
    text = render_markdown(ALL_TABLES.values())
    for spec in ALL_TABLES.values():
        assert f"\n## {spec.name}\n" in text
        for column in spec.columns:
            assert f"| `{column.name}` | `{column_type(column).simpleString()}` |" in text


def test_a_section_shows_partitioning_nullability_and_constraints():
    section = render_markdown([TRANSACTIONS])
    assert "Partitioned by `purchase_month`." in section
    assert "| `amount` | `decimal(18,4)` | no |" in section
    assert "| `order_id` | `string` | yes |" in section
    assert "* `valid_customer_key`: `length(customer_key) = 64`" in section


def test_an_unpartitioned_table_says_so_and_maps_show_their_types():
    section = render_markdown([CUSTOMER_PROFILES])
    assert "Not partitioned." in section
    assert "| `attributes` | `map<string,double>` | no |" in section


def test_a_pipe_in_a_comment_stays_inside_its_cell():
    spec = TableSpec("t", "a table", (Column("c", STRING, "x|y"),))
    assert "| `c` | `string` | yes | x\\|y |" in render_markdown([spec])
