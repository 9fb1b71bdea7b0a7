"""Hand-built, mutually consistent input tables for the report stage.

The stages that write these tables are developed alongside; the report is tested against
tables made here with ``delta_io.write_table`` so it depends only on the specs. Values are
arithmetic on the customer number, so every count below can be recomputed by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from custseg.layer1_core import tables
from custseg.layer2_io import delta_io
from custseg.layer2_io.schemas import column_type, table_schema

EARLIER = dt.date(2011, 11, 1)
LATEST = dt.date(2011, 12, 1)
MODELS = (("bisecting_kmeans", 4), ("bisecting_kmeans", 5), ("kmeans", 4), ("kmeans", 5))
CLUSTER_NAMES = (
    "Recent big spenders",
    "Occasional buyers",
    "Lapsed one-timers",
    "Frequent regulars",
    "New small baskets",
)

# A coarse R x F map (rows: r_score 1..5, columns: f_score 1..5).
SEGMENT_GRID = (
    ("Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose"),
    ("Hibernating", "Hibernating", "At Risk", "At Risk", "At Risk"),
    ("About to Sleep", "About to Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"),
    (
        "Promising",
        "Potential Loyalists",
        "Potential Loyalists",
        "Loyal Customers",
        "Loyal Customers",
    ),
    ("New Customers", "Potential Loyalists", "Potential Loyalists", "Champions", "Champions"),
)

SEGMENT_ORDER = (
    "Champions",
    "Loyal Customers",
    "Potential Loyalists",
    "New Customers",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "At Risk",
    "Can't Lose",
    "Hibernating",
)


def customer_key(number: int) -> str:
    return hashlib.sha256(f"customer-{number}".encode()).hexdigest()


def _rfm_row(number: int, as_of: dt.date, shift: int) -> dict:
    r_score = 1 + (number + shift) % 5
    f_score = 1 + (number // 5 + shift) % 5
    return {
        "customer_key": customer_key(number),
        "as_of": as_of,
        "recency_days": 5 + 60 * (5 - r_score) + number % 17,
        "frequency": f_score * 2 + number % 3,
        "monetary": round(20.0 + 35.5 * f_score * (1 + number % 7), 2),
        "r_score": r_score,
        "f_score": f_score,
        "m_score": 1 + (number // 2) % 5,
        "frequency_rank": number + 1,
        "segment": SEGMENT_GRID[r_score - 1][f_score - 1],
    }


def rfm_rows(
    as_of: dt.date, numbers: Iterable[int], shift: int, previous: dict[str, str] | None = None
) -> list[dict]:
    rows = [_rfm_row(n, as_of, shift) for n in numbers]
    for row in rows:
        row["previous_segment"] = (previous or {}).get(row["customer_key"])
    return rows


def cluster_id_of(row: dict, k: int, algorithm: str) -> int:
    offset = 0 if algorithm == "kmeans" else 1
    return (row["r_score"] + row["f_score"] + offset) % k


def cluster_rows(rfm: list[dict]) -> list[dict]:
    return [
        {
            "customer_key": row["customer_key"],
            "as_of": row["as_of"],
            "algorithm": algorithm,
            "k": k,
            "cluster_id": cluster_id_of(row, k, algorithm),
            "cluster_name": CLUSTER_NAMES[cluster_id_of(row, k, algorithm)],
            "distance_to_centre": 0.1 * (row["m_score"] + cluster_id_of(row, k, algorithm)),
            "model_as_of": row["as_of"],
        }
        for row in rfm
        for algorithm, k in MODELS
    ]


def segment_summary_rows(rfm: list[dict]) -> list[dict]:
    customers = Counter(r["segment"] for r in rfm)
    revenue = Counter()
    for r in rfm:
        revenue[r["segment"]] += r["monetary"]
    total_customers, total_revenue = len(rfm), sum(revenue.values())
    rows = []
    for segment in sorted(customers):
        members = [r for r in rfm if r["segment"] == segment]
        mean = lambda col, members=members: sum(m[col] for m in members) / len(members)  # noqa: E731
        rows.append(
            {
                "as_of": rfm[0]["as_of"],
                "segment": segment,
                "segment_order": SEGMENT_ORDER.index(segment),
                "customers": customers[segment],
                "customer_share": customers[segment] / total_customers,
                "revenue": revenue[segment],
                "revenue_share": revenue[segment] / total_revenue,
                "mean_recency_days": mean("recency_days"),
                "median_recency_days": mean("recency_days"),
                "mean_frequency": mean("frequency"),
                "median_frequency": mean("frequency"),
                "mean_monetary": mean("monetary"),
                "median_monetary": mean("monetary"),
                "description": f"What {segment} customers have in common",
                "actions": f"Contact {segment} customers\nMeasure the response",
            }
        )
    return rows


def transition_rows(
    previous: list[dict], current: list[dict], as_of: dt.date, previous_as_of: dt.date
) -> list[dict]:
    before = {r["customer_key"]: r["segment"] for r in previous}
    after = {r["customer_key"]: r["segment"] for r in current}
    moves = Counter((before.get(key), after.get(key)) for key in set(before) | set(after))
    return [
        {
            "as_of": as_of,
            "previous_as_of": previous_as_of,
            "from_segment": f,
            "to_segment": t,
            "customers": n,
        }
        for (f, t), n in sorted(moves.items(), key=str)
    ]


def model_selection_rows(as_of: dt.date) -> list[dict]:
    """The sweep without ``is_primary``, as an older custseg wrote it (the report falls back)."""
    return [
        {
            "as_of": as_of,
            "algorithm": algorithm,
            "k": k,
            "inertia": 400.0 / k + (algorithm == "kmeans") * 3,
            "silhouette": 0.3 + 0.02 * ((k * 7) % 5),
            "davies_bouldin": 0.7 + 0.03 * ((k * 3) % 4),
            "calinski_harabasz": 100.0 + k,
            "smallest_cluster_share": 0.05,
            "seconds": 1.5,
            "sample_size": 60,
            "chosen": algorithm == "kmeans" and k == 4,
            "saved": k in (4, 5),
        }
        for algorithm in ("kmeans", "bisecting_kmeans")
        for k in range(2, 8)
    ]


def model_comparison_rows(as_of: dt.date) -> list[dict]:
    return [
        {
            "as_of": as_of,
            "k": k,
            "kmeans_inertia": 100.0 / k,
            "bisecting_inertia": 110.0 / k,
            "kmeans_silhouette": 0.41,
            "bisecting_silhouette": 0.38,
            "kmeans_davies_bouldin": 0.8,
            "bisecting_davies_bouldin": 0.85,
            "kmeans_calinski_harabasz": 120.0,
            "bisecting_calinski_harabasz": 115.0,
            "adjusted_rand_index": 0.7,
        }
        for k in (4, 5)
    ]


def feature_rows(profile: dict, means: dict) -> list[dict]:
    """cluster_features rows of a profile: means, medians and centre alike, z-scores 0."""
    keys = {c: profile[c] for c in ("as_of", "algorithm", "k", "cluster_id")}
    return [
        {**keys, "feature": f, "mean": v, "median": v, "centre": v, "z_score": 0.0}
        for f, v in means.items()
    ]


def profile_and_crosstab_rows(
    rfm: list[dict], clusters: list[dict]
) -> tuple[list[dict], list[dict], list[dict]]:
    """cluster_profiles, cluster_features and segment_cluster_crosstab rows."""
    by_key = {r["customer_key"]: r for r in rfm}
    total_revenue = sum(r["monetary"] for r in rfm)
    profiles, features, crosstab = [], [], Counter()
    for algorithm, k in MODELS:
        members = [c for c in clusters if c["algorithm"] == algorithm and c["k"] == k]
        for cluster_id in sorted({c["cluster_id"] for c in members}):
            inside = [by_key[c["customer_key"]] for c in members if c["cluster_id"] == cluster_id]
            means = {
                col: sum(r[col] for r in inside) / len(inside)
                for col in ("recency_days", "frequency", "monetary")
            }
            profiles.append(
                {
                    "as_of": rfm[0]["as_of"],
                    "algorithm": algorithm,
                    "k": k,
                    "cluster_id": cluster_id,
                    "cluster_name": CLUSTER_NAMES[cluster_id],
                    "customers": len(inside),
                    "customer_share": len(inside) / len(rfm),
                    "revenue_share": sum(r["monetary"] for r in inside) / total_revenue,
                    **{f"mean_{c}": v for c, v in means.items()},
                    "actions": f"Offer for {CLUSTER_NAMES[cluster_id]}",
                    "match_distance": None,
                    "model_cluster": cluster_id,
                }
            )
            features += feature_rows(profiles[-1], means)
        for c in members:
            crosstab[(algorithm, k, by_key[c["customer_key"]]["segment"], c["cluster_id"])] += 1
    crosstab_rows = [
        {
            "as_of": rfm[0]["as_of"],
            "algorithm": a,
            "k": k,
            "segment": s,
            "cluster_id": i,
            "cluster_name": CLUSTER_NAMES[i],
            "customers": n,
        }
        for (a, k, s, i), n in sorted(crosstab.items())
    ]
    return profiles, features, crosstab_rows


_EMPTY_VALUES = {"integer": 0, "bigint": 0, "double": 0.0, "string": "", "boolean": False}


def _value(row: dict, column: tables.Column):
    """The row's value, money in cents as the stages write it; a column added to the spec
    later gets a neutral value if required."""
    type_name = column_type(column).simpleString()
    if isinstance(row.get(column.name), float) and type_name.startswith("decimal"):
        return Decimal(repr(row[column.name])).quantize(Decimal("0.01"), ROUND_HALF_UP)
    if column.name in row or column.nullable:
        return row.get(column.name)
    if type_name.startswith("map"):
        return {}
    if type_name.startswith("array"):
        return []
    if type_name == "date":
        return row["as_of"]
    if type_name.startswith("decimal"):
        return Decimal(0)
    return _EMPTY_VALUES[type_name]


def frame_of(spark, spec: tables.TableSpec, rows: list[dict]):
    """A DataFrame with the spec's schema from row dicts."""
    return spark.createDataFrame(
        [tuple(_value(row, c) for c in spec.columns) for row in rows], table_schema(spec)
    )


