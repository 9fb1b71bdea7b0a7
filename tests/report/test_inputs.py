from custseg import tables
from custseg.report.inputs import gather_report_inputs
from tests.report import warehouse_builder as wb


def frame(spark, name, rows):
    return wb.frame_of(spark, tables.ALL_TABLES[name], rows)


def test_first_run_without_clusters_gives_rfm_aggregates_and_empty_cluster_frames(spark):
    earlier = wb.rfm_rows(wb.EARLIER, range(12), shift=0)
    latest = wb.rfm_rows(wb.LATEST, range(4, 20), shift=1)
    frames = {
        "customer_rfm": frame(spark, "customer_rfm", earlier + latest),
        "segment_summary": frame(
            spark,
            "segment_summary",
            wb.segment_summary_rows(earlier) + wb.segment_summary_rows(latest),
        ),
    }
    inputs = gather_report_inputs(
        frames, wb.LATEST, 5, ["log_recency", "log_frequency"], sample_size=100
    )
    assert inputs.as_of == wb.LATEST and inputs.features == ("log_recency", "log_frequency")
    assert inputs.rf_grid["customers"].sum() == 16
    assert set(inputs.segment_summary["as_of"]) == {wb.LATEST}
    assert inputs.segment_summary["customers"].sum() == 16
    assert sorted(set(inputs.segment_history["as_of"])) == [wb.EARLIER, wb.LATEST]
    assert set(inputs.histograms["metric"]) == {"recency_days", "frequency", "monetary"}
    assert inputs.histograms.groupby("metric")["customers"].sum().to_dict() == {
        "recency_days": 16,
        "frequency": 16,
        "monetary": 16,
    }
    for empty in (
        inputs.model_selection,
        inputs.model_comparison,
        inputs.projection,
        inputs.crosstab,
        inputs.cluster_profiles,
        inputs.transitions,
    ):
        assert empty.empty
    assert inputs.explained_variance == ()
