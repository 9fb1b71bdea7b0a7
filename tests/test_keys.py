"""``custseg keys``: a CRM export gains the very keys ingest wrote, every row and value kept,
and a key other than the warehouse's is refused before anything is written."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from custseg.layer1_core.config import Settings, replace
from custseg.layer1_core.file_formats import FileError
from custseg.layer2_io import delta_io
from custseg.layer2_io.run_context import RunContext
from custseg.layer3_stages.ingest.pseudonym import HashKeyError, hmac_hex
from custseg.layer4_commands import cli, pipeline
from custseg.layer4_commands.keys import KeysError, key_file, read_keys_input, with_customer_keys
from tests.conftest import TEST_HASH_KEY
from tests.ingest.test_ingest_stage import HEADER, _messy_settings

KEY = TEST_HASH_KEY.encode()
PURCHASES = """\
17850,1,A,A,1.00,1,2010-12-01 08:00:00
17850.0,2,B,B,2.00,1,2010-12-02 08:00:00
12583,3,C,C,3.00,1,2010-12-03 08:00:00
00017,4,D,D,4.00,1,2010-12-04 08:00:00
"""
# Name, id, city: the id as a float export writes it, padded, blank, unknown, invalid; a
# quoted comma and a quoted line break; a leading-zero id that stays a string.
CRM = (
    """\
