"""``custseg keys``: customer keys for the user's own files, so a CRM joins custseg's tables.

custseg stores only keys and cannot reverse one; the CRM holds the raw ids anyway, so it
computes the keys on its side, with ingest's own canonicalisation (``17850.0`` is
``17850``) and HMAC, and joins on ``customer_key``. Keys under another key than the
warehouse's would silently join nothing, so a warehouse's recorded key check is enforced.
Like ingest, the key's pads come from a broadcast one-row frame, never a literal, so plans
do not show them (``pseudonym``).
"""

from __future__ import annotations

import dataclasses
import logging

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.layer1_core.config import CleaningSettings, Settings
from custseg.layer1_core.file_formats import READ_FORMATS, FileError, file_format
from custseg.layer1_core.tables import CUSTOMER_KEY
from custseg.layer2_io.locations import display_location, file_system, hadoop_path
from custseg.layer2_io.single_file import CSV, check_output, write_single_file
from custseg.layer2_io.spark import cached
from custseg.layer3_stages.ingest.clean import canonical_customer_id
from custseg.layer3_stages.ingest.pseudonym import (
    HashKeyError,
    check_key_matches,
    load_hash_key,
    with_customer_key,
)
from custseg.layer3_stages.ingest.sources import header_hint, literal_path
from custseg.layer3_stages.ingest.stage import recorded_key_check

log = logging.getLogger("custseg")


class KeysError(FileError):
    """A problem with the file to key, in one line; never a value."""


@dataclasses.dataclass(frozen=True)
class KeysResult:
    output: str
    rows: int
    without_key: int
    key_checked: bool  # the key was compared with the warehouse's key_check


def with_customer_keys(
    frame: DataFrame, id_column: str, key: bytes, cleaning: CleaningSettings
) -> DataFrame:
    """``frame`` with ``customer_key`` last: null where the id is blank or not an id under
    ``cleaning``'s rules (where ingest quarantines the row). The id is cast to text first,
    as ingest reads it, so a Parquet double 17850.0 keys like the text ``17850``."""
    if id_column not in frame.columns:
        raise KeysError(f"no column {id_column!r} (--id-column); {header_hint(frame.columns)}")
    if CUSTOMER_KEY in frame.columns:
        raise KeysError(f"the file already has a column {CUSTOMER_KEY!r}")
    raw = F.col("`{}`".format(id_column.replace("`", "``"))).cast("string")
    canonical = canonical_customer_id(
        raw, cleaning.customer_id_pattern, cleaning.customer_id_max_length
    )
    return with_customer_key(frame, canonical, key, output=CUSTOMER_KEY)


def count_without_key(keyed: DataFrame) -> tuple[int, int]:
    """(rows, rows without a key) in one pass."""
    row = keyed.agg(
        F.count(F.lit(1)).alias("rows"), F.count_if(F.col(CUSTOMER_KEY).isNull()).alias("missing")
    ).first()
    return int(row["rows"]), int(row["missing"])


def read_keys_input(spark: SparkSession, path: str) -> DataFrame:
    """Every column as the file has it; CSV columns stay text (no inferred types), so
    each value is written back exactly as read."""
    fmt = file_format(path, READ_FORMATS, "--in")
    if not file_system(spark, path).exists(hadoop_path(spark, path)):
        raise KeysError(f"--in {path} does not exist")
    reader = spark.read.format(fmt)
    if fmt == "csv":
        reader = (
            reader.option("header", "true")
            .options(**CSV.spark_format_options())
            .option("multiLine", str(CSV.multiline).lower())
        )
    return reader.load(literal_path(path))


def check_warehouse_key(spark: SparkSession, warehouse_root: str, key: bytes) -> bool:
    """True when the key is the one the warehouse recorded; a warehouse without a key_check
    yet cannot be checked (warned, not refused); another key is refused."""
    recorded = recorded_key_check(spark, warehouse_root)
    if recorded is None:
        log.warning(
            "keys: warehouse %s has no key_check yet; the key could not be checked",
            display_location(warehouse_root),
        )
        return False
    try:
        check_key_matches(recorded, key)
    except HashKeyError:
        raise HashKeyError(
            f"the hashing key differs from the key warehouse {display_location(warehouse_root)} "
            "was written with (table key_check): these keys would join none of its customers; "
            "use the key its ingest used"
        ) from None
    return True


def key_file(
    spark: SparkSession, settings: Settings, source: str, id_column: str, target: str
) -> KeysResult:
    """``source`` with ``customer_key`` appended, written to ``target``: every row and
    column kept in order. The keys are computed in parallel and cached, counted, then
    written by one task (a single file); checks come before any work."""
    key = load_hash_key(settings.pseudonym.key_env, settings.pseudonym.key_file)
    final = check_output(spark, target, source)
    checked = check_warehouse_key(spark, settings.warehouse_root, key)
    rows_with_keys = with_customer_keys(
        read_keys_input(spark, source), id_column, key, settings.cleaning
    )
    with cached(rows_with_keys) as keyed:
        rows, without_key = count_without_key(keyed)
        written = write_single_file(keyed, final)
    return KeysResult(written, rows, without_key, checked)
