import datetime as dt
import re
from pathlib import Path

import pytest
import yaml
from chispa import assert_df_equality

from custseg.config import ConfigError
from custseg.rfm import segments

REPO = Path(__file__).resolve().parents[2]

# The classic R x F map as the pandas recipe writes it: regex over the "RF" score string.
CLASSIC = {
    r"[1-2][1-2]": "Hibernating",
    r"[1-2][3-4]": "At Risk",
    r"[1-2]5": "Can't Lose",
    r"3[1-2]": "About to Sleep",
    r"33": "Need Attention",
    r"[3-4][4-5]": "Loyal Customers",
    r"41": "Promising",
    r"51": "New Customers",
    r"[4-5][2-3]": "Potential Loyalist",
    r"5[4-5]": "Champions",
}


def _classic_segment(r: int, f: int) -> str:
    return next(name for pattern, name in CLASSIC.items() if re.fullmatch(pattern, f"{r}{f}"))


def _default_data() -> dict:
    return yaml.safe_load(segments.default_segments_path().read_text(encoding="utf-8"))


def _without(data: dict, name: str) -> dict:
    return {**data, "segments": [s for s in data["segments"] if s["name"] != name]}


def _changed(data: dict, segment: str, **changes) -> dict:
    return {
        **data,
        "segments": [{**s, **changes} if s["name"] == segment else s for s in data["segments"]],
    }


def test_conf_copy_and_packaged_default_are_identical():
    assert (
        REPO / "conf" / "segments.yaml"
    ).read_bytes() == segments.default_segments_path().read_bytes()


def test_default_map_is_the_classic_map():
    segment_map = segments.load_segment_map(None, 5)
    assert sorted(segment_map.names) == sorted(CLASSIC.values())
    for r in range(1, 6):
        for f in range(1, 6):
            assert segments.segment_for(segment_map, r, f) == _classic_segment(r, f), (r, f)


def test_every_default_segment_is_explained():
    for segment in segments.load_segment_map(None, 5).segments:
        assert len(segment.description) > 40, segment.name
        assert len(segment.actions) >= 2, segment.name


