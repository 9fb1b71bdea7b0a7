"""Small pandas aggregates shaped like what ``gather_report_inputs`` returns.

Figures, the page and the browser check are tested on these without Spark, which keeps
those tests to a second or two each.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd

from custseg.layer3_stages.report.inputs import PrimaryModel, ReportInputs

AS_OF = dt.date(2011, 12, 1)
SEGMENTS = (
    "Champions",
    "Loyal Customers",
    "Potential Loyalists",
    "New Customers",
    "At Risk",
    "Hibernating",
)
MODELS = (("kmeans", 4), ("kmeans", 5), ("bisecting_kmeans", 4), ("bisecting_kmeans", 5))
CLUSTER_NAMES = (
    "Recent big spenders",
    "Occasional buyers",
    "Lapsed one-timers",
    "Frequent regulars",
    "New small baskets",
)


def segment_summary() -> pd.DataFrame:
    customers = np.array([120, 300, 260, 90, 410, 820])
    revenue = np.array([96_000.0, 120_500.0, 41_000.0, 5_400.0, 60_100.0, 22_000.0])
    return pd.DataFrame(
        {
            "as_of": AS_OF,
            "segment": SEGMENTS,
            "customers": customers,
            "customer_share": customers / customers.sum(),
            "revenue": revenue,
            "revenue_share": revenue / revenue.sum(),
            "median_recency_days": [8.0, 30.0, 20.0, 5.0, 150.0, 300.0],
            "median_frequency": [12.0, 7.0, 3.0, 1.0, 4.0, 1.0],
            "median_monetary": [800.0, 400.0, 150.0, 60.0, 140.0, 27.0],
            "description": [f"About {s}" for s in SEGMENTS],
            "actions": [f"Reward {s}\nAsk for a review" for s in SEGMENTS],
        }
    )


def segment_history() -> pd.DataFrame:
    dates = (dt.date(2011, 10, 1), dt.date(2011, 11, 1), AS_OF)
    return pd.DataFrame(
        [
            (d, s, 100 + 40 * i + 25 * j)
            for i, d in enumerate(dates)
            for j, s in enumerate(SEGMENTS)
        ],
        columns=["as_of", "segment", "customers"],
    )


def rf_grid() -> pd.DataFrame:
    return pd.DataFrame(
        [
            (r, f, 10 + 7 * r * f, SEGMENTS[(r + f) % len(SEGMENTS)])
            for r in range(1, 6)
            for f in range(1, 6)
        ],
        columns=["r_score", "f_score", "customers", "segment"],
    )


def histograms() -> pd.DataFrame:
    rows = []
    for metric, log_scale, low, high in (
        ("recency_days", False, 0.0, 360.0),
        ("frequency", True, 1.0, 150.0),
        ("monetary", True, 4.0, 30_000.0),
    ):
        forward = np.log1p if log_scale else (lambda v: v)
        back = np.expm1 if log_scale else (lambda v: v)
        edges = np.linspace(forward(low), forward(high), 11)
        for b in range(10):
            rows.append(
                (
                    metric,
                    b,
                    float(back(edges[b])),
                    float(back(edges[b + 1])),
                    400 // (b + 1),
                    float(back(edges[3])),
                    log_scale,
                )
            )
    return pd.DataFrame(
        rows, columns=["metric", "bin", "lower", "upper", "customers", "median", "log_scale"]
    )


def model_selection() -> pd.DataFrame:
    return pd.DataFrame(
        [
            (
                AS_OF,
                a,
                k,
                900.0 / k + 20 * (a == "bisecting_kmeans"),
                0.30 + 0.02 * ((k * 7) % 5),
                0.70 + 0.04 * ((k * 3) % 4),
                a == "kmeans" and k == 4,
                k in (4, 5),
                a == "kmeans" and k == 4,
            )
            for a in ("kmeans", "bisecting_kmeans")
            for k in range(2, 11)
        ],
        columns=[
            "as_of",
            "algorithm",
            "k",
            "inertia",
            "silhouette",
            "davies_bouldin",
            "chosen",
            "saved",
            "is_primary",
        ],
    )


def model_comparison() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "as_of": AS_OF,
            "k": [4, 5],
            "kmeans_silhouette": [0.41, 0.39],
            "bisecting_silhouette": [0.38, 0.36],
            "kmeans_davies_bouldin": [0.8, 0.84],
            "bisecting_davies_bouldin": [0.86, 0.9],
            "adjusted_rand_index": [0.7, 0.65],
        }
    )


def projection() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for algorithm, k in MODELS:
        for i in range(300):
            cluster = i % k
            rows.append(
                (
                    algorithm,
                    k,
                    cluster,
                    CLUSTER_NAMES[cluster],
                    float(rng.normal(cluster, 0.4)),
                    float(rng.normal(-cluster, 0.4)),
                )
            )
    return pd.DataFrame(
        rows, columns=["algorithm", "k", "cluster_id", "cluster_name", "pc1", "pc2"]
    )


def crosstab() -> pd.DataFrame:
    return pd.DataFrame(
        [
            (AS_OF, a, k, s, c, CLUSTER_NAMES[c], (i * 13 + c * 29) % 90)
            for a, k in MODELS
            for i, s in enumerate(SEGMENTS)
            for c in range(k)
        ],
        columns=["as_of", "algorithm", "k", "segment", "cluster_id", "cluster_name", "customers"],
    )


def cluster_profiles() -> pd.DataFrame:
    return pd.DataFrame(
        [
            (
                AS_OF,
                a,
                k,
                c,
                CLUSTER_NAMES[c],
                100 + c,
                1.0 / k,
                1.0 / k,
                {"recency_days": 10.0 + 40 * c, "frequency": 9.0 - c, "monetary": 700.0 - 100 * c},
                f"Plan for {CLUSTER_NAMES[c]}",
            )
            for a, k in MODELS
            for c in range(k)
        ],
        columns=[
            "as_of",
            "algorithm",
            "k",
            "cluster_id",
            "cluster_name",
            "customers",
            "customer_share",
            "revenue_share",
            "feature_means",
            "actions",
        ],
    )


def transitions() -> pd.DataFrame:
    rows = [
        (AS_OF, dt.date(2011, 11, 1), f, t, (i * 7 + j * 3) % 40)
        for i, f in enumerate(SEGMENTS + (None,))
        for j, t in enumerate(SEGMENTS + (None,))
        if not (f is None and t is None)
    ]
    return pd.DataFrame(
        rows, columns=["as_of", "previous_as_of", "from_segment", "to_segment", "customers"]
    )


def cluster_split() -> pd.DataFrame:
    """KMeans k=4 into k=5: cluster 3 is halved into 3 and 4, the others stay whole but for
    a 0.5% trickle the report leaves out."""
    rows = [("kmeans", c, CLUSTER_NAMES[c], c, CLUSTER_NAMES[c], 200) for c in range(3)]
    rows += [("kmeans", 3, CLUSTER_NAMES[3], t, CLUSTER_NAMES[t], 100) for t in (3, 4)]
    rows += [("kmeans", 0, CLUSTER_NAMES[0], 4, CLUSTER_NAMES[4], 1)]
    return pd.DataFrame(
        rows,
        columns=[
            "algorithm",
            "from_cluster_id",
            "from_cluster_name",
            "to_cluster_id",
            "to_cluster_name",
            "customers",
        ],
    )


def full_inputs() -> ReportInputs:
    """A report with every section filled: clusters, three runs and transitions."""
    return ReportInputs(
        as_of=AS_OF,
        score_bins=5,
        features=("log_recency", "log_frequency", "log_monetary"),
        min_k=3,
        primary=PrimaryModel("kmeans", 4, flagged=True),
        segment_summary=segment_summary(),
        segment_history=segment_history(),
        rf_grid=rf_grid(),
        histograms=histograms(),
        model_selection=model_selection(),
        model_comparison=model_comparison(),
        projection=projection().query("algorithm == 'kmeans' and k == 4"),  # the primary's
        explained_variance=(0.62, 0.27),
        crosstab=crosstab(),
        cluster_profiles=cluster_profiles(),
        transitions=transitions(),
        cluster_split=cluster_split(),
    )


def first_run_inputs() -> ReportInputs:
    """The first run before any clustering: RFM sections only, no history."""
    return dataclasses.replace(
        full_inputs(),
        segment_history=segment_history().query("as_of == @AS_OF"),
        primary=None,
        model_selection=pd.DataFrame(),
        model_comparison=pd.DataFrame(),
        projection=pd.DataFrame(),
        explained_variance=(),
        crosstab=pd.DataFrame(),
        cluster_profiles=pd.DataFrame(),
        transitions=pd.DataFrame(),
        cluster_split=pd.DataFrame(),
    )
