"""The report's table of contents and the names of the files it leaves on disk.

Held in one place because the section builders, the page writer and whoever links to a
figure from outside all have to agree on them; the order of ``SECTION_HEADINGS`` is the
reading order of the page.
"""

from __future__ import annotations

SECTION_HEADINGS = {
    "overview": "Overview",
    "segments": "Segments: customers and revenue",
    "rf-grid": "Recency x frequency grid",
    "distributions": "Recency, frequency and monetary distributions",
    "cluster-profiles": "Recommended clusters and actions",
    "projection": "Recommended clusters in two dimensions (PCA)",
    "k-sweep": "How the model was chosen: KMeans and Bisecting KMeans compared",
    "four-vs-five": "Four clusters or five: what the fifth one splits off",
    "over-time": "Segment sizes over time",
    "transitions": "Segment transitions",
    "other-models": "Appendix: the other kept models",
}

TREEMAP_FILE = "segment_treemap.png"
RF_GRID_FILE = "rf_grid_heatmap.png"
DISTRIBUTIONS_FILE = "rfm_distributions.png"
K_SWEEP_FILE = "k_sweep.png"
PROJECTION_FILE = "pca_projection.png"
SEGMENT_CLUSTER_FILE = "segment_cluster_heatmap.png"
SIZES_OVER_TIME_FILE = "segment_sizes_over_time.png"
TRANSITIONS_FILE = "segment_transitions.png"
PAGE_FILE = "report.html"
