"""The bad-input corpus of issue 12 (tests/data/bad): every kind of broken row or file, and
the outcome the ingest stage must give it (the behaviour specified for issue 12).

Row-level files are read one folder per configuration, so that one ingest run (about 10 s)
covers many cases; the outcome of every file is written out below, row by row. File-level
problems get a run each, refused before anything is written. tests/data/bad/README.md lists
the cases. Files that cannot be plain text in git (a BOM, CRLF line ends, a raw 0xE9 byte,
a 10 KB id, gzip, names with * and ?, Parquet) are generated here into tmp_path.
"""

from __future__ import annotations

import codecs
import dataclasses
import datetime as dt
import decimal
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from custseg.layer1_core.config import Settings, replace
from custseg.layer1_core.tables import table_location
from custseg.layer2_io import delta_io
from custseg.layer2_io.run_context import RunContext
from custseg.layer3_stages.ingest.pseudonym import hmac_hex
from custseg.layer3_stages.ingest.sources import SourceError
from custseg.layer3_stages.ingest.stage import IngestRejected
from custseg.layer4_commands import cli, pipeline
from tests.conftest import TEST_HASH_KEY

pytestmark = pytest.mark.slow

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
FILES = BAD / "files"
HEADER = "customer_id,order_id,item_id,item_name,unit_price,item_count,purchase_time\n"
COLUMNS = {
    "customer_id": "customer_id",
    "order_id": "order_id",
    "item_id": "item_id",
    "item_name": "item_name",
    "unit_price": "unit_price",
    "quantity": "item_count",
    "purchase_time": "purchase_time",
}
# The tables an ingest run writes; a refused run must leave none of them (nor any other).
INGEST_TABLES = ("transactions", "quarantine", "ingest_files", "ingest_runs", "key_check")
# Valid id characters only, so that only its length (10 KB) makes it invalid.
HUGE_ID = "ID" + "0123456789" * 1024