Name,CustomerNo,City
Ann,17850,Oslo
Bob,17850.0,"Bergen, West"
Cy, 17850 ,Trondheim
Di,,Oslo
Ed,99999,Oslo
Fi,12583,"Storgata 1
Oslo"
Gu,17850.5,Oslo
"""
    + "Ha,00017, Tromso \n"
)  # trailing space kept
CRM_ROWS = list(csv.reader(CRM.splitlines(keepends=True)))
COLUMNS = ["Name", "CustomerNo", "City", "customer_key"]


@pytest.fixture(scope="module")
def warehouse(spark, tmp_path_factory):
    """Settings of a warehouse the ingest stage wrote with the test key."""
    root = tmp_path_factory.mktemp("keys")
    (root / "raw").mkdir()
    (root / "raw" / "2010-12.csv").write_text(HEADER + PURCHASES, encoding="utf-8")
    base = replace(
        Settings(), **{"warehouse": str(root / "warehouse"), "spark.shuffle_partitions": 2}
    )
    settings = _messy_settings(base, root / "raw")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CUSTSEG_HASH_KEY", TEST_HASH_KEY)
        pipeline.run_stage(spark, settings, RunContext("keys-1", dt.datetime(2026, 1, 1)), "ingest")
    return settings


@pytest.fixture
def crm_file(tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text(CRM, encoding="utf-8")
    return path


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_crm_keys_are_ingests_keys_and_every_known_customer_joins(
    spark, warehouse, crm_file, tmp_path, monkeypatch
):
    monkeypatch.setenv("CUSTSEG_HASH_KEY", TEST_HASH_KEY)
    out = tmp_path / "out" / "crm_keyed.csv"
    result = key_file(spark, warehouse, str(crm_file), "CustomerNo", str(out))
    assert (result.rows, result.without_key, result.key_checked) == (8, 2, True)
    written = _read_csv(out)
    assert written[0] == COLUMNS
    assert [row[:3] for row in written[1:]] == CRM_ROWS[1:]  # order and values as read
    keys = {row[0]: row[3] for row in written[1:]}
    assert keys["Ann"] == keys["Bob"] == keys["Cy"] == hmac_hex(KEY, "17850")
    assert keys["Ha"] == hmac_hex(KEY, "00017") != hmac_hex(KEY, "17")
    assert keys["Di"] == keys["Gu"] == ""  # blank and invalid: no key (null)
    ingested = {
        row["customer_key"]
        for row in delta_io.read_table(spark, warehouse.warehouse_root, "transactions")
        .select("customer_key")
        .distinct()
        .collect()
    }
    assert ingested == {keys["Ann"], keys["Fi"], keys["Ha"]}  # every known customer joins
    assert keys["Ed"] and keys["Ed"] not in ingested  # unknown to custseg: a key, no match
    assert sorted(out.parent.iterdir()) == [out]  # one file, no staging folder or .crc left


def test_parquet_in_and_out_keep_columns_rows_and_types(spark, warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTSEG_HASH_KEY", TEST_HASH_KEY)
    source = tmp_path / "crm.parquet"
    frame = spark.createDataFrame(
        [(1, 17850.0, "a"), (2, None, "b"), (3, 12583.0, "c")], "n long, id double, note string"
    )
    frame.coalesce(1).write.parquet(str(source))
    out = tmp_path / "crm_keyed.parquet"
    result = key_file(spark, warehouse, str(source), "id", str(out))
    assert (result.rows, result.without_key) == (3, 1)
    assert out.is_file()
    back = spark.read.parquet(str(out))
    assert back.columns == ["n", "id", "note", "customer_key"]
    assert dict(back.dtypes)["id"] == "double"
    rows = {row["n"]: row["customer_key"] for row in back.collect()}
    assert rows == {1: hmac_hex(KEY, "17850"), 2: None, 3: hmac_hex(KEY, "12583")}


def test_the_key_stays_out_of_the_plan(spark, crm_file):
    keyed = with_customer_keys(
        read_keys_input(spark, str(crm_file)), "CustomerNo", KEY, Settings().cleaning
    )
    plan = keyed._jdf.queryExecution().toString()
    assert "sha2" in plan
    assert TEST_HASH_KEY not in plan and KEY.hex() not in plan


def test_a_key_other_than_the_warehouses_is_refused_before_writing(
    spark, warehouse, crm_file, tmp_path, monkeypatch
):
    monkeypatch.setenv("CUSTSEG_HASH_KEY", TEST_HASH_KEY + "-rotated")
    out = tmp_path / "crm_keyed.csv"
    with pytest.raises(HashKeyError, match="key_check") as error:
        key_file(spark, warehouse, str(crm_file), "CustomerNo", str(out))
    assert TEST_HASH_KEY not in str(error.value)
    assert not out.exists()


def test_bad_files_are_refused_in_one_line(spark, warehouse, crm_file, tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTSEG_HASH_KEY", TEST_HASH_KEY)
    out = str(tmp_path / "k.csv")
    with pytest.raises(KeysError, match="does not exist"):
        key_file(spark, warehouse, str(tmp_path / "none.csv"), "CustomerNo", out)
    with pytest.raises(KeysError, match="no column 'CustomerID'.*3 column"):
        key_file(spark, warehouse, str(crm_file), "CustomerID", out)
    with pytest.raises(FileError, match="names the --in file"):
        key_file(spark, warehouse, str(crm_file), "CustomerNo", str(crm_file))


def test_cli_writes_the_file_and_says_how_many_rows_lack_an_id(
    spark, warehouse, crm_file, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("CUSTSEG_HASH_KEY", TEST_HASH_KEY)
    out = tmp_path / "crm_keyed.csv"
    args = ["--in", str(crm_file), "--id-column", "CustomerNo", "--out", str(out)]
    wh = ["--set", f"warehouse={warehouse.warehouse}"]
    assert cli.main(["keys", *args, *wh]) == 0
    stdout = capsys.readouterr().out.strip().splitlines()
    assert stdout == [
        f"custseg keys: 8 row(s) written to {out}, 2 without a usable customer id (customer_key empty)"
    ]
    assert len(_read_csv(out)) == 9
    missing = ["keys", *args[:4], *wh]
    with pytest.raises(SystemExit) as usage:
        cli.main(missing)
    assert usage.value.code == cli.EXIT_USAGE
    with pytest.raises(SystemExit) as usage:
        cli.main(["rfm", "--in", str(crm_file)])
    assert usage.value.code == cli.EXIT_USAGE
    capsys.readouterr()
    gone = ["keys", "--in", str(tmp_path / "gone.csv"), *args[2:], *wh]
    assert cli.main(gone) == cli.EXIT_FAILED
    assert len(capsys.readouterr().err.strip().splitlines()) == 2  # warehouse line, error line
    monkeypatch.setenv("CUSTSEG_HASH_KEY", TEST_HASH_KEY + "-rotated")
    assert cli.main(["keys", *args, *wh]) == cli.EXIT_FAILED
    assert "key_check" in capsys.readouterr().err
