"""A Delta table's JSON commits as tests read them: the actions exactly as Delta wrote them,
with no reader in between that could hide what a commit did or added."""

from __future__ import annotations

import json
from pathlib import Path


def commit_actions(commit: bytes | str) -> list[dict]:
    """The actions of one commit file's content, one per line."""
    text = commit.decode("utf-8") if isinstance(commit, bytes) else commit
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def table_commits(table: Path | str) -> list[Path]:
    """The table's JSON commit files, oldest first."""
    return sorted(Path(table, "_delta_log").glob("*.json"))


def actions_of(table: Path | str, kind: str) -> list[dict]:
    """Every action of one kind (``add``, ``commitInfo``, ...) over all commits, in order."""
    return [
        action[kind]
        for commit in table_commits(table)
        for action in commit_actions(commit.read_text(encoding="utf-8"))
        if kind in action
    ]
