"""The ingest stage on hand-written messy files: every row accounted for, nothing leaked."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from custseg.layer1_core.config import Settings, replace
from custseg.layer2_io import delta_io
from custseg.layer2_io.run_context import RunContext
from custseg.layer3_stages.ingest import clean, sources
from custseg.layer3_stages.ingest import stage as ingest_stage
from custseg.layer3_stages.ingest.pseudonym import HashKeyError, hmac_hex
from custseg.layer3_stages.ingest.sources import SourceError
from custseg.layer3_stages.ingest.stage import IngestRejected
from custseg.layer4_commands import pipeline
from tests.conftest import TEST_HASH_KEY
from tests.delta_log import commit_actions
from tests.spark_settings import spark_settings

HEADER = "customer_id,order_id,item_id,item_name,unit_price,item_count,purchase_time\n"
MESSY_ROWS = """\
17850,536365,85123A,WHITE HEART,2.55,6,2010-12-01 08:26:00
17850.0,536366,71053,LANTERN,3.39,6,2010-12-01 08:28:00
 17850 ,536367,84406B,"HANGER, CREAM",2.75,8,2010-12-01 09:00:00
00017,536368,22752,BABUSHKA SET,7.65,2,2010-12-02 10:00:00
,536369,21730,GLASS STAR,4.25,6,2010-12-02 11:00:00
17850.5,536370,22633,HAND WARMER,1.85,6,2010-12-02 12:00:00
12583,536371,22632,HAND WARMER RED,abc,6,2010-12-02 13:00:00
12583,536372,22632,HAND WARMER RED,1.85,six,2010-12-02 13:00:00
12583,536373,22632,HAND WARMER RED,1.85,6,not-a-date
12583,536374,22632,HAND WARMER RED,1.85,6,1999-05-01 10:00:00
12583,536375,22632,HAND WARMER RED,1.85,6,2030-01-01 10:00:00
12583,C536376,22632,HAND WARMER RED,1.85,-6,2010-12-03 10:00:00
12583,536377,22632,HAND WARMER RED,1.85,-2,2010-12-03 11:00:00
12583,536378,POST,POSTAGE,0,1,2010-12-03 12:00:00
12583,536379,22632,HAND WARMER RED,1.85,6,2010-12-04 10:00:00
12583,536379,22632,HAND WARMER RED,1.85,6,2010-12-04 10:00:00
12583,536381,22632,TOO MANY,1.85,6,2010-12-04 10:00:00,surplus
12583,536382,22632,NEGATIVE,-1.85,6,2010-12-04 10:00:00
"""
EXPECTED_REASONS = {"": "missing_customer_id", "17850.5": "invalid_customer_id"}
# A profile export of the same customers: rows 1, 2 and 12 are clean, row 11 repeats row 2
# (7.0 is 7), rows 3 and 4 disagree about one customer, rows 5 to 10 are broken.
PROFILES = """\
customer_id,signup_date,age,points
17850.0,2010-11-01,34,120
00017,2010-11-15,,7
12583,2010-10-01,51,3
12583,2010-10-02,51,3
55,not-a-date,20,1
56,1850-01-01,20,1
57,2010-01-01,old,1
58,2010-01-01,NaN,1
17850.5,2010-01-01,20,1
,2010-01-01,20,1
00017,2010-11-15,,7.0
59,,40,2
"""


def _messy_settings(settings, data_dir: Path):
    return replace(
        settings,
        **{
            "input.path": str(data_dir),
            "input.columns": {
                "customer_id": "customer_id",
                "order_id": "order_id",
                "item_id": "item_id",
                "item_name": "item_name",
                "unit_price": "unit_price",
                "quantity": "item_count",
                "purchase_time": "purchase_time",
            },
            "rfm.as_of": "2011-01-01",
            "cleaning.max_quarantine_share": 1.0,
        },
    )


def _run(spark, settings, run_id="run-1"):
    """The ingest stage's summary as the log file records it (``as_dict``)."""
    return pipeline.run_stage(
        spark, settings, RunContext(run_id, dt.datetime(2026, 1, 1)), "ingest"
    ).as_dict()


