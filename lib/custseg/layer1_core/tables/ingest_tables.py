"""Tables the ingest stage writes: clean lines, customer profiles, quarantine, and the run
and file registries."""

from __future__ import annotations

from custseg.layer1_core.tables.spec import (
    BIGINT,
    BOOLEAN,
    CUSTOMER_KEY,
    DATE,
    DOUBLE,
    MONEY,
    STRING,
    TIMESTAMP,
    TableSpec,
    array_of,
    column,
    map_of,
)

TRANSACTIONS = TableSpec(
    "transactions",
    "Clean, typed purchase lines; customer ids replaced by a keyed hash (HMAC-SHA256).",
    (
        column(CUSTOMER_KEY, STRING, "HMAC-SHA256 (hex) of the canonical customer id", False),
        column("order_id", STRING, "order / invoice id as in the source; null when not mapped"),
        column("item_id", STRING, "product id as in the source"),
        column("item_name", STRING, "product name as in the source"),
        column(
            "quantity", BIGINT, "units on the line; negative for returns (cleaning.returns=net)"
        ),
        column("unit_price", MONEY, "price per unit in the source currency"),
        column(
            "amount",
            MONEY,
            "line total in the source currency (quantity x unit_price when not given)",
            False,
        ),
        column("is_return", BOOLEAN, "true for cancellations and negative-quantity lines", False),
        column(
            "purchase_time",
            TIMESTAMP,
            "time of purchase (UTC as written in the source)",
            False,
        ),
        column("purchase_date", DATE, "calendar date of purchase_time", False),
        column("purchase_month", STRING, "yyyy-MM of purchase_time; the partition column", False),
        column("source_file", STRING, "file (or table) the line came from", False),
        column("ingest_run_id", STRING, "ingest run that wrote the line", False),
    ),
    partition_by=("purchase_month",),
    optimize_write=True,
    # time-range reads skip files by month and time, replaceWhere by source_file (when the
    # files' paths differ within Delta's 32-character statistics prefix)
    stats_columns=("purchase_time", "purchase_date", "source_file"),
    constraints=(
        ("valid_customer_key", "length(customer_key) = 64"),
        ("amount_sign_matches_return", "is_return OR amount >= 0"),
    ),
)

CUSTOMER_PROFILES = TableSpec(
    "customer_profiles",
    "Customer profile snapshot (input.profiles), one row per customer, keyed like "
    "transactions; every ingest run replaces it whole.",
    (
        column(
            CUSTOMER_KEY,
            STRING,
            "HMAC-SHA256 (hex) of the canonical customer id, equal to its transactions key",
            False,
        ),
        column(
            "signup_date",
            DATE,
            "day the customer signed up; null when blank or not mapped",
        ),
        column(
            "attributes",
            map_of(STRING, DOUBLE, False),
            "numeric profile attributes by source column name (input.profiles.attributes); "
            "a blank value is left out",
            False,
        ),
        column("source_file", STRING, "file (or table) the profile came from", False),
        column("ingest_run_id", STRING, "ingest run that wrote the profile", False),
    ),
    constraints=(("valid_customer_key", "length(customer_key) = 64"),),
)

QUARANTINE = TableSpec(
    "quarantine",
    "Input rows not written to transactions or customer_profiles, with why and where they "
    "are in their file. Customer ids appear only as keys.",
    (
        column(
            "raw_record",
            STRING,
            "the row's mapped fields as JSON, the customer id replaced by its key (valid or "
            "not); unmapped columns and the text of malformed lines are not kept",
            False,
        ),
        column("source_file", STRING, "file (or table) the row came from", False),
        column(
            "source_row",
            BIGINT,
            "number of the data row in its file (1 = first row after the header); null for "
            "a Delta table source",
        ),
        column("reasons", array_of(STRING, False), "every rule the row broke", False),
        column(CUSTOMER_KEY, STRING, "key of the customer when the id was valid"),
        column("ingest_run_id", STRING, "ingest run that quarantined the row", False),
        column(
            "target_table",
            STRING,
            "table the row was kept out of: transactions or customer_profiles (null: "
            "transactions, written before profiles were read)",
        ),
    ),
    partition_by=(),
)

INGEST_FILES = TableSpec(
    "ingest_files",
    "Which source files are in transactions, with the fingerprint they had when read.",
    (
        column("source_file", STRING, "file path or table path", False),
        column(
            "fingerprint",
            STRING,
            "size and modification time (files) or version (Delta)",
            False,
        ),
        column("ingest_run_id", STRING, "run that ingested this version of the file", False),
        column("rows_read", BIGINT, "rows read from the file in that run", False),
        column(
            "rules_fingerprint",
            STRING,
            "hash of the column mapping, reading options and cleaning rules the file was "
            "ingested with; a change re-ingests the file",
        ),
    ),
    single_file=True,
)

INGEST_RUNS = TableSpec(
    "ingest_runs",
    "One row per ingest run: reconciliation of rows read, written, quarantined and deduplicated.",
    (
        column("ingest_run_id", STRING, "run id", False),
        column("started_at", TIMESTAMP, "run start (UTC)", False),
        column("duration_seconds", DOUBLE, "wall-clock seconds", False),
        column("input_path", STRING, "input.path as configured", False),
        column(
            "files_read",
            array_of(STRING, False),
            "files read in this run (new or changed)",
            False,
        ),
        column(
            "files_skipped",
            BIGINT,
            "files unchanged since an earlier run, not read again",
            False,
        ),
        column("rows_read", BIGINT, "rows read from the files of this run", False),
        column("rows_written", BIGINT, "rows written to transactions", False),
        column("rows_quarantined", BIGINT, "rows written to quarantine", False),
        column(
            "quarantined_by_reason",
            map_of(STRING, BIGINT, False),
            "quarantined rows per reason (a row may have several reasons)",
            False,
        ),
        column(
            "duplicates_removed",
            BIGINT,
            "identical lines dropped (cleaning.duplicate_lines = drop), else 0",
            False,
        ),
        column(
            "identical_lines",
            BIGINT,
            "lines repeating an earlier line of the same file exactly (every column), "
            "under either duplicate_lines policy",
        ),
        column(
            "rows_with_replacement_characters",
            BIGINT,
            "rows whose text held U+FFFD after decoding (a wrong input.csv.encoding?)",
        ),
        column("distinct_customers", BIGINT, "distinct customer keys written", False),
        column("min_purchase_time", TIMESTAMP, "earliest purchase written"),
        column("max_purchase_time", TIMESTAMP, "latest purchase written"),
        column("profiles_read", BIGINT, "customer profile rows read; null without input.profiles"),
        column("profiles_written", BIGINT, "customers written to customer_profiles"),
        column("profiles_quarantined", BIGINT, "profile rows written to quarantine"),
    ),
)

KEY_CHECK = TableSpec(
    "key_check",
    "Which hashing key wrote this warehouse's customer keys, as a check value (never the key).",
    (
        column(
            "check_value",
            STRING,
            "HMAC-SHA256 of a fixed label under the key; a run with another key is refused",
            False,
        ),
        column("ingest_run_id", STRING, "run that first used the key", False),
        column("recorded_at", TIMESTAMP, "when it was recorded (UTC)", False),
    ),
)
