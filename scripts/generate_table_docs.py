"""Writes docs/tables.md, the column dictionary, from the table specs in lib/custseg/layer1_core/tables/.

    .venv/bin/python scripts/generate_table_docs.py

Run it after changing a table spec and commit the result: tests/tables/test_table_docs.py
fails while the committed page and the specs disagree.
"""

from __future__ import annotations

from pathlib import Path

from custseg.layer1_core.tables import ALL_TABLES
from custseg.layer1_core.tables.docs import DOCS_FILE, render_markdown

REPO_ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    target = REPO_ROOT / DOCS_FILE
    target.write_text(render_markdown(ALL_TABLES.values()), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
