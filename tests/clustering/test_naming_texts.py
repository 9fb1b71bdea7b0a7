"""The packaged cluster texts give exactly the names and actions the rules gave when the texts
were written in naming.py, and the rules use whatever texts they are given.

``naming_texts.json`` was written by the hard-coded naming before the texts moved to
``custseg/defaults/cluster_texts.yaml``: the name and actions of each of the 27 level
combinations, every qualifier of every contrast, and a few models whose clusters between them
carry every qualifier and variant. After a deliberate edit of the texts, rewrite it with
``.venv/bin/python -m tests.clustering.test_naming_texts`` and review the difference.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from custseg.layer1_core import cluster_texts
from custseg.layer3_stages.clustering import naming
from custseg.layer3_stages.clustering.naming import Levels, Traits

GOLDEN = Path(__file__).with_name("naming_texts.json")
LEVEL_KEYS = [
    (r, f, m)
    for r in ("recent", "mid", "lapsed")
    for f in ("high", "mid", "low")
    for m in ("high", "mid", "low")
]
POPULATION = dict.fromkeys(("recency_days", "frequency", "monetary"), 100.0)


def _labels(texts=None) -> dict:
    return {
        " ".join(key): dict(zip(("name", "actions"), _plain(naming.label(Levels(*key), texts))))
        for key in LEVEL_KEYS
    }


def _plain(label: naming.Label) -> list:
    return [label.name, list(label.actions)]


def _tiers() -> list:
    return [
        [
            {
                "axis": c.axis,
                "larger": [c.larger.text, c.larger.action],
                "smaller": [c.smaller.text, c.smaller.action],
            }
            for c in tier
        ]
        for tier in naming.contrast_tiers(POPULATION)
    ]


def _named(scenario: dict, texts=None) -> list:
    traits = {i: Traits(**cluster) for i, cluster in enumerate(scenario["clusters"])}
    named = naming.name_clusters(
        traits, scenario["population_means"], threshold=scenario["threshold"], texts=texts
    )
    return [dict(zip(("name", "actions"), _plain(named[i]))) for i in range(len(traits))]


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_every_level_combination_keeps_its_name_and_actions(golden):
    assert _labels() == golden["labels"]


def test_every_qualifier_keeps_its_text_and_action(golden):
    assert _tiers() == golden["tiers"]


def test_models_keep_their_qualified_names_and_actions(golden):
    qualifiers = set()
    for scenario in golden["scenarios"]:
        assert _named(scenario) == scenario["expected"]
        qualifiers |= {q for e in scenario["expected"] for q in e["name"].split(", ")[1:]}
    assert {"variant 1", "variant 2", "more customers", "lower average spend"} <= qualifiers
    assert len(qualifiers) == 16  # every qualifier of every contrast, and two variants


def test_edited_texts_reach_the_names(tmp_path, golden):
    """A copy with other words: the rules hand out the copy's texts, in the same places."""
    data = yaml.safe_load(cluster_texts.packaged_texts_text())
    data["base_names"]["template"] = "{spend}: {frequency} {recency}"
    data["base_names"]["words"]["recency"] = {"recent": "just now", "mid": "", "lapsed": "long ago"}
    data["special_names"]["lapsed_big_spenders"]["name"] = "Lost whales"
    data["variants"]["text"] = "twin no. {number}"
    path = tmp_path / "texts.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    texts = cluster_texts.load_cluster_texts(path)

    labels = _labels(texts)
    assert labels["lapsed mid low"]["name"] == "Low spenders: occasional long ago"
    assert labels["mid high high"]["name"] == "High spenders: frequent"
    assert labels["lapsed low high"]["name"] == "Lost whales"
    assert [v["actions"] for v in labels.values()] == [
        v["actions"] for v in golden["labels"].values()
    ]
    twins = next(s for s in golden["scenarios"] if "variant 1" in str(s["expected"]))
    names = [e["name"] for e in _named(twins, texts)]
    assert any(name.endswith(", twin no. 2") for name in names)


def _write_golden() -> None:
    """Rewrites naming_texts.json from the current texts, keeping its scenarios' inputs."""
    data = json.loads(GOLDEN.read_text(encoding="utf-8"))
    data["labels"], data["tiers"] = _labels(), _tiers()
    for scenario in data["scenarios"]:
        scenario["expected"] = _named(scenario)
    GOLDEN.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    _write_golden()
