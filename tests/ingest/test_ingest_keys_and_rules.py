"""What ties a warehouse to its key and its files to their rules: a second key is refused,
a changed rule re-ingests, and tables written by an older custseg gain the new columns."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import functions as F

from custseg.layer1_core.config import replace
from custseg.layer1_core.tables import INGEST_FILES
from custseg.layer2_io import delta_io
from custseg.layer2_io.schemas import table_schema
from custseg.layer3_stages.ingest import clean as ingest_clean
from custseg.layer3_stages.ingest.pseudonym import (
    HashCollisionError,
    HashKeyError,
    _pads,
    check_no_collisions,
    hmac_hex,
    key_check_value,
    load_hash_key,
    with_customer_key,
)
from custseg.layer3_stages.ingest.stage import rules_fingerprint
from tests.conftest import TEST_HASH_KEY
from tests.ingest.test_ingest_stage import HEADER, _messy_settings, _run

LINES = "1,1,A,A,1.00,1,2010-12-01 08:00:00\n2,2,B,B,2.00,1,1997-03-05 08:00:00\n"


@pytest.fixture
def small(tmp_path, settings):
    data = tmp_path / "raw"
    data.mkdir()
    (data / "2010-12.csv").write_text(HEADER + LINES)
    return _messy_settings(settings, data)


@pytest.mark.parametrize(
    "key",
    [b"sixteen-byte-key", b"k" * 64, b"k" * 65, ("\u00e9t\u00e9-" * 20).encode()],
    ids=lambda key: f"{len(key)}-bytes",
)
def test_the_key_computed_in_spark_is_pythons_hmac_and_stays_out_of_the_plan(spark, key):
    """Keys shorter than, as long as and longer than SHA-256's block (hashed first), ids
    with non-ASCII text, and a null id."""
    ids = ["17850", "00017", "Kund\u00e9-\u00f8\u4e2d\U0001f600", " 1 ", "a\x00b", "", None]
    frame = spark.createDataFrame([(i, v) for i, v in enumerate(ids)], "n int, id string")

    keyed = with_customer_key(frame, F.col("id"), key, output="key")

    assert keyed.columns == ["n", "id", "key"]
    got = {row["n"]: row["key"] for row in keyed.collect()}
    assert got == {i: None if v is None else hmac_hex(key, v) for i, v in enumerate(ids)}
    plan = keyed._jdf.queryExecution().toString()  # after running: the plans as executed
    assert "sha2" in plan
    for secret in (key, *_pads(key)):
        assert secret.hex() not in plan.lower()
        assert secret.decode("latin-1") not in plan


def test_a_key_standing_for_two_ids_is_a_collision_and_customers_are_counted_by_key(spark):
    """No HMAC collision can be produced on purpose, so the keys here are given: "k2"
    stands for two ids, and the id that reaches "k1" counts once however many rows it has;
    rows without an id are not customers."""
    rows = [
        ("17850", "k1", True),
        ("17850", "k1", False),
        ("00017", "k3", False),
        (None, None, True),
    ]
    schema = "canonical_id string, customer_key string, clean boolean"
    clean = F.col("clean")
    without_clash = spark.createDataFrame(rows, schema)
    with_clash = spark.createDataFrame([*rows, ("a", "k2", True), ("b", "k2", True)], schema)

    assert check_no_collisions(without_clash) == 2
    assert check_no_collisions(without_clash, counted=clean) == 1
    with pytest.raises(HashCollisionError, match="1 key"):
        check_no_collisions(with_clash, counted=clean)


def test_key_from_environment_and_file_read_alike(monkeypatch, tmp_path):
    monkeypatch.setenv("K", "  env-key-0123456789abcdef\n")
    assert load_hash_key("K", None) == b"env-key-0123456789abcdef"
    monkeypatch.setenv("K", "   short  \n")
    with pytest.raises(HashKeyError, match="shorter than 16"):
        load_hash_key("K", None)
    monkeypatch.delenv("K")
    key_file = tmp_path / "key"
    key_file.write_text("\n env-key-0123456789abcdef \n")
    assert load_hash_key("K", str(key_file)) == b"env-key-0123456789abcdef"


def test_warehouse_refuses_a_second_key_before_any_write(spark, small, monkeypatch):
    _run(spark, small, "r1")
    check = delta_io.read_table(spark, small.warehouse_root, "key_check").collect()
    assert [row["check_value"] for row in check] == [key_check_value(TEST_HASH_KEY.encode())]
    assert TEST_HASH_KEY not in str(check)
    versions = {
        name: delta_io.read_table(spark, small.warehouse_root, name).count()
        for name in ("transactions", "quarantine", "ingest_files", "ingest_runs")
    }
    monkeypatch.setenv("CUSTSEG_HASH_KEY", TEST_HASH_KEY + "-rotated")
    with pytest.raises(HashKeyError, match="new, empty warehouse") as error:
        _run(spark, small, "r2")
    assert TEST_HASH_KEY not in str(error.value)
    after = {
        name: delta_io.read_table(spark, small.warehouse_root, name).count() for name in versions
    }
    assert after == versions
    monkeypatch.setenv("CUSTSEG_HASH_KEY", TEST_HASH_KEY + "\n")  # same key, stripped
    assert _run(spark, small, "r3")["files_read"] == 0


def test_changed_rules_reingest_and_1997_passes_by_default(spark, small):
    first = _run(spark, small, "r1")
    assert (first["rows_written"], first["rows_quarantined"]) == (2, 0)
    assert _run(spark, small, "r2")["files_read"] == 0
    stricter = replace(small, **{"cleaning.min_purchase_time": "2000-01-01"})
    assert rules_fingerprint(stricter) != rules_fingerprint(small)
    assert rules_fingerprint(replace(small, **{"cleaning.max_quarantine_share": 0.9})) == (
        rules_fingerprint(small)
    )
    again = _run(spark, stricter, "r3")
    assert (again["files_read"], again["rows_written"], again["rows_quarantined"]) == (1, 1, 1)
    transactions = delta_io.read_table(spark, small.warehouse_root, "transactions")
    assert transactions.count() == 1  # the file's rows were replaced, not added
    registry = delta_io.read_table(spark, small.warehouse_root, "ingest_files").first()
    assert registry["rules_fingerprint"] == rules_fingerprint(stricter)


def test_tables_of_an_older_version_gain_new_columns_and_files_are_read_again(spark, small):
    """An ingest_files table without rules_fingerprint (custseg before issue 12): the column
    is added in place, and its files, whose rules are unknown, are ingested again."""
    old_columns = [c for c in table_schema(INGEST_FILES).fields if c.name != "rules_fingerprint"]
    path = small.table_path("ingest_files")
    old = spark.createDataFrame(
        [("file:/nowhere.csv", "size:1;mtime:1", "r0", 1)],
        ", ".join(f"{c.name} {c.dataType.simpleString()}" for c in old_columns),
    )
    old.write.format("delta").save(path)
    summary = _run(spark, small, "r1")
    assert summary["files_read"] == 1
    registry = delta_io.read_table(spark, small.warehouse_root, "ingest_files")
    assert "rules_fingerprint" in registry.columns
    rows = {r["source_file"]: r["rules_fingerprint"] for r in registry.collect()}
    assert rows["file:/nowhere.csv"] is None
    assert sorted(v for v in rows.values() if v) == [rules_fingerprint(small)]
    written = delta_io.read_table(spark, small.warehouse_root, "transactions")
    assert written.where(F.col("purchase_time") < F.lit(dt.datetime(2000, 1, 1))).count() == 1
    assert hmac_hex(TEST_HASH_KEY.encode(), "2") in {
        r[0] for r in written.select("customer_key").collect()
    }


def test_the_line_cache_keeps_raw_fields_on_quarantined_rows_only(spark):
    """After typing, a clean row's raw id, numbers and time text are read by nothing; what
    transactions reads (order, item) stays on every row, and a quarantined row keeps all."""
    schema = (
        "customer_id string, order_id string, item_id string, item_name string, "
        "quantity string, unit_price string, amount string, purchase_time string, "
        "_purchase_time_typed timestamp, amount_given decimal(18,4), reasons array<string>"
    )
    raw = ("17850", "O1", "I1", "Mug", "2", "1.50", None, "2010-12-01 08:00:00", None, None)
    classified = spark.createDataFrame([(*raw, []), (*raw, ["zero_price"])], schema)

    kept = ingest_clean.without_clean_rows_raw_fields(classified)

    assert kept.columns == [*classified.columns[:8], "reasons"]
    clean_row, quarantined_row = kept.orderBy(F.size("reasons")).collect()
    assert tuple(clean_row)[:8] == (None, "O1", "I1", "Mug", None, None, None, None)
    assert tuple(quarantined_row)[:8] == raw[:8]