# Quarantine reasons, as the spec names them.
MALFORMED = "malformed_record"
MISSING_ID = "missing_customer_id"
INVALID_ID = "invalid_customer_id"
MISSING_TIME = "missing_purchase_time"
UNPARSEABLE_TIME = "unparseable_purchase_time"
BEFORE_FLOOR = "purchase_time_before_floor"
EPOCH_ZERO = "epoch_zero_purchase_time"
INVALID_QUANTITY = "invalid_quantity"
INVALID_PRICE = "invalid_unit_price"
INVALID_AMOUNT = "invalid_amount"
AMOUNT_OUT_OF_RANGE = "amount_out_of_range"
SIGN_MISMATCH = "amount_sign_mismatch"
CANCELLATION = "cancellation"
RETURN = "return"
REPLACEMENT = "replacement_characters"


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one source file must give: rows read from it (ingest_files.rows_read), rows
    written to transactions, and the reasons of each quarantined row (one sorted tuple per
    row, the rows sorted)."""

    rows_read: int | None
    written: int
    quarantined: tuple[tuple[str, ...], ...] = ()

    @property
    def reason_counts(self) -> Counter:
        return Counter(reason for reasons in self.quarantined for reason in reasons)


def expect(rows_read: int | None, written: int, *quarantined) -> Outcome:
    """``expect(3, 1, [A], [A, B])``: 3 rows read, 1 written, two rows quarantined."""
    rows = tuple(sorted(tuple(sorted(reasons)) for reasons in quarantined))
    return Outcome(rows_read, written, rows)


@dataclasses.dataclass(frozen=True)
class RunCase:
    """The files of one ingest run with their outcomes, and the run-level counts that are
    not the sum of per-file outcomes."""

    files: dict
    duplicates_removed: int = 0
    identical_lines: int = 0
    rows_with_replacement_characters: int = 0


# Row-level files under the defaults (duplicate_lines: keep, replacement_characters: warn,
# floor 1900-01-01, no upper bound), max_quarantine_share 1.0: rows/ + duplicates/ +
# generated files. Comments list the data rows in file order.
ROWS = {
    # 1e308 price | 1e20 quantity | 10^20 quantity | 99999999 x 99999999999 | 1.5 units | clean
    "numbers.csv": expect(
        6,
        1,
        [INVALID_PRICE],
        [INVALID_QUANTITY],
        [INVALID_QUANTITY],
        [AMOUNT_OUT_OF_RANGE],
        [INVALID_QUANTITY],
    ),
    # quantity NaN | inf | Infinity, price NaN | inf | -Infinity, both not finite
    "non_finite.csv": expect(
        7,
        0,
        [INVALID_QUANTITY],
        [INVALID_QUANTITY],
        [INVALID_QUANTITY],
        [INVALID_PRICE],
        [INVALID_PRICE],
        [INVALID_PRICE],
        [INVALID_QUANTITY, INVALID_PRICE],
    ),
    # "1,234.50" price | "1,000" quantity | "2,55" price | $2.55 price | clean
    "formatted_numbers.csv": expect(
        5, 1, [INVALID_PRICE], [INVALID_QUANTITY], [INVALID_PRICE], [INVALID_PRICE]
    ),
    # 1997 (written) | 1900-01-01 (the floor itself: written) | 1899 | epoch zero |
    # epoch + 1 s (written) | 2030 (written: no upper bound) | blank time
    "time_bounds.csv": expect(7, 4, [BEFORE_FLOOR], [EPOCH_ZERO], [MISSING_TIME]),
    # 01/12/2010 08:26 | ISO with T | no seconds | date only | month 13 | clean
    "date_formats.csv": expect(
        6,
        1,
        [UNPARSEABLE_TIME],
        [UNPARSEABLE_TIME],
        [UNPARSEABLE_TIME],
        [UNPARSEABLE_TIME],
        [UNPARSEABLE_TIME],
    ),
    # 17850.0 (written) | 17850.5 | blank | spaces only | "1; DROP TABLE x" | 17850 (written) |
    # 17850.00 (written)
    "ids.csv": expect(7, 3, [INVALID_ID], [MISSING_ID], [MISSING_ID], [INVALID_ID]),
    # clean | 8 fields (all 7 mapped values valid) | 6 fields (no time) |
    # unclosed quote (swallows the rest of the line: 4 fields) | clean (not swallowed)
    "shape_errors.csv": expect(
        5,
        2,
        [MALFORMED],
        [MALFORMED, MISSING_TIME],
        [MALFORMED, MISSING_TIME, INVALID_QUANTITY, INVALID_PRICE],
    ),
    # clean | `...,"WHITE HANGING HEART` (4 fields) | `T-LIGHT HOLDER",2.55,6,<time>` (4 fields,
    # its id `T-LIGHT HOLDER"` invalid, its time missing) | clean
    "embedded_newline.csv": expect(
        4,
        2,
        [MALFORMED, MISSING_TIME, INVALID_QUANTITY, INVALID_PRICE],
        [MALFORMED, INVALID_ID, MISSING_TIME, INVALID_QUANTITY, INVALID_PRICE],
    ),
    # clean | the header again: id "customer_id" is a valid id, the rest is not a value | clean
    "repeated_header.csv": expect(3, 2, [UNPARSEABLE_TIME, INVALID_QUANTITY, INVALID_PRICE]),
    "reordered_columns.csv": expect(2, 2),
    # unmapped store and note columns around the mapped ones: clean | price "abc"
    "extra_columns.csv": expect(2, 1, [INVALID_PRICE]),
    "only_cancellations.csv": expect(3, 0, [CANCELLATION], [CANCELLATION], [CANCELLATION]),
    "header_only.csv": expect(0, 0),
    # a line, the same line again, another line: keep writes all three
    "identical_lines.csv": expect(3, 3),
    # equal in every mapped column, store differs: not identical lines
    "unmapped_column_differs.csv": expect(2, 2),
    # generated by _write_generated_rows
    "bom.csv": expect(2, 2),
    "crlf.csv": expect(3, 3),
    "latin1_byte.csv": expect(2, 2),  # U+FFFD counted, written under warn
    "huge_id.csv": expect(2, 1, [INVALID_ID]),
}

# duplicate_lines: drop and replacement_characters: quarantine, in one run.
STRICT = {
    "identical_lines.csv": expect(3, 2),
    "unmapped_column_differs.csv": expect(2, 2),
    "latin1_byte.csv": expect(2, 1, [REPLACEMENT]),
}

# input.csv.multiline: true: quoted line breaks are inside one value.
MULTILINE = {"quoted_newlines.csv": expect(4, 4)}

# amount mapped (returns: drop): clean | -11.10 with quantity 6 | 11.10 with quantity -6 |
# "abc" | 1e15 (outside decimal(18,4)) | -11.10 with quantity -6 (a return, signs agree)
AMOUNT = {
    "with_amount.csv": expect(
        6,
        1,
        [SIGN_MISMATCH],
        [SIGN_MISMATCH, RETURN],
        [INVALID_AMOUNT],
        [INVALID_AMOUNT],
        [RETURN],
    )
}

RUNS = {
    "rows": RunCase(ROWS, identical_lines=1, rows_with_replacement_characters=1),
    "strict": RunCase(
        STRICT, duplicates_removed=1, identical_lines=1, rows_with_replacement_characters=1
    ),
    "multiline": RunCase(MULTILINE),
    "amount": RunCase(AMOUNT),
}


@dataclasses.dataclass(frozen=True)
class Ingested:
    """One finished ingest run and what it wrote, per source file name."""

    settings: Settings
    summary: dict
    root: Path
    outcomes: dict
    reason_counts: dict


def _file_name(source_file: str) -> str:
    return source_file.rsplit("/", 1)[-1]


def _run(spark, settings: Settings, run_id: str = "run-1") -> dict:
    """The ingest stage's summary as the log file records it (``as_dict``)."""
    return pipeline.run_stage(
        spark, settings, RunContext(run_id, dt.datetime(2026, 1, 1)), "ingest"
    ).as_dict()


