"""Each stage's typed summary: one readable console line, and ``as_dict`` with the very keys
and values the stage's summary dict had (the log file's line), optional keys only when set."""

from __future__ import annotations

import json

import pytest

from custseg.layer3_stages.clustering.summary import ClusterSummary, ScoreSummary
from custseg.layer3_stages.ingest.reconcile import IngestCounts
from custseg.layer3_stages.ingest.summary import IngestSummary
from custseg.layer3_stages.report.summary import ReportSummary
from custseg.layer3_stages.rfm.summary import RfmSummary

REASONS = {
    "return": 2355,
    "missing_customer_id": 706,
    "unparseable_purchase_time": 500,
    "invalid_unit_price": 306,
}
COUNTS = IngestCounts(
    rows_read=235616,
    rows_written=231749,
    rows_quarantined=3867,
    duplicates_removed=0,
    distinct_customers=4338,
    by_reason=REASONS,
    identical_lines=5,
)


def _ingest(**profiles) -> IngestSummary:
    profile_counts = None
    if profiles:
        profile_counts = IngestCounts(
            rows_read=7760,
            rows_written=7700,
            rows_quarantined=60,
            duplicates_removed=0,
            distinct_customers=7700,
            by_reason={"conflicting_profiles": 60},
        )
    return IngestSummary.of(
        files_read=12, files_skipped=0, counts=COUNTS, profile_counts=profile_counts
    )


def test_ingest_line_counts_lines_reasons_and_files():
    assert _ingest().line(50.2) == (
        "ingest: 235,616 lines read, 231,749 kept, 3,867 quarantined (returns 2,355, "
        "missing id 706, unparseable purchase time 500, ...), 12 files, 50 s"
    )
    assert (
        _ingest(profiles=True)
        .line(50)
        .endswith(
            ", 12 files, 7,760 profile rows (7,700 kept, 60 quarantined (conflicting profiles 60)), 50 s"
        )
    )
    nothing_new = IngestSummary.of(
        files_read=0, files_skipped=12, counts=IngestCounts.empty(), profile_counts=None
    )
    assert nothing_new.line(3.14) == "ingest: no new or changed files (12 unchanged), 3.1 s"


def test_ingest_as_dict_is_the_summary_dict_it_replaces():
    expected = {
        "files_read": 12,
        "files_skipped": 0,
        **COUNTS.as_summary(),
    }
    assert _ingest().as_dict() == expected
    assert list(_ingest().as_dict()) == list(expected)  # same order in the log file
    with_profiles = _ingest(profiles=True).as_dict()
    assert with_profiles["profiles"] == {
        "rows_read": 7760,
        "rows_written": 7700,
        "rows_quarantined": 60,
        "duplicates_removed": 0,
        "quarantined_by_reason": {"conflicting_profiles": 60},
    }
    json.dumps(with_profiles)


RFM = RfmSummary(
    as_of="2022-01-01",
    previous_as_of=None,
    window_days=None,
    bins=5,
    transactions_in_window=120000,
    customers_in_window=7824,
    customers_non_positive_monetary=12,
    customers_excluded_non_positive_monetary=12,
    customers_scored=7812,
    score_edges={"recency": [10.0, 30.0], "frequency": [1.0, 2.0], "monetary": [50.0, 90.0]},
    segments={"Champions": 900, "Lost": 1200, "Hibernating": 1620, "New": 0},
)


def test_rfm_line_names_the_as_of_scored_excluded_and_largest_segments():
    assert RFM.line(12.4) == (
        "rfm: as_of 2022-01-01, 7,812 customers scored, 12 excluded (monetary <= 0), "
        "4 segments (largest: Hibernating 1,620, Lost 1,200, Champions 900), 12 s"
    )
    assert list(RFM.as_dict()) == [
        "as_of",
        "previous_as_of",
        "window_days",
        "bins",
        "transactions_in_window",
        "customers_in_window",
        "customers_non_positive_monetary",
        "customers_excluded_non_positive_monetary",
        "customers_scored",
        "score_edges",
        "segments",
    ]
    assert RFM.as_dict()["previous_as_of"] is None  # always there, unlike an optional key


def _cluster(**changes) -> ClusterSummary:
    fields = {
        "as_of": "2022-01-01",
        "customers": 7812,
        "training_customers": 5000,
        "chosen_k": {"kmeans": 5, "bisecting_kmeans": 4},
        "primary": "kmeans_k5",
        "models": ["kmeans_k5", "bisecting_kmeans_k4", "kmeans_k4", "kmeans_k8"],
        "seconds": 80.3,
    }
    return ClusterSummary(**{**fields, **changes})


def test_cluster_and_score_lines_and_their_optional_profile_count():
    assert _cluster().line(81) == (
        "cluster: as_of 2022-01-01, 7,812 customers (5,000 sampled for training), "
        "k chosen kmeans 5 / bisecting_kmeans 4, 4 models kept, primary kmeans_k5, 1 min 21 s"
    )
    assert "customers_without_profile" not in _cluster().as_dict()
    with_profiles = _cluster(training_customers=7812, customers_without_profile=10)
    assert with_profiles.as_dict()["customers_without_profile"] == 10
    assert "7,812 customers, 10 without a profile, k chosen" in with_profiles.line(1)
    score = ScoreSummary(
        as_of="2022-02-01",
        model_as_of="2022-01-01",
        models=["kmeans_k5"],
        customers=7900,
        seconds=20.0,
    )
    assert score.line(20.4) == (
        "score: as_of 2022-02-01, 7,900 customers assigned to 1 model fitted at 2022-01-01, 20 s"
    )
    assert list(score.as_dict()) == ["as_of", "model_as_of", "models", "customers", "seconds"]


def test_report_line_names_the_rows_the_compaction_and_the_page():
    report = ReportSummary(
        as_of="2022-01-01",
        report_path="/r/2022-01-01/report.html",
        figures=[f"/r/2022-01-01/f{i}.png" for i in range(14)],
        segments_current_rows=7812,
        optimize={
            "runs": {"files_before": 30, "files_after": 1},
            "ingest_runs": {"files_before": 11, "files_after": 2},
        },
        registered_tables=["customer_rfm", "runs"],
    )
    assert report.line(20) == (
        "report: as_of 2022-01-01, 7,812 customers in segments_current, 2 tables compacted "
        "(41 -> 3 files), 14 figures, page /r/2022-01-01/report.html, 20 s"
    )
    assert report.as_dict()["optimize"]["runs"] == {"files_before": 30, "files_after": 1}


@pytest.mark.parametrize("summary", [_ingest(), RFM, _cluster()])
def test_summaries_are_frozen(summary):
    with pytest.raises(AttributeError):
        summary.as_of = "2000-01-01"
