"""Each figure, drawn from small aggregates, renders to a PNG that is not blank."""

import io

import numpy as np
import pytest
from matplotlib.image import imread

from custseg.layer3_stages.report import cluster_figures, history_figures, plotting, segment_figures
from tests.report import sample_inputs as sample


def decoded(png: bytes) -> np.ndarray:
    return imread(io.BytesIO(png), format="png")


def assert_not_blank(png: bytes) -> None:
    pixels = decoded(png)[..., :3]
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert pixels.std() > 0.05
    distinct_colours = np.unique(pixels.reshape(-1, 3).round(2), axis=0)
    assert len(distinct_colours) > 20


def texts(figure) -> list[str]:
    return [t.get_text() for axes in figure.axes for t in axes.texts]


def titles(figure) -> list[str]:
    return [axes.get_title() for axes in figure.axes]


def test_png_bytes_are_a_png_of_the_figure_size():
    figure = segment_figures.rf_grid_heatmap(sample.rf_grid(), 5)
    png = plotting.png_bytes(figure, dpi=50)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    height, width = decoded(png).shape[:2]
    assert (width, height) == (
        round(figure.get_figwidth() * 50),
        round(figure.get_figheight() * 50),
    )


def test_treemap_labels_every_large_segment_with_its_share():
    summary = sample.segment_summary()
    figure = segment_figures.segment_treemap(summary)
    assert_not_blank(plotting.png_bytes(figure))
    labels = texts(figure)
    hibernating_share = (
        summary.set_index("segment").loc["Hibernating", "customers"] / summary["customers"].sum()
    )
    assert any(
        label.startswith("Hibernating") and f"{hibernating_share:.1%}" in label for label in labels
    )
    assert titles(figure) == [
        "Customers per segment (total 2,000)",
        "Revenue per segment (total 345,000)",
    ]


def test_treemap_colours_a_segment_the_same_in_both_panels():
    figure = segment_figures.segment_treemap(sample.segment_summary())
    colour_sets = [{tuple(p.get_facecolor()) for p in axes.patches} for axes in figure.axes]
    assert colour_sets[0] == colour_sets[1]
    assert len(colour_sets[0]) == len(sample.SEGMENTS)


def test_rf_grid_writes_count_and_segment_in_each_cell():
    grid = sample.rf_grid()
    figure = segment_figures.rf_grid_heatmap(grid, 5)
    assert_not_blank(plotting.png_bytes(figure))
    cells = texts(figure)
    assert len(cells) == 25
    best = grid[(grid.r_score == 5) & (grid.f_score == 5)].iloc[0]
    assert f"{best.customers:,}\n{best.segment}" in cells


def test_rfm_distributions_has_a_panel_per_metric_with_its_median():
    figure = segment_figures.rfm_distributions(sample.histograms())
    assert_not_blank(plotting.png_bytes(figure))
    assert [t.split("\n")[0] for t in titles(figure)] == list(
        segment_figures.METRIC_TITLES.values()
    )
    monetary_axes = figure.axes[2]
    assert monetary_axes.get_xscale() == "function"  # log(1 + x) spacing, original units
    assert len(monetary_axes.patches) == 10


def test_k_sweep_draws_one_line_per_algorithm_in_each_panel():
    figure = cluster_figures.k_sweep_curves(sample.model_selection())
    assert_not_blank(plotting.png_bytes(figure))
    assert [len(axes.lines) for axes in figure.axes] == [2, 2, 2]
    assert [t.split(" ")[0] for t in titles(figure)] == ["Inertia", "Silhouette", "Davies-Bouldin"]


def test_k_sweep_shades_the_ks_below_min_k_and_labels_the_recommended_model():
    figure = cluster_figures.k_sweep_curves(
        sample.model_selection(), min_k=3, primary=("kmeans", 4)
    )
    assert_not_blank(plotting.png_bytes(figure))
    for axes in figure.axes[:3]:
        (shaded,) = axes.patches
        assert shaded.get_x() == 1.5 and shaded.get_width() == 1.0  # k=2, up to min_k=3
        assert [t.get_text() for t in axes.texts] == [cluster_figures.RECOMMENDED_LABEL]
        assert axes.texts[0].xy[0] == 4
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert "k below 3: never picked" in legend
    plain = cluster_figures.k_sweep_curves(sample.model_selection(), min_k=2)
    assert all(not axes.patches and not axes.texts for axes in plain.axes[:3])


def test_k_sweep_skips_missing_metrics():
    selection = sample.model_selection()
    selection.loc[selection.algorithm == "bisecting_kmeans", "silhouette"] = np.nan
    figure = cluster_figures.k_sweep_curves(selection)
    assert [len(axes.lines) for axes in figure.axes] == [2, 1, 2]


def test_pca_projection_has_a_panel_per_model_coloured_by_cluster():
    figure = cluster_figures.pca_projection(sample.projection(), (0.62, 0.27))
    assert_not_blank(plotting.png_bytes(figure))
    assert sorted(titles(figure)) == sorted(
        f"{plotting.model_label(a, k)} (300 customers sampled)" for a, k in sample.MODELS
    )
    kmeans_5 = next(a for a in figure.axes if a.get_title().startswith("KMeans, k=5"))
    assert len(kmeans_5.collections) == 5
    assert kmeans_5.get_xlabel() == "PC1 (62% of variance)"


@pytest.mark.parametrize("k", [4, 5])
def test_segment_cluster_heatmap_shows_both_algorithms_for_one_k(k):
    crosstab = sample.crosstab()
    figure = cluster_figures.segment_cluster_heatmap(crosstab, k)
    assert_not_blank(plotting.png_bytes(figure))
    assert titles(figure)[:2] == [f"Bisecting KMeans, k={k}", f"KMeans, k={k}"]
    expected_nonzero = int(
        (crosstab[(crosstab.k == k) & (crosstab.algorithm == "kmeans")].customers > 0).sum()
    )
    assert len(figure.axes[1].texts) == expected_nonzero


def test_segment_sizes_over_time_draws_a_line_per_segment():
    figure = history_figures.segment_sizes_over_time(sample.segment_history())
    assert_not_blank(plotting.png_bytes(figure))
    assert len(figure.axes[0].lines) == len(sample.SEGMENTS)
    assert all(len(line.get_xdata()) == 3 for line in figure.axes[0].lines)


def test_transition_matrix_labels_new_and_gone_customers():
    figure = history_figures.transition_matrix(sample.transitions())
    assert_not_blank(plotting.png_bytes(figure))
    axes = figure.axes[0]
    rows = [t.get_text() for t in axes.get_yticklabels()]
    columns = [t.get_text() for t in axes.get_xticklabels()]
    assert (
        rows[-1] == history_figures.NEW_CUSTOMERS_LABEL
        and columns[-1] == history_figures.GONE_CUSTOMERS_LABEL
    )
    assert sorted(rows[:-1]) == rows[:-1] == sorted(sample.SEGMENTS)


def test_segment_colours_are_stable_and_distinct():
    first = plotting.segment_colours(["b", "a", "c"])
    assert first == plotting.segment_colours(["c", "a", "b", "a"])
    assert len(set(first.values())) == 3