def _table(spark, settings: Settings, name: str):
    return delta_io.read_table(spark, settings.warehouse_root, name)


def _input(settings: Settings, data: Path, **changes) -> Settings:
    return replace(settings, **{"input.path": str(data), "input.columns": dict(COLUMNS), **changes})


def _copy_csv(source: Path, target: Path) -> None:
    for path in sorted(source.glob("*.csv")):
        shutil.copy(path, target / path.name)


def _write_latin1_byte(folder: Path) -> None:
    """A UTF-8 file with one Latin-1 é (a raw 0xE9 byte): decoded as U+FFFD."""
    (folder / "latin1_byte.csv").write_bytes(
        HEADER.encode()
        + b"12583,601701,22632,CAF\xe9 AU LAIT,2.55,6,2010-12-17 10:00:00\n"
        + b"12583,601702,22632,PLAIN ASCII,2.55,6,2010-12-17 10:01:00\n"
    )


def _write_generated_rows(folder: Path) -> None:
    """The row-level files git or an editor would not keep byte for byte."""
    bom_rows = (
        "13047,601501,22632,BOM FIRST ROW,2.55,6,2010-12-15 10:00:00\n"
        "13047,601502,22632,BOM SECOND ROW,2.55,6,2010-12-15 10:01:00\n"
    )
    (folder / "bom.csv").write_bytes(codecs.BOM_UTF8 + (HEADER + bom_rows).encode())
    crlf_rows = "".join(
        f"12583,60160{i},22632,CRLF {i},2.55,6,2010-12-16 10:0{i}:00\n" for i in (1, 2, 3)
    )
    (folder / "crlf.csv").write_bytes((HEADER + crlf_rows).replace("\n", "\r\n").encode())
    _write_latin1_byte(folder)
    (folder / "huge_id.csv").write_text(
        HEADER
        + "12583,601801,22632,NORMAL ID,2.55,6,2010-12-18 10:00:00\n"
        + f"{HUGE_ID},601802,22632,HUGE ID,2.55,6,2010-12-18 10:01:00\n",
        encoding="utf-8",
    )


def _observed(spark, settings: Settings) -> tuple[dict, dict]:
    """(file name -> Outcome, file name -> Counter of exploded quarantine reasons)."""
    root = settings.warehouse_root
    read = {
        _file_name(row["source_file"]): int(row["rows_read"])
        for row in _table(spark, settings, "ingest_files").collect()
    }
    written: Counter = Counter()
    transactions = delta_io.maybe_read_table(spark, root, "transactions")
    if transactions is not None:
        for row in transactions.groupBy("source_file").count().collect():
            written[_file_name(row["source_file"])] = int(row["count"])
    quarantined = defaultdict(list)
    reason_counts: dict = defaultdict(Counter)
    quarantine = delta_io.maybe_read_table(spark, root, "quarantine")
    if quarantine is not None:
        for row in quarantine.select("source_file", "reasons").collect():
            quarantined[_file_name(row["source_file"])].append(row["reasons"])
        exploded = quarantine.select("source_file", F.explode("reasons").alias("reason"))
        for row in exploded.groupBy("source_file", "reason").count().collect():
            reason_counts[_file_name(row["source_file"])][row["reason"]] = int(row["count"])
    names = set(read) | set(written) | set(quarantined)
    outcomes = {name: expect(read.get(name), written[name], *quarantined[name]) for name in names}
    return outcomes, dict(reason_counts)


def _ingest_folder(spark, tmp_path_factory, run: str, fill, **changes) -> Ingested:
    """Fills a fresh input folder, ingests it once with the key set, and reads the outcome."""
    root = tmp_path_factory.mktemp(f"bad_{run}")
    data = root / "raw"
    data.mkdir()
    fill(data)
    base = replace(
        Settings(), **{"warehouse": str(root / "warehouse"), "spark.shuffle_partitions": 2}
    )
    configured = _input(base, data, **{"cleaning.max_quarantine_share": 1.0, **changes})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CUSTSEG_HASH_KEY", TEST_HASH_KEY)
        summary = _run(spark, configured, run_id=f"bad-{run}")
    outcomes, reason_counts = _observed(spark, configured)
    return Ingested(configured, summary, root, outcomes, reason_counts)


