"""The rfm stage end to end on a small Delta warehouse (pipeline.rfm)."""

import datetime as dt
import shutil

import pandas as pd
import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from custseg.layer1_core import tables
from custseg.layer1_core.config import Settings, replace
from custseg.layer2_io import delta_io
from custseg.layer2_io.run_context import RunContext
from custseg.layer2_io.schemas import table_schema
from custseg.layer4_commands import pipeline
from tests.rfm.factory import key, line, save_transactions

RUN = RunContext(run_id="test-run", started_at=dt.datetime(2011, 12, 10, 6, 0))
AS_OF_A = "2011-11-01"
AS_OF_B = "2011-12-10"

TWO_BIN_MAP = """
bins: 2
segments:
  - {name: Active loyal, r: 2, f: 2, description: recent and frequent, actions: [reward]}
  - {name: Active new, r: 2, f: 1, description: recent and rare, actions: [welcome]}
  - {name: Lapsed loyal, r: 1, f: 2, description: gone quiet after many orders, actions: [win back]}
  - {name: Lapsed, r: 1, f: 1, description: gone quiet, actions: [newsletter]}
"""


def _orders(customer, days):
    return [line(customer, f"2011-{day} 12:00:00", "10.00", f"{customer}-{day}") for day in days]


# At A (2011-11-01) four customers bought in late October and four in spring; four have
# one order and four have four orders, so with two bins every cell holds two customers.
BEFORE_A = (
    _orders("a1", ["10-01", "10-10", "10-20", "10-30"])
    + _orders("a2", ["10-02", "10-11", "10-21", "10-29"])
    + _orders("n1", ["10-31"])
    + _orders("n2", ["10-28"])
    + _orders("l1", ["03-01", "03-05", "03-10", "03-15"])
    + _orders("l2", ["04-01", "04-02", "04-03", "04-04"])
    + _orders("z1", ["02-01"])
    + _orders("z2", ["02-15"])
)
# Two customers whose returns outweigh their purchases are never scored (cleaning.returns=net).
NO_NET_SPEND = [
    line("refund_only", "2011-06-01 10:00:00", "-7.00", "C1", is_return=True),
    line("net_negative", "2011-05-01 10:00:00", "5.00", "B1"),
    line("net_negative", "2011-10-15 10:00:00", "-8.00", "C2", is_return=True),
]
# Between A and B (2011-12-10): n1 becomes a regular, n2 and z1 come back once, w1 and w2
# are new; a1, a2, l1, l2 and z2 buy nothing.
BETWEEN_A_AND_B = (
    _orders("n1", ["12-01", "12-03", "12-05"])
    + _orders("n2", ["12-07"])
    + _orders("z1", ["12-09"])
    + _orders("w1", ["12-08"])
    + _orders("w2", ["12-06"])
)

SEGMENTS_A = {
    "a1": "Active loyal",
    "a2": "Active loyal",
    "n1": "Active new",
    "n2": "Active new",
    "l1": "Lapsed loyal",
    "l2": "Lapsed loyal",
    "z1": "Lapsed",
    "z2": "Lapsed",
}
SEGMENTS_B = {
    "a1": "Lapsed loyal",
    "a2": "Lapsed loyal",
    "n1": "Active loyal",
    "n2": "Active new",
    "l1": "Lapsed loyal",
    "l2": "Lapsed loyal",
    "z1": "Active new",
    "z2": "Lapsed",
    "w1": "Active new",
    "w2": "Active new",
}


def _write_transactions(spark, settings, lines):
    save_transactions(spark, settings, lines)


def _slice(spark, settings, table, as_of):
    return delta_io.read_table(spark, settings.warehouse_root, table).where(
        F.col("as_of") == F.lit(as_of)
    )


def _segments_by_name(spark, settings, as_of, column="segment"):
    names = {key(n): n for n in [*SEGMENTS_B, "refund_only", "net_negative"]}
    rows = _slice(spark, settings, "customer_rfm", as_of).select("customer_key", column).collect()
    return {names[r[0]]: r[1] for r in rows}


def _run(spark, settings, as_of, **changes):
    """One stage run's summary, as the log file records it; ``as_of=None`` leaves rfm.as_of
    to its default."""
    return pipeline.run_stage(
        spark, replace(settings, **{"rfm.as_of": as_of, **changes}), RUN, "rfm"
    ).as_dict()


