"""Cluster texts (custseg/defaults/cluster_texts.yaml): a broken copy is one line naming the
file, the key, the value and what is allowed, found before Spark starts."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from custseg.layer1_core import cluster_texts
from custseg.layer1_core.cluster_texts import ClusterTextsError, load_cluster_texts
from custseg.layer1_core.config import ConfigError, Settings
from custseg.layer4_commands.preflight import command_problems

PACKAGE = Path(cluster_texts.__file__).resolve().parents[1]
DELETE = object()


def _packaged() -> dict:
    return yaml.safe_load(cluster_texts.packaged_texts_text())


def _changed(dotted: str, value) -> dict:
    """The packaged texts with one dotted key set (or deleted)."""
    data = copy.deepcopy(_packaged())
    *parents, last = dotted.split(".")
    node = data
    for part in parents:
        node = node[int(part) if isinstance(node, list) else part]
    if value is DELETE:
        del node[last]
    else:
        node[int(last) if isinstance(node, list) else last] = value
    return data


def _error(tmp_path: Path, data) -> str:
    path = tmp_path / "texts.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(ClusterTextsError) as raised:
        load_cluster_texts(path)
    message = str(raised.value)
    assert "\n" not in message
    prefix = f"cluster texts {path}"
    assert message.startswith(prefix)
    return message[len(prefix) :]


def test_packaged_texts_load_and_are_checked():
    texts = load_cluster_texts()
    assert texts.source == "custseg/defaults/cluster_texts.yaml (packaged)"
    assert texts.template_name("mid", "mid", "mid") == "Occasional mid spenders"
    assert texts.variant(3).text == "variant 3"
    assert cluster_texts.packaged_cluster_texts() == texts


def test_errors_are_config_errors_for_the_cli():
    assert issubclass(ClusterTextsError, ConfigError)


@pytest.mark.parametrize(
    "key, value, expected",
    [
        (
            "base_names.words.frequency.mid",
            DELETE,
            ": base_names.words.frequency lacks mid (needed: high, mid, low)",
        ),
        (
            "qualifiers.size.largest",
            {"text": "most customers", "action": "Test here."},
            ": qualifiers.size has unknown key(s) largest (allowed: larger, smaller)",
        ),
        (
            "base_names.words.spend.high",
            3,
            ": base_names.words.spend.high must be text, got 3 (a text)",
        ),
        (
            "special_names.newcomers.actions",
            "Send a welcome series.",
            ": special_names.newcomers.actions must be a list of one or more texts, got "
            "'Send a welcome series.' (one '- ' line per action; quote an action that "
            "contains ': ')",
        ),
        (
            "special_names.newcomers.actions.1",
            {"Offer an incentive": "on the second order"},
            ": special_names.newcomers.actions.2 must be text, got "
            "{'Offer an incentive': 'on the second order'} (quote a text that contains ': ')",
        ),
        (
            "variants.action",
            "  ",
            ": variants.action must be non-empty text, got '  '",
        ),
        (
            "qualifiers",
            ["higher spend"],
            ": qualifiers must be a mapping of both_scales, size, average_only, "
            "got ['higher spend']",
        ),
        (
            "variants.text",
            "variant {n}",
            ": variants.text 'variant {n}' uses unknown placeholder {n} (allowed: {number})",
        ),
        (
            "variants.text",
            "variant {number:02d}",
            ": variants.text 'variant {number:02d}' uses unknown placeholder {number:02d} "
            "(allowed: {number})",
        ),
        (
            "variants.text",
            "variant",
            ": variants.text 'variant' must use {number} once (placeholders: {number})",
        ),
        (
            "base_names.template",
            "{frequency} {spend}",
            ": base_names.template '{frequency} {spend}' must use {recency} once "
            "(placeholders: {recency}, {frequency}, {spend})",
        ),
        (
            "base_names.template",
            "{recency} {frequency} {spend} {segment}",
            ": base_names.template '{recency} {frequency} {spend} {segment}' uses unknown "
            "placeholder {segment} (allowed: {recency}, {frequency}, {spend})",
        ),
        (
            "base_names.template",
            "{recency} {frequency {spend}",
            ": base_names.template '{recency} {frequency {spend}' has unbalanced braces "
            "(unexpected '{' in field name; allowed: {recency}, {frequency}, {spend})",
        ),
        (
            "base_names.words.frequency.mid",
            "rare",
            ": base_names.words.frequency.mid 'rare' is also the word for low: each level "
            "needs its own",
        ),
        (
            "qualifiers.both_scales.spend.larger.text",
            "higher, spend",
            ": qualifiers.both_scales.spend.larger.text 'higher, spend' contains ', ', which "
            "separates a cluster name from its qualifiers: use other punctuation",
        ),
        (
            "qualifiers.average_only.spend.larger.text",
            "higher spend",
            ": qualifiers.average_only.spend.larger.text 'higher spend' is also "
            "qualifiers.both_scales.spend.larger.text: qualifiers must differ",
        ),
        (
            "special_names.lapsed_big_spenders.name",
            "Lapsed frequent high spenders",
            ": special_names.lapsed_big_spenders.name 'Lapsed frequent high spenders' is "
            "also the name of recency lapsed, frequency high, spend high: use a name of its own",
        ),
    ],
)
def test_a_broken_copy_names_the_key_the_value_and_what_is_allowed(tmp_path, key, value, expected):
    assert _error(tmp_path, _changed(key, value)) == expected


def test_words_may_build_the_same_name_only_once(tmp_path):
    """Distinct words can still meet: 'lapsed recent' + 'frequent' equals 'lapsed' +
    'recent frequent'."""
    data = _changed("base_names.words.recency.mid", "lapsed recent")
    data["base_names"]["words"]["frequency"]["mid"] = "recent frequent"
    assert _error(tmp_path, data) == (
        ": base_names.template '{recency} {frequency} {spend}' gives the name "
        "'Lapsed recent frequent high spenders' of recency mid, frequency high, spend high "
        "to recency lapsed, frequency mid, spend high too: each combination of levels "
        "needs a name of its own"
    )


def test_file_that_is_no_mapping_or_no_yaml_is_named(tmp_path):
    assert _error(tmp_path, None) == (
        " must be a mapping of base_names, special_names, qualifiers, variants, got None"
    )
    path = tmp_path / "broken.yaml"
    path.write_text("variants:\n  text: variant {number}\n  action: Keep: together\n")
    with pytest.raises(ClusterTextsError) as raised:
        load_cluster_texts(path)
    assert str(raised.value) == (
        f"cluster texts {path} is not valid YAML: mapping values are not allowed here "
        "(line 3, column 15)"
    )
    with pytest.raises(ClusterTextsError, match=r"^cluster texts not found: .*nope.yaml$"):
        load_cluster_texts(tmp_path / "nope.yaml")


def test_texts_are_folded_to_one_line(tmp_path):
    data = _changed("variants.action", "Address\n   them   together.  ")
    path = tmp_path / "texts.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert load_cluster_texts(path).variant_action == "Address them together."


def test_preflight_of_commands_that_name_clusters_reports_broken_texts(monkeypatch):
    broken = yaml.safe_dump(_changed("variants.text", "variant {n}"))
    monkeypatch.setattr(cluster_texts, "packaged_texts_text", lambda: broken)
    expected = (
        "cluster texts custseg/defaults/cluster_texts.yaml (packaged): variants.text "
        "'variant {n}' uses unknown placeholder {n} (allowed: {number})"
    )
    for command in ("cluster", "run", "validate"):
        assert expected in command_problems(Settings(), command).config
    for command in ("ingest", "rfm", "score", "report"):
        assert command_problems(Settings(), command).config == []


def _package_copy(root: Path, texts: str | None = None) -> Path:
    """lib/custseg copied under ``root`` (without caches), its texts replaced by ``texts``."""
    copied = root / "custseg"
    shutil.copytree(PACKAGE, copied, ignore=shutil.ignore_patterns("__pycache__"))
    if texts is not None:
        (copied / "defaults" / "cluster_texts.yaml").write_text(texts, encoding="utf-8")
    return root


RUN_MAIN = (
    "import sys; from custseg.layer4_commands.cli import main; rc = main(sys.argv[1:]); "
    "print('pyspark imported:', 'pyspark' in sys.modules, file=sys.stderr); sys.exit(rc)"
)


@pytest.mark.slow
def test_run_with_broken_packaged_texts_stops_before_spark(tmp_path):
    """An edited packaged file with a typo: ``run`` and ``validate`` stop with exit 2 and
    one line, without importing pyspark."""
    broken = cluster_texts.packaged_texts_text().replace("{number}", "{nr}")
    lib = _package_copy(tmp_path / "lib", broken)
    env = {**os.environ, "PYTHONPATH": str(lib)}
    expected = (
        "cluster texts custseg/defaults/cluster_texts.yaml (packaged): variants.text "
        "'variant {nr}' uses unknown placeholder {nr} (allowed: {number})"
    )
    for command in ("run", "validate"):
        done = subprocess.run(
            [sys.executable, "-c", RUN_MAIN, command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        lines = done.stderr.strip().splitlines()
        assert lines[-1] == "pyspark imported: False", done.stderr
        assert done.returncode == 2, done.stderr
        prefix = "custseg run failed: " if command == "run" else "custseg validate: "
        assert prefix + expected in lines[:-1]
        if command == "run":
            assert lines[:-1] == [prefix + expected]


LOAD_FROM_ZIP = """
import sys
sys.path.insert(0, sys.argv[1])
import custseg
from custseg.layer1_core import cluster_texts
assert custseg.__file__.startswith(sys.argv[1]), custseg.__file__
texts = cluster_texts.load_cluster_texts()
print(texts.source)
print(texts.template_name("recent", "high", "high"))
"""


@pytest.mark.slow
def test_packaged_texts_load_when_the_package_is_a_zip(tmp_path):
    """spark-submit --py-files ships the package as a zip: the texts have no file path there."""
    archive = tmp_path / "custseg.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for file in sorted(PACKAGE.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts:
                zipped.write(file, Path("custseg") / file.relative_to(PACKAGE))
    result = subprocess.run(
        [sys.executable, "-c", LOAD_FROM_ZIP, str(archive)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == [
        "custseg/defaults/cluster_texts.yaml (packaged)",
        "Recent frequent high spenders",
    ]
