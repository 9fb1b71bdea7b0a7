import pandas as pd

from custseg.layer1_core import tables
from custseg.layer3_stages.report.inputs import PrimaryModel, gather_report_inputs, primary_model
from tests.report import sample_inputs as sample
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
        frames, wb.LATEST, 5, ["log_recency", "log_frequency"], min_k=3, sample_size=100
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
        inputs.cluster_split,
    ):
        assert empty.empty
    assert inputs.explained_variance == () and inputs.primary is None and inputs.min_k == 3


def test_the_primary_model_is_the_row_the_cluster_stage_flagged():
    selection = sample.model_selection()
    selection["is_primary"] = (selection["algorithm"] == "bisecting_kmeans") & (selection["k"] == 5)
    assert primary_model(selection, 3) == PrimaryModel("bisecting_kmeans", 5, flagged=True)
    assert primary_model(pd.DataFrame(), 3) is None


def test_runs_before_the_flag_get_the_automatic_rule_applied_by_the_report():
    """Null flags (the column added to an older table) or no column at all: of the chosen
    rows the lowest Davies-Bouldin, then the higher silhouette, then KMeans first."""
    selection = sample.model_selection().assign(is_primary=None)
    chosen = selection["k"] == 6  # both algorithms chose k=6: same Davies-Bouldin
    selection["chosen"] = chosen
    assert primary_model(selection, 3) == PrimaryModel("kmeans", 6, flagged=False)
    selection.loc[chosen & (selection["algorithm"] == "bisecting_kmeans"), "silhouette"] = 0.9
    assert primary_model(selection, 3) == PrimaryModel("bisecting_kmeans", 6, flagged=False)
    selection.loc[chosen & (selection["algorithm"] == "kmeans"), "davies_bouldin"] = 0.1
    assert primary_model(selection.drop(columns="is_primary"), 3) == PrimaryModel(
        "kmeans", 6, flagged=False
    )


def test_a_profile_feature_without_the_profiles_table_leaves_only_the_projection_out(spark):
    """The clusters exist but customer_profiles was removed (or the config changed after
    clustering): the report still gathers everything else instead of failing."""
    rfm = wb.rfm_rows(wb.LATEST, range(12), shift=0)
    frames = {
        "customer_rfm": frame(spark, "customer_rfm", rfm),
        "customer_clusters": frame(spark, "customer_clusters", wb.cluster_rows(rfm)),
        "model_selection": frame(spark, "model_selection", wb.model_selection_rows(wb.LATEST)),
    }
    inputs = gather_report_inputs(
        frames, wb.LATEST, 5, ["log_recency", "days_since_signup"], min_k=3, sample_size=100
    )
    assert inputs.projection.empty and inputs.explained_variance == ()
    assert inputs.rf_grid["customers"].sum() == 12 and inputs.primary is not None