@pytest.fixture(scope="module")
def two_dates(spark, tmp_path_factory):
    """One warehouse scored at A and then at B (by default: the day after the last purchase).

    Two stage runs shared by the tests below.
    """
    root = tmp_path_factory.mktemp("rfm_stage")
    (root / "segments2.yaml").write_text(TWO_BIN_MAP, encoding="utf-8")
    settings = replace(
        Settings(),
        **{
            "warehouse": str(root / "warehouse"),
            "spark.shuffle_partitions": 2,
            "cleaning.returns": "net",
            "rfm.bins": 2,
            "rfm.segments_file": str(root / "segments2.yaml"),
        },
    )
    _write_transactions(spark, settings, BEFORE_A + NO_NET_SPEND + BETWEEN_A_AND_B)
    return settings, _run(spark, settings, AS_OF_A), _run(spark, settings, None)


@pytest.mark.slow
def test_run_summaries_count_lines_customers_and_segments(two_dates):
    _, summary_a, summary_b = two_dates
    assert (summary_a["as_of"], summary_a["previous_as_of"]) == (AS_OF_A, None)
    assert summary_a["segments"] == {
        "Active loyal": 2,
        "Active new": 2,
        "Lapsed loyal": 2,
        "Lapsed": 2,
    }
    assert (
        summary_a["transactions_in_window"],
        summary_a["customers_in_window"],
        summary_a["customers_excluded_non_positive_monetary"],
        summary_a["customers_scored"],
    ) == (23, 10, 2, 8)
    assert (summary_b["as_of"], summary_b["previous_as_of"]) == (AS_OF_B, AS_OF_A)
    assert (
        summary_b["transactions_in_window"],
        summary_b["customers_in_window"],
        summary_b["customers_excluded_non_positive_monetary"],
        summary_b["customers_scored"],
    ) == (30, 12, 2, 10)
    assert summary_b["segments"] == {
        "Active loyal": 1,
        "Active new": 4,
        "Lapsed loyal": 4,
        "Lapsed": 1,
    }


@pytest.mark.slow
def test_segments_and_previous_segments_per_customer(spark, two_dates):
    settings = two_dates[0]
    assert _segments_by_name(spark, settings, AS_OF_A) == SEGMENTS_A
    assert _segments_by_name(spark, settings, AS_OF_B) == SEGMENTS_B
    assert set(_segments_by_name(spark, settings, AS_OF_A, "previous_segment").values()) == {None}
    previous = _segments_by_name(spark, settings, AS_OF_B, "previous_segment")
    assert previous == {**SEGMENTS_A, "w1": None, "w2": None}


@pytest.mark.slow
def test_transitions_between_the_two_dates(spark, two_dates):
    b, a = dt.date(2011, 12, 10), dt.date(2011, 11, 1)
    expected = spark.createDataFrame(
        [
            (b, a, "Active loyal", "Lapsed loyal", 2),
            (b, a, "Active new", "Active loyal", 1),
            (b, a, "Active new", "Active new", 1),
            (b, a, "Lapsed loyal", "Lapsed loyal", 2),
            (b, a, "Lapsed", "Active new", 1),
            (b, a, "Lapsed", "Lapsed", 1),
            (b, a, None, "Active new", 2),
        ],
        table_schema(tables.SEGMENT_TRANSITIONS),
    )
    transitions = delta_io.read_table(spark, two_dates[0].warehouse_root, "segment_transitions")
    assert_df_equality(
        transitions, expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True
    )


