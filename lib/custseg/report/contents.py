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
    "k-sweep": "Choosing the number of clusters",
    "projection": "Customers in two dimensions (PCA)",
    "segment-cluster": "RFM segments x clusters",
    "cluster-profiles": "Cluster profiles and recommended actions",
    "over-time": "Segment sizes over time",
    "transitions": "Segment transitions",
}

TREEMAP_FILE = "segment_treemap.png"
RF_GRID_FILE = "rf_grid_heatmap.png"
DISTRIBUTIONS_FILE = "rfm_distributions.png"
K_SWEEP_FILE = "k_sweep.png"
PROJECTION_FILE = "pca_projection.png"
SIZES_OVER_TIME_FILE = "segment_sizes_over_time.png"
TRANSITIONS_FILE = "segment_transitions.png"
PAGE_FILE = "report.html"


def segment_cluster_file(k: int) -> str:
    return f"segment_cluster_k{int(k)}.png"