@pytest.fixture(scope="module")
def rows_ingested(spark, tmp_path_factory):
    """Every row-level case under the default rules, in one run."""

    def fill(data: Path) -> None:
        _copy_csv(BAD / "rows", data)
        _copy_csv(BAD / "duplicates", data)
        _write_generated_rows(data)

    return _ingest_folder(spark, tmp_path_factory, "rows", fill)


@pytest.fixture(scope="module")
def strict_ingested(spark, tmp_path_factory):
    """The two non-default policies: identical lines dropped, U+FFFD rows quarantined."""

    def fill(data: Path) -> None:
        _copy_csv(BAD / "duplicates", data)
        _write_latin1_byte(data)

    return _ingest_folder(
        spark,
        tmp_path_factory,
        "strict",
        fill,
        **{
            "cleaning.duplicate_lines": "drop",
            "cleaning.replacement_characters": "quarantine",
        },
    )


@pytest.fixture(scope="module")
def multiline_ingested(spark, tmp_path_factory):
    """Quoted line breaks read as part of one value (input.csv.multiline: true)."""
    return _ingest_folder(
        spark,
        tmp_path_factory,
        "multiline",
        lambda data: _copy_csv(BAD / "multiline", data),
        **{"input.csv.multiline": True},
    )


@pytest.fixture(scope="module")
def amount_ingested(spark, tmp_path_factory):
    """A file with its own line total, mapped as amount."""
    return _ingest_folder(
        spark,
        tmp_path_factory,
        "amount",
        lambda data: _copy_csv(BAD / "amount", data),
        **{"input.columns": {**COLUMNS, "amount": "amount"}},
    )


FILE_CASES = [(run, name) for run, case in RUNS.items() for name in case.files]


@pytest.mark.parametrize("run, name", FILE_CASES, ids=[f"{run}/{name}" for run, name in FILE_CASES])
def test_each_file_gives_its_expected_rows_and_reasons(request, run, name):
    """Rows read, written and quarantined (with every rule each row broke) per file."""
    ingested = request.getfixturevalue(f"{run}_ingested")
    assert ingested.outcomes.get(name) == RUNS[run].files[name]


@pytest.mark.parametrize("run", list(RUNS))
def test_reason_counts_per_file_and_no_file_unaccounted(request, run):
    """The exploded reasons per source file, and exactly the corpus files in the tables
    (a header-only file is registered with 0 rows)."""
    ingested = request.getfixturevalue(f"{run}_ingested")
    files = RUNS[run].files
    assert set(ingested.outcomes) == set(files)
    assert ingested.reason_counts == {
        name: outcome.reason_counts for name, outcome in files.items() if outcome.quarantined
    }


@pytest.mark.parametrize("run", list(RUNS))
def test_run_totals_reconcile_in_summary_and_ingest_runs(spark, request, run):
    """Totals are the sums over the files, and read = written + quarantined + removed."""
    ingested = request.getfixturevalue(f"{run}_ingested")
    case = RUNS[run]
    outcomes = case.files.values()
    expected = {
        "rows_read": sum(o.rows_read for o in outcomes),
        "rows_written": sum(o.written for o in outcomes),
        "rows_quarantined": sum(len(o.quarantined) for o in outcomes),
        "duplicates_removed": case.duplicates_removed,
        "identical_lines": case.identical_lines,
        "rows_with_replacement_characters": case.rows_with_replacement_characters,
        "quarantined_by_reason": dict(sum((o.reason_counts for o in outcomes), Counter())),
    }
    summary = ingested.summary
    assert {key: summary.get(key) for key in expected} == expected
    assert summary["rows_read"] == (
        summary["rows_written"] + summary["rows_quarantined"] + summary["duplicates_removed"]
    )
    runs = _table(spark, ingested.settings, "ingest_runs").collect()
    assert len(runs) == 1
    recorded = runs[0].asDict()
    assert {key: recorded.get(key) for key in expected} == expected


def _quarantine_rows(spark, ingested: Ingested) -> dict:
    """(file name, source_row) -> (raw_record as a dict, customer_key)."""
    rows = _table(spark, ingested.settings, "quarantine").collect()
    found = {}
    for row in rows:
        position = (_file_name(row["source_file"]), row["source_row"])
        assert position not in found, f"two quarantine rows at {position}"
        found[position] = (json.loads(row["raw_record"]), row["customer_key"])
    return found