def test_spark_assignment_follows_the_map_in_every_cell(spark):
    segment_map = segments.load_segment_map(None, 5)
    cells = [(r, f) for r in range(1, 6) for f in range(1, 6)]
    scored = spark.createDataFrame(cells, "r_score int, f_score int")
    expected = spark.createDataFrame(
        [(r, f, _classic_segment(r, f)) for r, f in cells],
        "r_score int, f_score int, segment string",
    )
    assert_df_equality(
        segments.assign_segments(scored, segment_map),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_a_gap_is_refused_naming_the_uncovered_cell():
    with pytest.raises(segments.SegmentMapError) as err:
        segments.parse_segment_map(_without(_default_data(), "Need Attention"), 5, "test.yaml")
    message = str(err.value)
    assert "covered by no segment: R=3,F=3" in message
    assert "test.yaml" in message


def test_an_overlap_is_refused_naming_cells_and_segments():
    data = _changed(_default_data(), "Promising", f="1-2")
    with pytest.raises(segments.SegmentMapError) as err:
        segments.parse_segment_map(data, 5, "test.yaml")
    assert "more than one segment: R=4,F=2 (Potential Loyalist, Promising)" in str(err.value)


def test_gaps_and_overlaps_are_reported_together():
    data = _changed(_without(_default_data(), "Hibernating"), "New Customers", f="1-2")
    with pytest.raises(segments.SegmentMapError) as err:
        segments.parse_segment_map(data, 5, "test.yaml")
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
    with pytest.raises(segments.SegmentMapError, match=re.escape(fragment)):
        segments.parse_segment_map(_changed(_default_data(), "Hibernating", **changes), 5, "m.yaml")


def test_duplicate_names_are_refused():
    data = _changed(_default_data(), "Promising", name="New Customers")
    with pytest.raises(segments.SegmentMapError, match="used twice: New Customers"):
        segments.parse_segment_map(data, 5, "m.yaml")


def test_map_for_another_bin_count_is_refused_with_advice():
    with pytest.raises(ConfigError, match=r"bins=5 but rfm.bins is 3.*rfm.segments_file"):
        segments.load_segment_map(None, 3)


def test_errors_are_value_errors_for_the_cli():
    assert issubclass(segments.SegmentMapError, ValueError)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(segments.SegmentMapError, match="not found"):
        segments.load_segment_map(str(tmp_path / "nope.yaml"), 5)


THREE_BIN_MAP = """
bins: 3
segments:
  - {name: Best, r: 3, f: "2-3", description: recent and frequent, actions: [reward]}
  - {name: New, r: 3, f: 1, description: recent first order, actions: [welcome]}
  - {name: Cooling, r: 2, f: 1-3, description: middle recency, actions: [remind]}
  - {name: Lost, r: 1, f: "1-3", description: long gone, actions: [win back]}
"""


def test_a_three_bin_map_loads_and_assigns(spark, tmp_path):
    path = tmp_path / "segments3.yaml"
    path.write_text(THREE_BIN_MAP, encoding="utf-8")
    segment_map = segments.load_segment_map(str(path), 3)
    assert segment_map.names == ["Best", "New", "Cooling", "Lost"]
    cells = [(r, f) for r in range(1, 4) for f in range(1, 4)]
    expected_names = {(3, 3): "Best", (3, 2): "Best", (3, 1): "New"}
    expected = spark.createDataFrame(
        [(r, f, expected_names.get((r, f), "Cooling" if r == 2 else "Lost")) for r, f in cells],
        "r_score int, f_score int, segment string",
    )
    scored = spark.createDataFrame(cells, "r_score int, f_score int")
    assert_df_equality(
        segments.assign_segments(scored, segment_map),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_three_bin_map_with_a_gap_names_it(tmp_path):
    path = tmp_path / "segments3.yaml"
    path.write_text(THREE_BIN_MAP.replace('f: "2-3"', "f: 3"), encoding="utf-8")
    with pytest.raises(segments.SegmentMapError, match=r"no segment: R=3,F=2$"):
        segments.load_segment_map(str(path), 3)


def _segment_frame(spark, rows):
    return spark.createDataFrame(rows, "customer_key string, segment string")


def test_transitions_count_moves_new_and_gone_customers(spark):
    previous = _segment_frame(
        spark,
        [
            ("a", "Champions"),
            ("b", "Hibernating"),
            ("c", "Champions"),
            ("d", "At Risk"),
            ("f", "Champions"),
        ],
    )
    current = _segment_frame(
        spark,
        [
            ("a", "Champions"),
            ("b", "Promising"),
            ("c", "Loyal Customers"),
            ("e", "New Customers"),
            ("f", "Champions"),
        ],
    )
    result = segments.segment_transitions(
        current, previous, dt.date(2011, 12, 10), dt.date(2011, 11, 10)
    )
    expected = spark.createDataFrame(
        [
            (dt.date(2011, 12, 10), dt.date(2011, 11, 10), "Champions", "Champions", 2),
            (dt.date(2011, 12, 10), dt.date(2011, 11, 10), "Hibernating", "Promising", 1),
            (dt.date(2011, 12, 10), dt.date(2011, 11, 10), "Champions", "Loyal Customers", 1),
            (dt.date(2011, 12, 10), dt.date(2011, 11, 10), "At Risk", None, 1),
            (dt.date(2011, 12, 10), dt.date(2011, 11, 10), None, "New Customers", 1),
        ],
        "as_of date, previous_as_of date, from_segment string, to_segment string, customers long",
    )
    assert_df_equality(result, expected, ignore_row_order=True, ignore_nullable=True)


def test_previous_segment_is_joined_per_customer(spark):
    previous = _segment_frame(spark, [("a", "Champions"), ("d", "At Risk")])
    current = _segment_frame(spark, [("a", "Loyal Customers"), ("e", "New Customers")])
    expected = spark.createDataFrame(
        [("a", "Loyal Customers", "Champions"), ("e", "New Customers", None)],
        "customer_key string, segment string, previous_segment string",
    )
    assert_df_equality(
        segments.with_previous_segment(current, previous),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )
    first_run = segments.with_previous_segment(current, None)
    assert [r["previous_segment"] for r in first_run.collect()] == [None, None]


def test_summary_has_exact_shares_means_and_medians(spark):
    customers = spark.createDataFrame(
        [
            ("a", "Champions", 1, 10, 100.0),
            ("b", "Champions", 3, 20, 300.0),
            ("c", "Champions", 2, 40, 200.0),
            ("d", "Champions", 9, 30, 400.0),
            ("e", "Hibernating", 200, 1, 50.0),
        ],
        "customer_key string, segment string, recency_days int, frequency long, monetary double",
    )
    segment_map = segments.load_segment_map(None, 5)
    rows = {
        r["segment"]: r.asDict()
        for r in segments.segment_summary(customers, segment_map, dt.date(2011, 12, 10)).collect()
    }
    assert set(rows) == {"Champions", "Hibernating"}
    champions = rows["Champions"]
    assert champions["customers"] == 4
    assert champions["customer_share"] == pytest.approx(0.8)
    assert champions["revenue"] == pytest.approx(1000.0)
    assert champions["revenue_share"] == pytest.approx(1000.0 / 1050.0)
    assert champions["mean_recency_days"] == pytest.approx(3.75)
    assert champions["median_recency_days"] == pytest.approx(
        2.5
    )  # pandas median: mean of the middle two
    assert champions["median_frequency"] == pytest.approx(25.0)
    assert champions["median_monetary"] == pytest.approx(250.0)
    assert (champions["r_scores"], champions["f_scores"], champions["segment_order"]) == (
        "5",
        "4-5",
        0,
    )
    assert champions["actions"] == list(segment_map.segments[0].actions)
    hibernating = rows["Hibernating"]
    assert (hibernating["customers"], hibernating["median_monetary"]) == (1, 50.0)
    assert hibernating["as_of"] == dt.date(2011, 12, 10)
