"""Keyed pseudonymisation of customer ids: HMAC-SHA256 under a secret key.

The key is read from the environment or a key file, never from config, and it must not
reach a log line, an exception, a Spark plan or the Delta log. Spark's built-in ``sha2``
could compute an HMAC, but only with the key's pads as literals in the plan (and so in
``explain`` and the UI); a pandas UDF keeps the key inside the pickled function, which
plans show only by name. The UDF runs over the distinct ids, not every row.
"""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.functions import pandas_udf

# Loading the key needs no Spark: the checks before Spark starts load it from there.
from custseg.ingest.hash_key import MIN_KEY_BYTES, HashKeyError, load_hash_key

__all__ = [
    "MIN_KEY_BYTES",
    "HashCollisionError",
    "HashKeyError",
    "KEY_CHECK_LABEL",
    "check_key_matches",
    "check_no_collisions",
    "hmac_hex",
    "key_check_value",
    "key_mapping",
    "load_hash_key",
]

# The check value is the HMAC of this fixed label: it identifies the key without revealing
# it (an HMAC output says nothing about its key), like the key check values of HSMs.
KEY_CHECK_LABEL = "custseg key check value v1"


def key_check_value(key: bytes) -> str:
    return hmac_hex(key, KEY_CHECK_LABEL)


def check_key_matches(recorded: str | None, key: bytes) -> None:
    """Refuses a key other than the one that wrote the warehouse's customer keys."""
    if recorded is not None and recorded != key_check_value(key):
        raise HashKeyError(
            "the hashing key differs from the key this warehouse was written with (table "
            "key_check): its customer keys would not match. To rotate keys on purpose, "
            "ingest every source file again into a new, empty warehouse with the new key"
        )


def hmac_hex(key: bytes, customer_id: str) -> str:
    return hmac.new(key, customer_id.encode("utf-8"), hashlib.sha256).hexdigest()


def _hmac_udf(key: bytes):
    @pandas_udf("string")
    def hmac_sha256(ids: pd.Series) -> pd.Series:
        return ids.map(lambda value: None if value is None else hmac_hex(key, value))

    return hmac_sha256


def customer_key_column(ids: Column, key: bytes) -> Column:
    """The customer key of each canonical id (null for null), for frames whose rows are
    mostly distinct customers (a CRM export) where a distinct-id mapping saves nothing."""
    return _hmac_udf(key)(ids)


def key_mapping(ids: DataFrame, key: bytes, id_column: str = "canonical_id") -> DataFrame:
    """(id, customer_key) for the distinct non-null ids of ``ids``; kept in memory only."""
    distinct_ids = ids.select(id_column).where(F.col(id_column).isNotNull()).distinct()
    return distinct_ids.withColumn("customer_key", customer_key_column(F.col(id_column), key))


class HashCollisionError(RuntimeError):
    pass


def check_no_collisions(mapping: DataFrame, id_column: str = "canonical_id") -> int:
    """Distinct keys must equal distinct ids; returns the number of distinct customers."""
    row = mapping.agg(
        F.countDistinct(id_column).alias("ids"), F.countDistinct("customer_key").alias("keys")
    ).first()
    if row["ids"] != row["keys"]:
        raise HashCollisionError(
            f"hash collision: {row['ids']} distinct ids map to {row['keys']} distinct keys"
        )
    return int(row["ids"])
