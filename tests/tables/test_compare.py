"""Two warehouses compared table by table: exact values exact, floats to a relative tolerance."""

from __future__ import annotations

import pytest

from custseg.layer2_io.table_compare import compare_warehouses, unmatched_rows

SCHEMA = "key string, value double, centre map<string,double>, run_id string"


def frame(spark, rows):
    return spark.createDataFrame(rows, SCHEMA)


BASE = [
    ("a", 1.0, {"x": 0.5, "y": 2.0}, "run-1"),
    ("a", 3.0, {"x": 0.25, "y": 1.0}, "run-1"),
    ("b", None, None, "run-1"),
]


def test_equal_up_to_float_rounding_and_run_ids(spark):
    other = [
        ("a", 3.0 * (1 + 1e-12), {"y": 1.0, "x": 0.25}, "run-2"),
        ("b", None, None, "run-2"),
        ("a", 1.0, {"x": 0.5 * (1 - 1e-13), "y": 2.0}, "run-2"),
    ]
    assert unmatched_rows(frame(spark, BASE), frame(spark, other)) == 0


def test_a_float_beyond_the_tolerance_leaves_its_row_unmatched_on_both_sides(spark):
    changed = ("a", 1.0 + 1e-6, {"x": 0.5, "y": 2.0}, "run-1")
    assert unmatched_rows(frame(spark, BASE), frame(spark, [changed, *BASE[1:]])) == 2


@pytest.mark.parametrize(
    "changed",
    [
        ("a", 1.0, {"x": 0.5 + 1e-6, "y": 2.0}, "run-1"),  # a map value beyond the tolerance
        ("a", 1.0, {"x": 0.5, "z": 2.0}, "run-1"),  # another map key
        ("c", 1.0, {"x": 0.5, "y": 2.0}, "run-1"),  # another exact value
        ("a", None, {"x": 0.5, "y": 2.0}, "run-1"),  # a null for a number
    ],
)
def test_any_changed_value_is_a_difference(spark, changed):
    assert unmatched_rows(frame(spark, BASE), frame(spark, [changed, *BASE[1:]])) > 0


def test_a_missing_or_repeated_row_is_unmatched(spark):
    assert unmatched_rows(frame(spark, BASE), frame(spark, BASE[:2])) == 1
    assert unmatched_rows(frame(spark, BASE), frame(spark, [*BASE, BASE[0]])) > 0


def test_warehouses_are_compared_table_by_table(spark, tmp_path):
    for name, rows in (("first", BASE), ("second", [*BASE[:2], ("b", 9.0, None, "x")])):
        frame(spark, rows).write.format("delta").save(str(tmp_path / name / "metrics"))
        frame(spark, BASE).write.format("delta").save(str(tmp_path / name / "same"))
    frame(spark, BASE).write.format("delta").save(str(tmp_path / "first" / "only_first"))
    (tmp_path / "first" / "_models").mkdir()
    results = {
        r.name: r
        for r in compare_warehouses(spark, str(tmp_path / "first"), str(tmp_path / "second"))
    }
    assert sorted(results) == ["metrics", "only_first", "same"]
    assert results["same"].same
    assert (results["metrics"].unmatched, results["metrics"].same) == (2, False)  # b: None vs 9
    assert (results["only_first"].rows_first, results["only_first"].rows_second) == (3, 0)
    assert not results["only_first"].same
