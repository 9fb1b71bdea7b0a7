"""The page written for a run: every section, every figure embedded and saved as PNG."""

import base64
import dataclasses
import re

import pandas as pd
import pytest

from custseg.layer3_stages.report import contents
from custseg.layer3_stages.report.document import SECTION_HEADINGS, write_report
from tests.report import sample_inputs as sample
from tests.report.test_figures import assert_not_blank

ALL_FIGURES = {
    contents.TREEMAP_FILE,
    contents.RF_GRID_FILE,
    contents.DISTRIBUTIONS_FILE,
    contents.K_SWEEP_FILE,
    contents.PROJECTION_FILE,
    contents.SEGMENT_CLUSTER_FILE,
    contents.SIZES_OVER_TIME_FILE,
    contents.TRANSITIONS_FILE,
}


def embedded_images(page: str) -> dict[str, bytes]:
    found = re.findall(
        r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="[^"]*" '
        r'data-file="([^"]+)"',
        page,
    )
    return {name: base64.b64decode(data) for data, name in found}


@pytest.fixture(scope="module")
def full_report(tmp_path_factory):
    return write_report(sample.full_inputs(), tmp_path_factory.mktemp("report"), footer="test run")


def test_full_report_writes_every_figure_once_as_png_and_embedded(full_report):
    assert full_report.page.name == "report.html" and full_report.page.is_absolute()
    assert {p.name for p in full_report.figures} == ALL_FIGURES
    assert {p.name for p in full_report.page.parent.iterdir()} == ALL_FIGURES | {"report.html"}
    images = embedded_images(full_report.page.read_text(encoding="utf-8"))
    assert set(images) == ALL_FIGURES
    for path in full_report.figures:
        assert images[path.name] == path.read_bytes()
        assert_not_blank(images[path.name])


def test_full_report_has_every_section_in_order_and_no_missing_data_notes(full_report):
    page = full_report.page.read_text(encoding="utf-8")
    headings = re.findall(r'<section id="([^"]+)">\n<h2>([^<]+)</h2>', page)
    assert [a for a, _ in headings] == list(SECTION_HEADINGS)
    assert [h for _, h in headings] == list(SECTION_HEADINGS.values())
    assert 'class="note"' not in page
    assert "test run" in page


def test_full_report_tables_carry_segment_and_cluster_actions(full_report):
    page = full_report.page.read_text(encoding="utf-8")
    assert "<li>Reward Champions</li>" in page
    assert "<li>Plan for Lapsed one-timers</li>" in page
    assert "recency days 90.0; frequency 7.0; monetary 500.0" in page  # cluster 2's means
    assert page.count("<td>KMeans, k=5</td>") == 5 + 1  # its clusters, its quality row


def section_html(page: str, anchor: str) -> str:
    return re.search(rf'<section id="{anchor}">(.*?)</section>', page, re.S).group(1)


def test_the_cluster_part_leads_with_the_primary_model_and_appends_the_others(full_report):
    page = full_report.page.read_text(encoding="utf-8")
    cluster_anchors = ["cluster-profiles", "projection", "k-sweep", "four-vs-five"]
    assert [a for a in SECTION_HEADINGS if a in cluster_anchors] == cluster_anchors
    assert list(SECTION_HEADINGS)[-1] == "other-models"
    primary = section_html(page, "cluster-profiles")
    assert (
        "The recommended model is KMeans, k=4 (the cluster stage&#x27;s recommendation" in primary
    )
    headers = re.findall(r"<th>([^<]+)</th>", primary)
    assert headers == [
        "Cluster",
        "Name",
        "Customers",
        "Share of customers",
        "Share of revenue",
        "Mean recency days",
        "Mean frequency",
        "Mean monetary",
        "Recommended actions",
    ]
    assert primary.count("<tr><td") == 4  # the primary's four clusters, nothing else
    assert '<td class="number">90.0</td><td class="number">7.0</td>' in primary  # cluster 2
    assert f'data-file="{contents.SEGMENT_CLUSTER_FILE}"' in primary
    assert "from k=3 up" in section_html(page, "k-sweep")
    appendix = section_html(page, "other-models")
    assert appendix.count("<tr><td") == 4 + 5 + 5  # the other three models' clusters
    assert "<td>KMeans, k=4</td>" not in appendix and "<img" not in appendix
    assert "<b>KMeans, k=4</b>recommended clusters" in section_html(page, "overview")


def test_four_vs_five_follows_the_customers_of_each_k4_cluster(full_report):
    split = section_html(full_report.page.read_text(encoding="utf-8"), "four-vs-five")
    assert re.findall(r"<tr><td>([^<]+)</td>", split) == [
        "Bisecting KMeans, k=4",
        "Bisecting KMeans, k=5",
        "KMeans, k=4",
        "KMeans, k=5",
        "0: Recent big spenders",  # its 1-customer trickle to cluster 4 left out
        "1: Occasional buyers",
        "2: Lapsed one-timers",
        "3: Frequent regulars",  # the k=4 cluster split in two
        "3: Frequent regulars",
    ]
    assert '<td>4: New small baskets</td><td class="number">100</td>' in split
    assert "Cluster 3: Frequent regulars is the most divided" in split
    assert "holds 50% of its customers" in split


def test_first_run_without_clusters_keeps_every_section_and_explains_the_gaps(tmp_path):
    written = write_report(sample.first_run_inputs(), tmp_path)
    page = written.page.read_text(encoding="utf-8")
    assert re.findall(r'<section id="([^"]+)">', page) == list(SECTION_HEADINGS)
    assert {p.name for p in written.figures} == {
        contents.TREEMAP_FILE,
        contents.RF_GRID_FILE,
        contents.DISTRIBUTIONS_FILE,
    }
    assert page.count('class="note"') == 7  # the five cluster sections and the two of history
    assert "appears from the second as_of date on" in page


def test_rerun_removes_figures_the_new_run_no_longer_draws(tmp_path):
    write_report(sample.full_inputs(), tmp_path)
    write_report(sample.first_run_inputs(), tmp_path)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(
        [contents.TREEMAP_FILE, contents.RF_GRID_FILE, contents.DISTRIBUTIONS_FILE]
    )


def test_segment_table_follows_the_segment_map_order_when_given(tmp_path):
    summary = sample.segment_summary().assign(segment_order=[5, 4, 3, 2, 1, 0])
    inputs = sample.first_run_inputs()
    written = write_report(dataclasses.replace(inputs, segment_summary=summary), tmp_path)
    page = written.page.read_text(encoding="utf-8")
    rows = re.findall(r"<tr><td>([^<]+)</td>", page)
    assert rows[:6] == list(reversed(sample.SEGMENTS))


def test_transitions_of_a_first_run_with_only_new_customers_are_not_drawn(tmp_path):
    only_new = pd.DataFrame(
        {
            "as_of": [sample.AS_OF],
            "previous_as_of": [sample.AS_OF],
            "from_segment": [None],
            "to_segment": ["Champions"],
            "customers": [3],
        }
    )
    written = write_report(
        dataclasses.replace(sample.first_run_inputs(), transitions=only_new), tmp_path
    )
    assert contents.TRANSITIONS_FILE not in {p.name for p in written.figures}