def test_source_row_points_at_the_data_row(spark, rows_ingested):
    """source_row is the 1-based data row of its file (header not counted)."""
    rows = _quarantine_rows(spark, rows_ingested)
    for (name, number), _ in rows.items():
        assert 1 <= number <= ROWS[name].rows_read, (name, number)
    for name, number, value in [
        ("ids.csv", 3, "600603"),  # the blank id
        ("date_formats.csv", 5, "600505"),  # month 13
        ("repeated_header.csv", 2, "item_name"),  # the repeated header line
    ]:
        raw, _ = rows[(name, number)]
        assert value in raw.values(), (name, number, raw)
    # a malformed line keeps only its id's key: any of its fields may hold a shifted id
    raw, _ = rows[("shape_errors.csv", 3)]  # too few fields
    assert [name for name, value in raw.items() if value is not None] == ["customer_id"]


def test_raw_record_holds_keys_instead_of_ids(spark, rows_ingested):
    """Every raw id in quarantine is replaced: by its HMAC (valid or not), null when blank;
    customer_key only for a valid id."""
    rows = _quarantine_rows(spark, rows_ingested)
    for position in [("ids.csv", 3), ("ids.csv", 4)]:  # blank, spaces only
        raw, key = rows[position]
        assert raw.get("customer_id") is None and key is None, position
    for position in [("ids.csv", 2), ("ids.csv", 5), ("huge_id.csv", 2)]:  # invalid ids
        raw, key = rows[position]
        assert re.fullmatch(r"[0-9a-f]{64}", raw["customer_id"]) and key is None, position
    raw, key = rows[("repeated_header.csv", 2)]  # "customer_id" is a valid id
    assert raw["customer_id"] == key == hmac_hex(TEST_HASH_KEY.encode(), "customer_id")


def _table_text(spark, ingested: Ingested, name: str) -> str:
    """Every value of a table as text (the run's own folder path cut out)."""
    frame = _table(spark, ingested.settings, name)
    # duration_seconds is a measured float: its digits could spell an id by chance
    columns = [c for c in frame.columns if c != "duration_seconds"]
    values = frame.select([F.col(f"`{c}`").cast("string") for c in columns]).collect()
    text = "\n".join(str(value) for row in values for value in row)
    return text.replace(str(ingested.root), "<root>")


def test_no_raw_id_unmapped_value_or_malformed_text_in_any_table(spark, rows_ingested):
    """Raw ids (valid, float-tailed, SQL-like, 10 KB), unmapped columns and the text of
    malformed lines never reach a table or the Delta log."""
    markers = ["17850", "DROP TABLE", HUGE_ID[:32], TEST_HASH_KEY]
    for name in ("transactions", "quarantine", "ingest_files", "ingest_runs"):
        text = _table_text(spark, rows_ingested, name)
        for marker in markers:
            assert marker not in text, (name, marker[:40])
    quarantine = _table_text(spark, rows_ingested, "quarantine")
    for unmapped in ("UNMAPPED-NOTE-TEXT", "first note", "PARIS", "LONDON", "surplus"):
        assert unmapped not in quarantine, unmapped
    warehouse = Path(rows_ingested.settings.warehouse_root)
    for log in warehouse.rglob("_delta_log/*.json"):
        content = log.read_text(encoding="utf-8", errors="replace")
        for marker in markers:
            assert marker not in content, (log, marker[:40])


def _written(spark, settings: Settings, file_name: str) -> list[dict]:
    """The transactions of one source file by order id, times as text in the session time
    zone (a collected timestamp would be shifted to the local one)."""
    frame = _table(spark, settings, "transactions").select(
        "source_file",
        "customer_key",
        "order_id",
        "item_name",
        "quantity",
        F.col("amount").cast("double").alias("amount"),
        F.date_format("purchase_time", "yyyy-MM-dd HH:mm:ss").alias("time"),
    )
    rows = [row.asDict() for row in frame.collect()]
    return sorted(
        (row for row in rows if _file_name(row["source_file"]) == file_name),
        key=lambda row: row["order_id"],
    )


def test_float_tailed_ids_are_one_customer(spark, rows_ingested):
    """17850.0, 17850 and 17850.00 are the same customer."""
    written = _written(spark, rows_ingested.settings, "ids.csv")
    assert [row["order_id"] for row in written] == ["600601", "600606", "600607"]
    assert {row["customer_key"] for row in written} == {hmac_hex(TEST_HASH_KEY.encode(), "17850")}


def test_time_bounds_by_default(spark, rows_ingested):
    """The 1900 floor is inclusive, only exact epoch zero is suspect, and nothing is too
    late by default (2030 is written; rfm.as_of is no ingest bound)."""
    times = [row["time"] for row in _written(spark, rows_ingested.settings, "time_bounds.csv")]
    assert times == [
        "1997-01-01 00:00:00",
        "1900-01-01 00:00:00",
        "1970-01-01 00:00:01",
        "2030-06-01 10:00:00",
    ]


