import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from custseg.layer1_core import segment_map
from custseg.layer1_core.config import ConfigError
from tests.rfm.maps import CLASSIC, THREE_BIN_MAP, classic_segment

PACKAGE = Path(segment_map.__file__).resolve().parents[1]


def _default_data() -> dict:
    return yaml.safe_load(segment_map.packaged_map_text())


def _without(data: dict, name: str) -> dict:
    return {**data, "segments": [s for s in data["segments"] if s["name"] != name]}


def _changed(data: dict, segment: str, **changes) -> dict:
    return {
        **data,
        "segments": [{**s, **changes} if s["name"] == segment else s for s in data["segments"]],
    }


def test_default_map_is_the_classic_map():
    loaded = segment_map.load_segment_map(None, 5)
    assert sorted(loaded.names) == sorted(CLASSIC.values())
    for r in range(1, 6):
        for f in range(1, 6):
            assert segment_map.segment_for(loaded, r, f) == classic_segment(r, f), (r, f)


def test_every_default_segment_is_explained():
    for segment in segment_map.load_segment_map(None, 5).segments:
        assert len(segment.description) > 40, segment.name
        assert len(segment.actions) >= 2, segment.name


def test_default_map_is_named_as_the_packaged_map():
    assert segment_map.load_segment_map(None, 5).source == (
        "custseg/defaults/segments.yaml (packaged)"
    )


def test_a_gap_is_refused_naming_the_uncovered_cell():
    with pytest.raises(segment_map.SegmentMapError) as err:
        segment_map.parse_segment_map(_without(_default_data(), "Need Attention"), 5, "test.yaml")
    message = str(err.value)
    assert "covered by no segment: R=3,F=3" in message
    assert "test.yaml" in message


def test_an_overlap_is_refused_naming_cells_and_segments():
    data = _changed(_default_data(), "Promising", f="1-2")
    with pytest.raises(segment_map.SegmentMapError) as err:
        segment_map.parse_segment_map(data, 5, "test.yaml")
    assert "more than one segment: R=4,F=2 (Potential Loyalist, Promising)" in str(err.value)


def test_gaps_and_overlaps_are_reported_together():
    data = _changed(_without(_default_data(), "Hibernating"), "New Customers", f="1-2")
    with pytest.raises(segment_map.SegmentMapError) as err:
        segment_map.parse_segment_map(data, 5, "test.yaml")
    message = str(err.value)
    assert "no segment: R=2,F=2; R=2,F=1; R=1,F=2; R=1,F=1" in message
    assert "R=5,F=2 (Potential Loyalist, New Customers)" in message


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"r": "0-2"}, "R scores 0-2 outside 1-5"),
        ({"f": "6"}, "F scores 6 outside 1-5"),
        ({"r": "high"}, "must be a score or a range"),
        ({"r": "5-4"}, "runs backwards"),
        ({"actions": "call them"}, "actions must be a list"),
    ],
)
def test_malformed_segments_are_refused(changes, fragment):
    with pytest.raises(segment_map.SegmentMapError, match=re.escape(fragment)):
        segment_map.parse_segment_map(
            _changed(_default_data(), "Hibernating", **changes), 5, "m.yaml"
        )


def test_duplicate_names_are_refused():
    data = _changed(_default_data(), "Promising", name="New Customers")
    with pytest.raises(segment_map.SegmentMapError, match="used twice: New Customers"):
        segment_map.parse_segment_map(data, 5, "m.yaml")


def test_map_for_another_bin_count_is_refused_with_advice():
    with pytest.raises(ConfigError, match=r"bins=5 but rfm.bins is 3.*rfm.segments_file") as err:
        segment_map.load_segment_map(None, 3)
    assert "segment map custseg/defaults/segments.yaml (packaged) is written" in str(err.value)


def test_errors_are_value_errors_for_the_cli():
    assert issubclass(segment_map.SegmentMapError, ValueError)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(segment_map.SegmentMapError, match="not found"):
        segment_map.load_segment_map(str(tmp_path / "nope.yaml"), 5)


def test_three_bin_map_with_a_gap_names_it(tmp_path):
    path = tmp_path / "segments3.yaml"
    path.write_text(THREE_BIN_MAP.replace('f: "2-3"', "f: 3"), encoding="utf-8")
    with pytest.raises(segment_map.SegmentMapError, match=r"no segment: R=3,F=2$"):
        segment_map.load_segment_map(str(path), 3)


LOAD_FROM_ZIP = """
import sys
sys.path.insert(0, sys.argv[1])
import custseg
from custseg.layer1_core import segment_map
assert custseg.__file__.startswith(sys.argv[1]), custseg.__file__
loaded = segment_map.load_segment_map(None, 5)
print(loaded.source)
print(len(loaded.segments))
"""


@pytest.mark.slow
def test_packaged_map_loads_when_the_package_is_a_zip(tmp_path):
    """spark-submit --py-files ships the package as a zip: the map has no file path there."""
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
    assert result.stdout.split("\n")[:2] == ["custseg/defaults/segments.yaml (packaged)", "10"]