def write_rows(
    spark, settings, spec: tables.TableSpec, rows: list[dict], mode: str = "overwrite"
) -> None:
    delta_io.write_table(
        spark, settings.warehouse_root, spec, frame_of(spark, spec, rows), mode=mode
    )


def build_warehouse(
    spark, settings, customers: int = 60, with_history: bool = True, with_clusters: bool = True
) -> dict[str, list[dict]]:
    """Writes every report input; returns the rows written per table name.

    With history, customers 0..customers-11 exist at EARLIER and 5..customers-1 at LATEST
    (five new, five gone); the scores shift by one between the dates so segments move.
    """
    latest_numbers = range(5, customers) if with_history else range(customers)
    written: dict[str, list[dict]] = {}
    earlier: list[dict] = []
    if with_history:
        earlier = rfm_rows(EARLIER, range(0, customers - 10), shift=0)
    previous = {r["customer_key"]: r["segment"] for r in earlier}
    latest = rfm_rows(LATEST, latest_numbers, shift=1, previous=previous)
    written["customer_rfm"] = earlier + latest
    written["segment_summary"] = (
        segment_summary_rows(earlier) if earlier else []
    ) + segment_summary_rows(latest)
    if with_history:
        written["segment_transitions"] = transition_rows(earlier, latest, LATEST, EARLIER)
    if with_clusters:
        clusters = cluster_rows(latest)
        profiles, features, crosstab = profile_and_crosstab_rows(latest, clusters)
        written["customer_clusters"] = (cluster_rows(earlier) if earlier else []) + clusters
        written["model_selection"] = model_selection_rows(LATEST)
        written["model_comparison"] = model_comparison_rows(LATEST)
        written["cluster_profiles"] = profiles
        written["cluster_features"] = features
        written["segment_cluster_crosstab"] = crosstab
    for name, rows in written.items():
        write_rows(spark, settings, tables.ALL_TABLES[name], rows)
    return written