def test_bom_crlf_and_reordered_columns_read_like_plain_files(spark, rows_ingested):
    """A BOM does not rename the first column, CRLF leaves no \\r in the last one, and a
    reordered header maps values by name."""
    bom = _written(spark, rows_ingested.settings, "bom.csv")
    assert {row["customer_key"] for row in bom} == {hmac_hex(TEST_HASH_KEY.encode(), "13047")}
    crlf = _written(spark, rows_ingested.settings, "crlf.csv")
    assert [row["time"] for row in crlf] == [f"2010-12-16 10:0{i}:00" for i in (1, 2, 3)]
    reordered = _written(spark, rows_ingested.settings, "reordered_columns.csv")
    assert [(r["item_name"], r["quantity"], r["amount"]) for r in reordered] == [
        ("REORDERED A", 4, 20.0),
        ("REORDERED B", 2, 2.5),
    ]


def test_undecodable_byte_is_written_as_a_replacement_character_by_default(spark, rows_ingested):
    """Under replacement_characters: warn the row is written (and counted)."""
    names = [row["item_name"] for row in _written(spark, rows_ingested.settings, "latin1_byte.csv")]
    assert names == ["CAF\ufffd AU LAIT", "PLAIN ASCII"]


def test_identical_lines_are_kept_by_default_and_dropped_under_drop(
    spark, rows_ingested, strict_ingested
):
    """A repeated line is two purchases under keep and one under drop; a line that differs
    only in an unmapped column is never a repeat."""
    kept = _written(spark, rows_ingested.settings, "identical_lines.csv")
    assert [row["order_id"] for row in kept] == ["601301", "601301", "601302"]
    dropped = _written(spark, strict_ingested.settings, "identical_lines.csv")
    assert [row["order_id"] for row in dropped] == ["601301", "601302"]
    for ingested in (rows_ingested, strict_ingested):
        stores = _written(spark, ingested.settings, "unmapped_column_differs.csv")
        assert [row["order_id"] for row in stores] == ["601401", "601401"]


def test_multiline_keeps_line_breaks_inside_the_value(spark, multiline_ingested):
    """With input.csv.multiline the pieces that are malformed rows by default (see
    rows/embedded_newline.csv) are one clean row each, line breaks kept."""
    names = [
        row["item_name"]
        for row in _written(spark, multiline_ingested.settings, "quoted_newlines.csv")
    ]
    assert names == [
        "ONE LINE",
        "WHITE HANGING HEART\nT-LIGHT HOLDER",
        "SET OF 3, CAKE TINS\nPANTRY\nDESIGN",
        "LAST LINE",
    ]


def test_mapped_amount_is_taken_as_given(spark, amount_ingested):
    """A mapped amount is the line total as written, not quantity x unit_price."""
    written = _written(spark, amount_ingested.settings, "with_amount.csv")
    assert [(row["order_id"], row["amount"]) for row in written] == [("602401", 11.1)]


def test_only_cancellations_is_refused_under_the_default_share(spark, settings, tmp_path):
    """Every row is a cancellation: above max_quarantine_share 0.5 the run is refused, but
    the quarantine rows are written so they can be looked at."""
    data = tmp_path / "raw"
    data.mkdir()
    shutil.copy(BAD / "rows" / "only_cancellations.csv", data)
    configured = _input(settings, data)
    with pytest.raises(IngestRejected, match="max_quarantine_share"):
        _run(spark, configured)
    assert not delta_io.table_exists(spark, configured.table_path("transactions"))
    reasons = [row["reasons"] for row in _table(spark, configured, "quarantine").collect()]
    assert reasons == [[CANCELLATION]] * 3


