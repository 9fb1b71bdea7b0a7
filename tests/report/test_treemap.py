import itertools

import pytest

from custseg.layer3_stages.report.treemap import Rect, squarify


def _overlap(a: Rect, b: Rect) -> float:
    width = min(a.x + a.width, b.x + b.width) - max(a.x, b.x)
    height = min(a.y + a.height, b.y + b.height) - max(a.y, b.y)
    return max(width, 0.0) * max(height, 0.0)


def test_areas_are_proportional_to_values_and_tile_the_box():
    values = [500, 433, 78, 25, 25, 7]
    rects = squarify(values, x=0, y=0, width=60, height=40)
    total_area = 60 * 40
    for value, rect in zip(values, rects):
        assert rect.width * rect.height == pytest.approx(total_area * value / sum(values))
        assert rect.x >= 0 and rect.x + rect.width <= 60 + 1e-9
        assert rect.y >= 0 and rect.y + rect.height <= 40 + 1e-9
    assert all(_overlap(a, b) < 1e-9 for a, b in itertools.combinations(rects, 2))


def test_rectangles_stay_close_to_square():
    rects = squarify([6, 6, 4, 3, 2, 2, 1], x=0, y=0, width=6, height=4)
    aspects = [max(r.width / r.height, r.height / r.width) for r in rects]
    assert max(aspects) < 3.0  # a slice-and-dice layout would give strips up to 9:1 here


def test_result_follows_input_order_not_size_order():
    rects = squarify([1, 3], x=0, y=0, width=4, height=1)
    assert rects[0].width * rects[0].height == pytest.approx(1)
    assert rects[1].width * rects[1].height == pytest.approx(3)


def test_non_positive_values_get_empty_rectangles():
    rects = squarify([0, 5, -2, 5], x=10, y=20, width=10, height=10)
    assert rects[0] == Rect(10, 20, 0.0, 0.0)
    assert rects[2] == Rect(10, 20, 0.0, 0.0)
    assert rects[1].width * rects[1].height == pytest.approx(50)
    assert squarify([0, 0], x=0, y=0, width=1, height=1) == [Rect(0, 0, 0.0, 0.0)] * 2