@pytest.mark.slow
def test_stored_scores_and_edges_match_pandas(spark, two_dates):
    settings = two_dates[0]
    rows = _slice(spark, settings, "customer_rfm", AS_OF_A).toPandas().sort_values("customer_key")
    ranks = rows["frequency"].rank(method="first").astype(int)
    assert rows["frequency_rank"].tolist() == ranks.tolist()
    assert rows["f_score"].tolist() == (pd.qcut(ranks, 2, labels=False) + 1).tolist()
    assert rows["r_score"].tolist() == (2 - pd.qcut(rows["recency_days"], 2, labels=False)).tolist()
    assert rows["m_score"].tolist() == (pd.qcut(rows["monetary"], 2, labels=False) + 1).tolist()
    assert sorted(rows["m_score"].tolist()) == [1, 1, 1, 1, 2, 2, 2, 2]  # 10.00 vs 40.00 spent
    edges = {
        (r["metric"], r["edge_index"]): r["edge"]
        for r in _slice(spark, settings, "score_edges", AS_OF_A).collect()
    }
    assert [edges[("frequency_rank", i)] for i in range(3)] == [1.0, 4.5, 8.0]
    _, recency_bins = pd.qcut(rows["recency_days"], 2, labels=False, retbins=True)
    assert [edges[("recency_days", i)] for i in range(3)] == recency_bins.tolist()
    assert [edges[("monetary", i)] for i in range(3)] == [10.0, 25.0, 40.0]


@pytest.mark.slow
def test_segment_summary_of_a_date(spark, two_dates):
    rows = {
        r["segment"]: r for r in _slice(spark, two_dates[0], "segment_summary", AS_OF_B).collect()
    }
    assert {name: r["customers"] for name, r in rows.items()} == {
        "Active loyal": 1,
        "Active new": 4,
        "Lapsed loyal": 4,
        "Lapsed": 1,
    }
    lapsed_loyal = rows["Lapsed loyal"]  # a1, a2, l1, l2: four orders of 10.00 each
    assert (
        lapsed_loyal["revenue"],
        lapsed_loyal["median_monetary"],
        lapsed_loyal["mean_frequency"],
    ) == (160.0, 40.0, 4.0)
    assert lapsed_loyal["customer_share"] == pytest.approx(0.4)
    assert lapsed_loyal["revenue_share"] == pytest.approx(160.0 / 270.0)
    assert (lapsed_loyal["r_scores"], lapsed_loyal["f_scores"], lapsed_loyal["actions"]) == (
        "1",
        "2",
        "win back",
    )
    assert str(lapsed_loyal["revenue"]) == "160.00"  # decimal(18,2): money in cents


@pytest.mark.slow
def test_rerunning_an_as_of_replaces_only_its_slice(spark, two_dates, tmp_path):
    shared = two_dates[0]
    settings = replace(shared, warehouse=str(tmp_path / "warehouse"))
    shutil.copytree(shared.warehouse, settings.warehouse)  # path-based Delta tables copy whole
    tables_by_date = ("customer_rfm", "segment_summary", "score_edges", "segment_transitions")
    before_b = {t: _slice(spark, settings, t, AS_OF_B).toPandas() for t in tables_by_date}

    # 60 days before A leave a1, a2, n1, n2 and net_negative's return (kept on request).
    rerun = _run(
        spark,
        settings,
        AS_OF_A,
        **{"rfm.window_days": 60, "rfm.include_non_positive_monetary": True},
    )

    assert (rerun["customers_scored"], rerun["customers_excluded_non_positive_monetary"]) == (5, 0)
    rows = {
        r["customer_key"]: r for r in _slice(spark, settings, "customer_rfm", AS_OF_A).collect()
    }
    assert set(rows) == {key(n) for n in ("a1", "a2", "n1", "n2", "net_negative")}
    refund = rows[key("net_negative")]
    assert (refund["frequency"], refund["monetary"], refund["m_score"], refund["recency_days"]) == (
        0,
        -8.0,
        1,
        16,
    )
    assert _slice(spark, settings, "segment_summary", AS_OF_A).toPandas()["customers"].sum() == 5
    for table, frame in before_b.items():
        after = _slice(spark, settings, table, AS_OF_B).toPandas()
        order = list(frame.columns[:4])
        pd.testing.assert_frame_equal(
            after.sort_values(order).reset_index(drop=True),
            frame.sort_values(order).reset_index(drop=True),
            obj=table,
        )
    counts = (
        delta_io.read_table(spark, settings.warehouse_root, "customer_rfm")
        .groupBy("as_of")
        .count()
        .collect()
    )
    assert {r["as_of"].isoformat(): r["count"] for r in counts} == {AS_OF_A: 5, AS_OF_B: 10}
    assert (
        _slice(spark, shared, "customer_rfm", AS_OF_A).count() == 8
    )  # the shared copy is untouched