def test_file_names_with_glob_characters_are_read_literally(spark, settings, tmp_path):
    """[, ], {, }, * and ? in a file name are characters, not patterns: each file gives its
    own rows once, and the decoys a pattern would match are not read twice."""
    data = tmp_path / "glob_names"
    shutil.copytree(FILES / "glob_names", data)
    # * and ? cannot be checked in (not valid in Windows file names)
    (data / "a*b.csv").write_text(
        HEADER
        + "12583,605601,22632,LITERAL STAR A,2.55,6,2010-12-15 16:00:00\n"
        + "12583,605602,22632,LITERAL STAR B,2.55,6,2010-12-15 16:01:00\n",
        encoding="utf-8",
    )
    (data / "what?.csv").write_text(
        HEADER + "12583,605701,22632,LITERAL QUESTION MARK,2.55,6,2010-12-15 17:00:00\n",
        encoding="utf-8",
    )
    configured = _input(settings, data)
    summary = _run(spark, configured)
    expected = {
        "sales[2010].csv": ["605001", "605002"],
        "week{49}.csv": ["605101"],
        "a*b.csv": ["605601", "605602"],
        "what?.csv": ["605701"],
        "sales2.csv": ["605201"],
        "week49.csv": ["605301"],
        "a_b.csv": ["605401"],
        "what1.csv": ["605501"],
    }
    orders = defaultdict(list)
    for row in _table(spark, configured, "transactions").collect():
        orders[_file_name(row["source_file"])].append(row["order_id"])
    assert {name: sorted(ids) for name, ids in orders.items()} == expected
    registry = {
        _file_name(row["source_file"]): row["rows_read"]
        for row in _table(spark, configured, "ingest_files").collect()
    }
    assert registry == {name: len(ids) for name, ids in expected.items()}
    assert (summary["rows_read"], summary["rows_written"]) == (10, 10)
    # input.path naming such a file is that file, not a pattern matching sales2.csv
    literal = _input(replace(settings, warehouse=str(tmp_path / "other")), data / "sales[2010].csv")
    assert _run(spark, literal, "run-2")["files_read"] == 1
    read = {
        _file_name(row["source_file"]) for row in _table(spark, literal, "transactions").collect()
    }
    assert read == {"sales[2010].csv"}


def _write_parquet_schemas(folder: Path) -> None:
    """Three files, three schemas for the same mapped columns (typed, text, other types)."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(
        pa.table(
            {
                "customer_id": pa.array([12583, 12583], pa.int64()),
                "order_id": ["602001", "602002"],
                "item_id": ["22632", "22633"],
                "item_name": ["TYPED A", "TYPED B"],
                "unit_price": pa.array([2.5, 1.25], pa.float64()),
                "item_count": pa.array([3, 4], pa.int64()),
                "purchase_time": pa.array(
                    [dt.datetime(2010, 12, 20, 8), dt.datetime(2010, 12, 20, 9)], pa.timestamp("us")
                ),
            }
        ),
        folder / "typed.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "store": ["LONDON"],
                "customer_id": ["13047"],
                "order_id": ["602101"],
                "item_id": ["22634"],
                "item_name": ["TEXT"],
                "unit_price": ["1.50"],
                "item_count": ["2"],
                "purchase_time": ["2010-12-21 10:00:00"],
            }
        ),
        folder / "text.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "customer_id": pa.array([14688.0], pa.float64()),
                "order_id": pa.array([602201], pa.int64()),
                "item_id": ["22635"],
                "item_name": ["FLOAT ID"],
                "unit_price": pa.array([decimal.Decimal("3.50")], pa.decimal128(10, 2)),
                "item_count": pa.array([1], pa.int32()),
                "purchase_time": pa.array([dt.datetime(2010, 12, 22, 11)], pa.timestamp("ms")),
            }
        ),
        folder / "float_ids.parquet",
    )


def test_parquet_files_with_different_schemas_are_read_group_by_group(spark, settings, tmp_path):
    """Each schema group's mapped columns are cast to string, then cleaned like CSV text."""
    data = tmp_path / "pq"
    data.mkdir()
    _write_parquet_schemas(data)
    configured = _input(settings, data, **{"input.format": "parquet"})
    summary = _run(spark, configured)
    assert (summary["rows_read"], summary["rows_written"], summary["rows_quarantined"]) == (4, 4, 0)
    key = {i: hmac_hex(TEST_HASH_KEY.encode(), i) for i in ("12583", "13047", "14688")}
    got = {
        name: [
            (r["order_id"], r["customer_key"], r["amount"], r["time"])
            for r in _written(spark, configured, name)
        ]
        for name in ("typed.parquet", "text.parquet", "float_ids.parquet")
    }
    assert got == {
        "typed.parquet": [
            ("602001", key["12583"], 7.5, "2010-12-20 08:00:00"),
            ("602002", key["12583"], 5.0, "2010-12-20 09:00:00"),
        ],
        "text.parquet": [("602101", key["13047"], 3.0, "2010-12-21 10:00:00")],
        "float_ids.parquet": [("602201", key["14688"], 3.5, "2010-12-22 11:00:00")],
    }


def _assert_nothing_written(spark, warehouse_root: str, cli_run: bool = False) -> None:
    """A refused file leaves no table behind (and no half-created Delta log); a CLI run
    only appends its failure to ``runs``, the log of runs."""
    for name in INGEST_TABLES:
        assert not delta_io.table_exists(spark, table_location(warehouse_root, name)), name
    warehouse = Path(warehouse_root.removeprefix("file:"))
    if warehouse.exists():
        logs = [
            p for p in warehouse.rglob("_delta_log") if not (cli_run and p.parent.name == "runs")
        ]
        assert not logs, logs
    if cli_run:
        runs = delta_io.read_table(spark, warehouse_root, "runs").collect()
        assert [(r["command"], r["outcome"]) for r in runs] == [("ingest", "failed")]


