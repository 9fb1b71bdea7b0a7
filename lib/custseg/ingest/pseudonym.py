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
import os
from pathlib import Path

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.functions import pandas_udf

MIN_KEY_BYTES = 16


class HashKeyError(RuntimeError):
    """The hashing key is missing or unusable; the message never contains the key."""


def load_hash_key(env_name: str, key_file: str | None) -> bytes:
    """The key from ``$env_name`` or else from ``key_file``; refuses to run without one."""
    value = os.environ.get(env_name)
    source = f"environment variable {env_name}"
    if not value and key_file:
        path = Path(key_file)
        if not path.is_file():
            raise HashKeyError(f"hash key file {path} does not exist (pseudonym.key_file)")
        value = path.read_text(encoding="utf-8").strip()
        source = f"key file {path}"
    if not value:
        raise HashKeyError(
            f"no hashing key: set the environment variable {env_name} or pseudonym.key_file "
            "to a file holding a secret of at least 16 characters; refusing to write raw ids"
        )
    key = value.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise HashKeyError(f"the hashing key from {source} is shorter than {MIN_KEY_BYTES} bytes")
    return key


def hmac_hex(key: bytes, customer_id: str) -> str:
    return hmac.new(key, customer_id.encode("utf-8"), hashlib.sha256).hexdigest()


def _hmac_udf(key: bytes):
    @pandas_udf("string")
    def hmac_sha256(ids: pd.Series) -> pd.Series:
        return ids.map(lambda value: None if value is None else hmac_hex(key, value))

    return hmac_sha256


def key_mapping(ids: DataFrame, key: bytes, id_column: str = "canonical_id") -> DataFrame:
    """(id, customer_key) for the distinct non-null ids of ``ids``; kept in memory only."""
    distinct_ids = ids.select(id_column).where(F.col(id_column).isNotNull()).distinct()
    return distinct_ids.withColumn("customer_key", _hmac_udf(key)(F.col(id_column)))


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
