"""The report as a marketing reader sees it: opened in headless Chromium."""

import io

import pytest
from PIL import Image as PilImage

from custseg.layer3_stages.report.document import SECTION_HEADINGS, write_report
from custseg.layer3_stages.report.html import Image, Section, render_page
from tests.report import browser
from tests.report import sample_inputs as sample

pytestmark = pytest.mark.slow


def assert_seen_complete(seen: dict, figure_names: set[str]) -> None:
    """No console output or load errors; every figure decoded, non-blank and laid out."""
    assert seen["console"] == []
    assert seen["loadErrors"] == []
    assert {image["file"] for image in seen["images"]} == figure_names
    for image in seen["images"]:
        assert image["decoded"], image
        assert image["width"] > 100 and image["height"] > 100, image
        assert image["shownWidth"] > 100, image
        assert image["colours"] > 5, image
    assert [s["id"] for s in seen["sections"]] == list(SECTION_HEADINGS)
    assert [s["heading"] for s in seen["sections"]] == list(SECTION_HEADINGS.values())
    assert all(s["shownHeight"] > 0 for s in seen["sections"])


def test_full_report_loads_cleanly_with_every_figure_and_section(tmp_path):
    written = write_report(sample.full_inputs(), tmp_path / "report")
    seen = browser.inspect_page(written.page, tmp_path)
    assert seen["title"] == "Customer segments at 2011-12-01"
    assert_seen_complete(seen, {p.name for p in written.figures})
    assert len(seen["images"]) == 8  # one segment x cluster heatmap: the primary model's


def _png(colour_fill=None) -> bytes:
    buffer = io.BytesIO()
    PilImage.new("RGB", (200, 150), colour_fill or "white").save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_check_itself_notices_broken_and_blank_images(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(
        render_page(
            "bad",
            "page",
            [
                Section(
                    "only",
                    "Only",
                    images=(
                        Image("blank.png", _png(), "a blank image"),
                        Image("broken.png", b"\x89PNG but not really", "a broken image"),
                    ),
                )
            ],
        ),
        encoding="utf-8",
    )
    seen = browser.inspect_page(page, tmp_path)
    by_file = {image["file"]: image for image in seen["images"]}
    assert by_file["blank.png"]["decoded"] and by_file["blank.png"]["colours"] == 1
    assert not by_file["broken.png"]["decoded"] and by_file["broken.png"]["width"] == 0
    assert len(seen["loadErrors"]) == 1


def test_missing_chromium_fails_under_ci_and_skips_locally(monkeypatch):
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    monkeypatch.setattr(browser.os, "access", lambda path, mode: False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="install_chromium.sh"):
        browser.chromium_path()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        browser.chromium_path()