@pytest.fixture
def messy(tmp_path, settings):
    data = tmp_path / "raw"
    data.mkdir()
    (data / "2010-12.csv").write_text(HEADER + MESSY_ROWS, encoding="utf-8")
    return _messy_settings(settings, data)


@pytest.fixture(scope="module")
def messy_ingested(spark, tmp_path_factory):
    """One ingest of the messy file, shared by the tests that only read its results."""
    root = tmp_path_factory.mktemp("messy")
    data = root / "raw"
    data.mkdir()
    (data / "2010-12.csv").write_text(HEADER + MESSY_ROWS, encoding="utf-8")
    base = replace(
        Settings(), **{"warehouse": str(root / "warehouse"), "spark.shuffle_partitions": 2}
    )
    (root / "profiles.csv").write_text(PROFILES, encoding="utf-8")
    configured = replace(
        _messy_settings(base, data),
        **{
            "input.profiles.path": str(root / "profiles.csv"),
            "input.profiles.attributes": ["age", "points"],
        },
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CUSTSEG_HASH_KEY", TEST_HASH_KEY)
        summary = _run(spark, configured, run_id="run-typed")
    return configured, summary


def test_every_bad_row_kind_is_quarantined_with_its_reason(spark, messy_ingested):
    messy, summary = messy_ingested
    quarantine = delta_io.read_table(spark, messy.warehouse_root, "quarantine").where(
        "target_table = 'transactions'"
    )
    by_order = {}
    for row in quarantine.select(
        F.get_json_object("raw_record", "$.order_id").alias("order_id"), "raw_record", "reasons"
    ).collect():
        by_order[row["order_id"] or row["raw_record"]] = sorted(row["reasons"])
    assert by_order["536369"] == ["missing_customer_id"]
    assert by_order["536370"] == ["invalid_customer_id"]
    assert by_order["536371"] == ["invalid_unit_price"]
    assert by_order["536372"] == ["invalid_quantity"]
    assert by_order["536373"] == ["unparseable_purchase_time"]
    assert by_order["C536376"] == ["cancellation"]
    assert by_order["536377"] == ["return"]
    assert by_order["536378"] == ["zero_price"]
    assert by_order["536382"] == ["negative_price"]
    # of a malformed line only the key of its id is kept: any field may hold a shifted id
    malformed = [reasons for order, reasons in by_order.items() if order.startswith("{")]
    assert malformed == [["malformed_record"]]
    assert summary["rows_read"] == 18
    assert (summary["duplicates_removed"], summary["identical_lines"]) == (0, 1)
    assert summary["rows_quarantined"] == 10
    assert summary["rows_written"] == 8  # 1999 and 2030 pass: no floor or as_of bound by default
    assert summary["quarantined_by_reason"]["cancellation"] == 1


def test_canonical_ids_float_tail_and_leading_zeros(spark, messy_ingested):
    messy, _ = messy_ingested
    written = delta_io.read_table(spark, messy.warehouse_root, "transactions")
    keys = {
        row["order_id"]: row["customer_key"]
        for row in written.select("order_id", "customer_key").collect()
    }
    same_customer = hmac_hex(TEST_HASH_KEY.encode(), "17850")
    assert keys["536365"] == keys["536366"] == keys["536367"] == same_customer
    assert keys["536368"] == hmac_hex(TEST_HASH_KEY.encode(), "00017")
    names = {
        row["order_id"]: row["item_name"]
        for row in written.select("order_id", "item_name").collect()
    }
    assert names["536367"] == "HANGER, CREAM"


def test_typed_transactions_and_reconciliation_row(spark, messy_ingested):
    messy, _ = messy_ingested
    written = delta_io.read_table(spark, messy.warehouse_root, "transactions").where(
        "order_id = '536365'"
    )
    row = written.first()
    assert (
        row["quantity"] == 6 and float(row["unit_price"]) == 2.55 and float(row["amount"]) == 15.30
    )
    assert row["purchase_time"] == dt.datetime(2010, 12, 1, 8, 26)
    assert row["purchase_month"] == "2010-12" and row["ingest_run_id"] == "run-typed"
    runs = delta_io.read_table(spark, messy.warehouse_root, "ingest_runs").collect()
    assert len(runs) == 1
    run = runs[0]
    assert (
        run["rows_read"]
        == run["rows_written"] + run["rows_quarantined"] + run["duplicates_removed"]
    )
    assert (run["rows_read"], run["rows_written"], run["distinct_customers"]) == (18, 8, 3)
    assert (run["identical_lines"], run["rows_with_replacement_characters"]) == (1, 0)
    assert run["min_purchase_time"] == dt.datetime(1999, 5, 1, 10, 0)
    detail = delta_io.read_table(spark, messy.warehouse_root, "transactions")
    assert detail.where("purchase_month = '2010-12'").count() == 6
    history = spark.sql(f"DESCRIBE DETAIL delta.`{messy.table_path('transactions')}`").first()
    assert history["partitionColumns"] == ["purchase_month"]


@pytest.mark.parametrize(
    ("policy", "written", "quarantined", "removed"), [("keep", 12, 3, 0), ("drop", 11, 1, 3)]
)
def test_identical_lines_policy_and_months_get_one_file(
    spark, tmp_path, settings, policy, written, quarantined, removed
):
    """Three copies of a bad line and two of a good one are three identical lines under
    either policy; ``drop`` keeps one of each; a line read in two files is kept in both; a
    batch over several months writes one file per month."""
    data = tmp_path / "raw"
    data.mkdir()
    bad = "555,9,X9,BAD,abc,1,2010-11-05 10:00:00\n"
    good = "555,{order},X{order},ITEM,1.50,2,2010-{month}-05 10:00:00\n"
    lines = [good.format(order=m, month=f"{m:02d}") for m in range(1, 11)]
    (data / "a.csv").write_text(HEADER + "".join(lines) + bad * 3 + lines[0], encoding="utf-8")
    (data / "b.csv").write_text(HEADER + lines[0], encoding="utf-8")
    configured = replace(
        _messy_settings(settings, data),
        **{"spark.shuffle_partitions": 4, "cleaning.duplicate_lines": policy},
    )

    summary = _run(spark, configured)

    assert (summary["rows_read"], summary["identical_lines"]) == (15, 3)
    assert summary["duplicates_removed"] == removed
    assert (summary["rows_quarantined"], summary["rows_written"]) == (quarantined, written)
    assert summary["quarantined_by_reason"] == {"invalid_unit_price": quarantined}
    rows = delta_io.read_table(spark, configured.warehouse_root, "quarantine").select("source_row")
    assert sorted(r[0] for r in rows.collect()) == [11, 12, 13][:quarantined]
    transactions = delta_io.read_table(spark, configured.warehouse_root, "transactions")
    files_per_month = (
        transactions.select("purchase_month", F.input_file_name().alias("file"))
        .distinct()
        .groupBy("purchase_month")
        .count()
        .collect()
    )
    assert len(files_per_month) == 10
    assert {row["count"] for row in files_per_month} == {1}


def test_returns_net_and_zero_price_keep(spark, messy):
    lenient = replace(messy, **{"cleaning.returns": "net", "cleaning.zero_price": "keep"})
    summary = _run(spark, lenient)
    written = delta_io.read_table(spark, lenient.warehouse_root, "transactions")
    returns = written.where("is_return").select(
        "order_id", F.col("amount").cast("double").alias("amount")
    )
    expected = spark.createDataFrame([("C536376", -11.1), ("536377", -3.7)], returns.schema)
    assert_df_equality(returns, expected, ignore_row_order=True, ignore_nullable=True)
    assert written.where("order_id = '536378'").count() == 1  # the free item is kept
    assert summary["rows_written"] == 11
    assert "cancellation" not in summary["quarantined_by_reason"]


def test_latin1_encoding(spark, tmp_path, settings):
    data = tmp_path / "raw"
    data.mkdir()
    (data / "latin.csv").write_bytes(
        (HEADER + "5,9,X1,CAFÉ CRÈME,1.50,2,2010-12-01 08:00:00\n").encode("latin-1")
    )
    configured = replace(_messy_settings(settings, data), **{"input.csv.encoding": "ISO-8859-1"})
    _run(spark, configured)
    assert (
        delta_io.read_table(spark, configured.warehouse_root, "transactions").first()["item_name"]
        == "CAFÉ CRÈME"
    )


def test_refuses_to_run_without_key(spark, messy, monkeypatch, tmp_path):
    monkeypatch.delenv("CUSTSEG_HASH_KEY", raising=False)
    with pytest.raises(HashKeyError, match="CUSTSEG_HASH_KEY"):
        _run(spark, messy)
    assert not delta_io.table_exists(spark, messy.table_path("transactions"))
    key_file = tmp_path / "key"
    key_file.write_text("short")
    with pytest.raises(HashKeyError, match="shorter") as error:
        _run(spark, replace(messy, **{"pseudonym.key_file": str(key_file)}))
    assert "short" not in str(error.value).replace("shorter", "")


def test_key_file_is_used_when_env_is_unset(spark, messy, monkeypatch, tmp_path):
    monkeypatch.delenv("CUSTSEG_HASH_KEY", raising=False)
    key_file = tmp_path / "hash.key"
    key_file.write_text("file-key-0123456789abcdef\n")
    configured = replace(messy, **{"pseudonym.key_file": str(key_file)})
    _run(spark, configured)
    keys = {
        row[0]
        for row in delta_io.read_table(spark, configured.warehouse_root, "transactions")
        .select("customer_key")
        .collect()
    }
    assert hmac_hex(b"file-key-0123456789abcdef", "17850") in keys


def _logged_values(commit: bytes) -> str:
    """The column values a Delta commit file records, as text: its added files' minimum
    and maximum statistics and partition values."""
    values = []
    for added in (action["add"] for action in commit_actions(commit) if "add" in action):
        stats = json.loads(added.get("stats") or "{}")
        values += [stats.get("minValues", {}), stats.get("maxValues", {})]
        values.append(added.get("partitionValues", {}))
    return json.dumps(values)


def test_key_and_raw_ids_never_stored_or_planned(spark, messy_ingested):
    messy, _ = messy_ingested
    warehouse = Path(messy.table_path("x")).parent
    for path in warehouse.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert TEST_HASH_KEY.encode() not in content, path
            if path.suffix == ".json" and "_delta_log" in str(path):
                # column statistics hold value prefixes: no raw id, valid or not, among them
                # (not the whole file: a commit's timestamps can hold the same digits)
                logged = _logged_values(content)
                assert "17850" not in logged and "00017" not in logged, path
    for name in ("transactions", "quarantine", "customer_profiles"):
        frame = delta_io.read_table(spark, messy.warehouse_root, name)
        text = " ".join(str(v) for row in frame.collect() for v in row.asDict().values())
        assert "17850" not in text and "surplus" not in text  # nor an unmapped field
        assert TEST_HASH_KEY not in text
    quarantine = delta_io.read_table(spark, messy.warehouse_root, "quarantine")
    invalid = quarantine.where(F.array_contains("reasons", "invalid_customer_id")).first()
    assert invalid["source_row"] == 6
    assert hmac_hex(TEST_HASH_KEY.encode(), "17850.5") in invalid["raw_record"]
    from custseg.layer3_stages.ingest.pseudonym import with_customer_key

    ids = spark.createDataFrame([("17850",)], "canonical_id string")
    keyed = with_customer_key(ids, F.col("canonical_id"), TEST_HASH_KEY.encode())
    plan = keyed._jdf.queryExecution().toString()
    assert TEST_HASH_KEY not in plan and "sha2" in plan
    history = spark.sql(f"DESCRIBE HISTORY delta.`{messy.table_path('transactions')}`").collect()
    assert TEST_HASH_KEY not in str(history)


def test_profiles_are_keyed_like_transactions_and_bad_rows_quarantined(spark, messy_ingested):
    messy, summary = messy_ingested
    root = messy.warehouse_root
    assert summary["profiles"] == {
        "rows_read": 12,
        "rows_written": 3,
        "rows_quarantined": 8,
        "duplicates_removed": 1,
        "quarantined_by_reason": {
            "conflicting_profiles": 2,
            "invalid_customer_id": 1,
            "invalid_profile_attribute": 2,
            "missing_customer_id": 1,
            "signup_date_before_floor": 1,
            "unparseable_signup_date": 1,
        },
    }
    key = TEST_HASH_KEY.encode()
    profiles = {
        row["customer_key"]: (row["signup_date"], row["attributes"])
        for row in delta_io.read_table(spark, root, "customer_profiles").collect()
    }
    assert profiles == {
        hmac_hex(key, "17850"): (dt.date(2010, 11, 1), {"age": 34.0, "points": 120.0}),
        hmac_hex(key, "00017"): (dt.date(2010, 11, 15), {"points": 7.0}),
        hmac_hex(key, "59"): (None, {"age": 40.0, "points": 2.0}),
    }
    transactions = delta_io.read_table(spark, root, "transactions")
    assert transactions.where(F.col("customer_key") == hmac_hex(key, "17850")).count() == 3
    quarantined = delta_io.read_table(spark, root, "quarantine").where(
        "target_table = 'customer_profiles'"
    )
    rows = {row["source_row"]: row for row in quarantined.collect()}
    assert sorted(rows) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert rows[3]["reasons"] == ["conflicting_profiles"]
    assert rows[3]["customer_key"] == hmac_hex(key, "12583")
    assert rows[7]["reasons"] == ["invalid_profile_attribute"]
    assert '"profile_age":"old"' in rows[7]["raw_record"]
    assert hmac_hex(key, "17850.5") in rows[9]["raw_record"]
    (run,) = delta_io.read_table(spark, root, "ingest_runs").collect()
    assert (run["profiles_read"], run["profiles_written"], run["profiles_quarantined"]) == (
        12,
        3,
        8,
    )


def test_profile_file_errors_are_one_line_before_any_write(spark, messy, tmp_path):
    (tmp_path / "profiles.csv").write_text("id,signup_date\n1,2010-01-01\n")
    for path, message in [
        (tmp_path / "profiles.csv", r"missing column\(s\) customer_id .*input\.profiles\.columns"),
        (tmp_path / "none_*.csv", r"no csv files found at input\.profiles\.path"),
    ]:
        with pytest.raises(SourceError, match=message) as error:
            _run(spark, replace(messy, **{"input.profiles.path": str(path)}))
        assert "\n" not in str(error.value)
    assert not delta_io.table_exists(spark, messy.table_path("transactions"))


def test_reingest_is_idempotent_and_new_months_are_incremental(spark, tmp_path, settings):
    data = tmp_path / "raw"
    data.mkdir()
    (data / "2010-12.csv").write_text(
        HEADER + "1,1,A,A,1.00,1,2010-12-01 08:00:00\n2,2,B,B,2.00,1,2010-12-05 08:00:00\n"
    )
    configured = replace(_messy_settings(settings, data), **{"rfm.as_of": "2011-06-01"})
    _run(spark, configured, "r1")
    first = delta_io.read_table(spark, configured.warehouse_root, "transactions").drop(
        "ingest_run_id"
    )
    second_summary = _run(spark, configured, "r2")
    assert second_summary["files_read"] == 0 and second_summary["files_skipped"] == 1
    assert_df_equality(
        delta_io.read_table(spark, configured.warehouse_root, "transactions").drop("ingest_run_id"),
        first,
        ignore_row_order=True,
        ignore_nullable=True,
    )
    (data / "2011-01 export+1.csv").write_text(HEADER + "1,3,C,C,3.00,1,2011-01-03 08:00:00\n")
    third = _run(spark, configured, "r3")
    assert third["files_read"] == 1 and third["rows_read"] == 1
    registry = {
        r["source_file"].rsplit("/", 1)[-1]: r["rows_read"]
        for r in delta_io.read_table(spark, configured.warehouse_root, "ingest_files").collect()
    }
    assert registry == {"2010-12.csv": 2, "2011-01 export+1.csv": 1}
    per_run = {
        r["ingest_run_id"]: r["count"]
        for r in delta_io.read_table(spark, configured.warehouse_root, "transactions")
        .groupBy("ingest_run_id")
        .count()
        .collect()
    }
    assert per_run == {"r1": 2, "r3": 1}
    # a changed file replaces its earlier rows, and only them
    (data / "2010-12.csv").write_text(HEADER + "1,1,A,A,1.50,1,2010-12-01 08:00:00\n")
    os.utime(data / "2010-12.csv", (1, 2_000_000_000))
    fourth = _run(spark, configured, "r4")
    assert fourth["files_read"] == 1
    amounts = sorted(
        float(r["amount"])
        for r in delta_io.read_table(spark, configured.warehouse_root, "transactions").collect()
    )
    assert amounts == [1.5, 3.0]
    runs = delta_io.read_table(spark, configured.warehouse_root, "ingest_runs").count()
    assert runs == 4


def test_quarantine_share_limit_leaves_transactions_untouched(spark, messy):
    strict = replace(messy, **{"cleaning.max_quarantine_share": 0.1})
    with pytest.raises(IngestRejected, match="max_quarantine_share"):
        _run(spark, strict)
    assert not delta_io.table_exists(spark, strict.table_path("transactions"))
    assert delta_io.read_table(spark, strict.warehouse_root, "quarantine").count() == 10


def test_refused_profiles_leave_the_committed_transactions_recorded(spark, messy, tmp_path):
    """8 of 12 profile rows are bad, above a share the transactions stay under: the new
    transactions are committed, so the run is recorded (no profile written) before the
    refusal is raised, and customer_profiles is not created."""
    (tmp_path / "profiles.csv").write_text(PROFILES, encoding="utf-8")
    strict = replace(
        messy,
        **{
            "input.profiles.path": str(tmp_path / "profiles.csv"),
            "input.profiles.attributes": ["age", "points"],
            "cleaning.max_quarantine_share": 0.6,
        },
    )
    with pytest.raises(IngestRejected, match="8 of 12 rows .*customer_profiles"):
        _run(spark, strict)
    assert not delta_io.table_exists(spark, strict.table_path("customer_profiles"))
    (run,) = delta_io.read_table(spark, strict.warehouse_root, "ingest_runs").collect()
    assert (
        run["rows_written"]
        == delta_io.read_table(spark, strict.warehouse_root, "transactions").count()
        > 0
    )
    assert (run["profiles_read"], run["profiles_written"], run["profiles_quarantined"]) == (
        12,
        0,
        8,
    )


def test_parquet_input_with_typed_columns(spark, tmp_path, settings):
    source = spark.createDataFrame(
        [(17850.0, "1", 2.5, 3, dt.datetime(2010, 12, 1, 8, 0))],
        "cust double, order_id string, price double, qty int, ts timestamp",
    )
    source.write.parquet(str(tmp_path / "pq"))
    configured = replace(
        settings,
        **{
            "input.path": str(tmp_path / "pq"),
            "input.format": "parquet",
            "input.columns": {
                "customer_id": "cust",
                "order_id": "order_id",
                "unit_price": "price",
                "quantity": "qty",
                "purchase_time": "ts",
            },
        },
    )
    _run(spark, configured)
    row = delta_io.read_table(spark, configured.warehouse_root, "transactions").first()
    assert row["customer_key"] == hmac_hex(TEST_HASH_KEY.encode(), "17850")
    assert row["purchase_time"] == dt.datetime(2010, 12, 1, 8, 0) and float(row["amount"]) == 7.5


def test_delta_table_input(spark, tmp_path, settings):
    source = spark.createDataFrame(
        [("00042", "7", "X9", "MUG", 1.25, 4, dt.datetime(2010, 12, 3, 9, 30))],
        "customer_id string, order_id string, item_id string, item_name string, unit_price double, "
        "item_count int, purchase_time timestamp",
    )
    source.write.format("delta").save(str(tmp_path / "delta_source"))
    configured = replace(
        settings, **{"input.path": str(tmp_path / "delta_source"), "input.format": "delta"}
    )
    summary = _run(spark, configured)
    assert (summary["files_read"], summary["rows_written"]) == (1, 1)
    row = delta_io.read_table(spark, configured.warehouse_root, "transactions").first()
    assert row["customer_key"] == hmac_hex(TEST_HASH_KEY.encode(), "00042")
    assert row["source_file"] == str(tmp_path / "delta_source") and float(row["amount"]) == 5.0
    assert _run(spark, configured)["files_read"] == 0  # same table version: nothing new


def _monthly_files(data: Path) -> None:
    """Three monthly exports of a few lines each, one of them quarantined (no id)."""
    data.mkdir()
    for month, day_lines in (("2010-12", 3), ("2011-01", 2), ("2011-02", 4)):
        rows = "".join(
            f"{100 + day},{month}{day},A{day},ITEM,1.25,{day},{month}-{day + 1:02d} 10:00:00\n"
            for day in range(day_lines)
        )
        (data / f"{month}.csv").write_text(
            HEADER + rows + f",9,Z,NO ID,1.00,1,{month}-01 09:00:00\n"
        )


def _scan_splits(spark, configured):
    files = sources.list_source_files(spark, configured.input)
    classified = clean.classify(
        sources.read_sources(spark, files, configured.input),
        ingest_stage.cleaning_rules(configured),
    )
    return ingest_stage._file_splits(spark, classified, clean.purchase_month())


# Every file in a scan task of its own: Spark packs small files into one task unless opening
# a file costs more than a task holds.
ONE_FILE_PER_TASK = {"spark.sql.files.openCostInBytes": str(1 << 30)}


def test_monthly_files_read_by_their_own_tasks_are_written_without_a_month_shuffle(
    spark, tmp_path, settings
):
    """Monthly files each read by their own tasks need no shuffle by month; files packed
    into one task do. Either way the tables written are the same."""
    _monthly_files(tmp_path / "raw")
    packed = _messy_settings(settings, tmp_path / "raw")
    alone = replace(packed, warehouse=str(tmp_path / "alone"))

    assert not _scan_splits(spark, packed).one_month_per_task
    with spark_settings(spark, ONE_FILE_PER_TASK):
        splits = _scan_splits(spark, alone)
        assert splits.one_month_per_task
        assert sorted(splits.rows_by_file.values()) == [3, 4, 5]
        _run(spark, alone, "alone")
    _run(spark, packed, "packed")

    for table in ("transactions", "quarantine", "ingest_files"):
        assert_df_equality(
            delta_io.read_table(spark, alone.warehouse_root, table).drop("ingest_run_id", "run_id"),
            delta_io.read_table(spark, packed.warehouse_root, table).drop(
                "ingest_run_id", "run_id"
            ),
            ignore_row_order=True,
            ignore_column_order=True,
        )
    files_per_month = (
        delta_io.read_table(spark, alone.warehouse_root, "transactions")
        .select("purchase_month", F.input_file_name().alias("file"))
        .distinct()
        .groupBy("purchase_month")
        .count()
        .collect()
    )
    assert sorted(row["count"] for row in files_per_month) == [1, 1, 1]


def test_one_month_per_task_needs_every_task_within_one_month():
    split = lambda task, first, last: {"task": task, "first_month": first, "last_month": last}  # noqa: E731
    assert ingest_stage.one_month_per_task(
        [split(0, "2010-12", "2010-12"), split(1, "2011-01", "2011-01")]
    )
    assert ingest_stage.one_month_per_task([split(0, "2010-12", "2010-12"), split(1, None, None)])
    assert not ingest_stage.one_month_per_task([split(0, "2010-12", "2011-01")])
    assert not ingest_stage.one_month_per_task(
        [split(0, "2010-12", "2010-12"), split(0, "2011-01", "2011-01")]
    )
    assert not ingest_stage.one_month_per_task([split(0, None, None)])  # nothing kept