def _assert_one_line_naming(message: str, name: str, *keywords: str) -> None:
    assert len(message.splitlines()) == 1, message
    assert name in message, message
    for keyword in keywords:
        assert keyword in message, message


def test_parquet_file_lacking_a_mapped_column_is_refused(spark, settings, tmp_path):
    """One file of the folder lacks purchase_time: the whole input is refused, naming it."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    data = tmp_path / "pq"
    data.mkdir()
    complete = {
        "customer_id": ["12583"],
        "order_id": ["602301"],
        "item_id": ["22632"],
        "item_name": ["COMPLETE"],
        "unit_price": ["2.55"],
        "item_count": ["6"],
        "purchase_time": ["2010-12-23 10:00:00"],
    }
    pq.write_table(pa.table(complete), data / "complete.parquet")
    lacking = {k: v for k, v in complete.items() if k != "purchase_time"}
    pq.write_table(pa.table(lacking), data / "no_purchase_time.parquet")
    configured = _input(settings, data, **{"input.format": "parquet"})
    with pytest.raises(SourceError) as error:
        _run(spark, configured)
    _assert_one_line_naming(str(error.value), "no_purchase_time.parquet", "missing column")
    _assert_nothing_written(spark, configured.warehouse_root)


def _write_truncated_gzip(folder: Path) -> None:
    """A valid gzip cut in half: the header still decompresses, the rows do not."""
    rows = "".join(
        f"12583,{604000 + i},22632,ROW {i},2.55,6,2010-12-01 08:26:00\n" for i in range(500)
    )
    packed = gzip.compress((HEADER + rows).encode())
    (folder / "truncated.csv.gz").write_bytes(packed[: len(packed) // 2])


def _checked_in(case: str):
    return lambda folder: shutil.copytree(FILES / case, folder, dirs_exist_ok=True)


# case -> (fills the input folder, the name the message must give, its keywords)
FILE_ERRORS = {
    "empty": (_checked_in("empty"), "empty.csv", ["is empty"]),
    "semicolons": (_checked_in("semicolons"), "semicolons.csv", ["missing column(s)"]),
    "missing_column": (
        _checked_in("missing_column"),
        "no_purchase_time.csv",
        ["missing column(s)", "purchase_time"],
    ),
    "truncated_gzip": (_write_truncated_gzip, "truncated.csv.gz", ["cannot be read"]),
    "not_gzip": (_checked_in("not_gzip"), "plain_text.csv.gz", ["cannot be read"]),
    # no file to name: the message names the folder
    "no_csv": (_checked_in("no_csv"), "no_csv", ["no csv files found"]),
}


@pytest.mark.parametrize("case", list(FILE_ERRORS))
def test_file_level_problem_is_one_line_naming_the_file_and_writes_nothing(
    spark, settings, tmp_path, case
):
    """A file that cannot be read as configured stops the run before any write."""
    fill, name, keywords = FILE_ERRORS[case]
    data = tmp_path / case
    data.mkdir()
    fill(data)
    configured = _input(settings, data)
    with pytest.raises(SourceError) as error:
        _run(spark, configured)
    _assert_one_line_naming(str(error.value), name, *keywords)
    _assert_nothing_written(spark, configured.warehouse_root)


def test_cli_reports_a_truncated_gzip_in_one_line_and_exits_1(spark, tmp_path):
    """`custseg ingest` in a process of its own, so that what the JVM prints is seen too:
    one line naming the file, exit code 1, no Java or Python stack trace on the console."""
    data = tmp_path / "raw"
    data.mkdir()
    _write_truncated_gzip(data)
    warehouse = tmp_path / "warehouse"
    columns = "{" + ", ".join(f"{k}: {v}" for k, v in COLUMNS.items()) + "}"
    overrides = [f"input.path={data}", f"warehouse={warehouse}", f"input.columns={columns}"]
    result = subprocess.run(
        [sys.executable, "-m", "custseg.layer4_commands.cli", "ingest"]
        + [arg for item in [*overrides, "spark.shuffle_partitions=2"] for arg in ("--set", item)],
        env={**os.environ, "CUSTSEG_HASH_KEY": TEST_HASH_KEY},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    err = result.stderr
    assert result.returncode == cli.EXIT_FAILED, err
    failure = [line for line in err.splitlines() if line.startswith("custseg ingest failed: ")]
    assert len(failure) == 1, err
    _assert_one_line_naming(failure[0], "truncated.csv.gz", "cannot be read")
    assert not re.search(r"Traceback|Exception in task|^\s+at [a-z]+\.", err, re.MULTILINE), err
    _assert_nothing_written(spark, str(warehouse), cli_run=True)
