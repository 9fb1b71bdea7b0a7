"""Keyed pseudonymisation of customer ids: HMAC-SHA256 under a secret key.

The key is read from the environment or a key file, never from config, and it must not
reach a log line, an exception, a Spark plan or the Delta log. The HMAC is Spark's own
``sha2`` applied twice (RFC 2104), compiled with the rest of each row's work, so no Python
worker and no join of every line to a table of keys is needed. The key's two pads are not
literals, which ``explain`` and the UI would show: they come from a one-row frame built in
the JVM, broadcast and joined to every row. Plans show that frame by its columns only; its
bytes travel inside tasks, as a UDF's pickled key would.
"""

from __future__ import annotations

import hashlib
import hmac

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BinaryType, StructField, StructType

from custseg.layer1_core.tables import CUSTOMER_KEY

# Loading the key needs no Spark: the checks before Spark starts load it from there.
from custseg.layer3_stages.ingest.hash_key import MIN_KEY_BYTES, HashKeyError, load_hash_key

__all__ = [
    "MIN_KEY_BYTES",
    "HashCollisionError",
    "HashKeyError",
    "KEY_CHECK_LABEL",
    "check_key_matches",
    "check_no_collisions",
    "hmac_hex",
    "key_check_value",
    "load_hash_key",
    "with_customer_key",
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


# RFC 2104: a key longer than the hash's block is hashed first, then zero-padded to it.
_BLOCK_BYTES = 64
_INNER_PAD, _OUTER_PAD = "_custseg_inner_pad", "_custseg_outer_pad"


def _pads(key: bytes) -> tuple[bytes, bytes]:
    """(inner, outer) pad: as secret as the key, since the key follows from either."""
    block = hashlib.sha256(key).digest() if len(key) > _BLOCK_BYTES else key
    block = block.ljust(_BLOCK_BYTES, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def _pads_frame(spark: SparkSession, key: bytes) -> DataFrame:
    """The pads as a one-row frame built in the JVM through py4j's socket: pyspark's own
    ``createDataFrame`` and ``parallelize`` hand local data to the JVM through a temporary
    file (unless Spark's I/O encryption is on), which would put the pads on disk. Plans show
    a local relation by its columns only."""
    jvm = spark.sparkContext._jvm
    values = spark.sparkContext._gateway.new_array(jvm.java.lang.Object, 2)
    values[0], values[1] = (bytearray(pad) for pad in _pads(key))
    rows = jvm.java.util.ArrayList()
    rows.add(jvm.org.apache.spark.sql.RowFactory.create(values))
    schema = StructType(
        [StructField(_INNER_PAD, BinaryType(), False), StructField(_OUTER_PAD, BinaryType(), False)]
    )
    jschema = jvm.org.apache.spark.sql.types.DataType.fromJson(schema.json())
    return DataFrame(spark._jsparkSession.createDataFrame(rows, jschema), spark)


def with_customer_key(
    frame: DataFrame, ids: Column, key: bytes, output: str = CUSTOMER_KEY
) -> DataFrame:
    """``frame`` with ``output``, the HMAC-SHA256 hex of each id's UTF-8 bytes (null for a
    null id), equal to ``hmac_hex``."""
    clashing = {_INNER_PAD, _OUTER_PAD, output} & set(frame.columns)
    if clashing:
        raise ValueError(f"the frame already has column(s) {sorted(clashing)}")
    pads = _pads_frame(frame.sparkSession, key)
    inner = F.unhex(F.sha2(F.concat(F.col(_INNER_PAD), F.encode(ids, "UTF-8")), 256))
    return (
        frame.crossJoin(F.broadcast(pads))
        .withColumn(output, F.sha2(F.concat(F.col(_OUTER_PAD), inner), 256))
        .drop(_INNER_PAD, _OUTER_PAD)
    )


class HashCollisionError(RuntimeError):
    pass


def check_no_collisions(
    keyed: DataFrame, id_column: str = "canonical_id", counted: Column | None = None
) -> int:
    """Each key must stand for one id; returns the number of keys (so of distinct ids) with
    at least one ``counted`` row (every row by default): the distinct customers written.

    One aggregation by key: a key whose ids differ is a collision. The ids are compared
    through two independent 64-bit hashes (their minimum and maximum per key): fixed-width
    values that Spark's hash aggregate combines in place, where a minimum of strings would
    sort every line. A collision goes unseen only if two ids share an HMAC-SHA256 and both
    64-bit hashes. Counting the customers here, on keys grouped anyway, spares a distinct
    count over every line later. ``keyed`` comes from ``with_customer_key``, whose key is
    null exactly when the id is."""
    counted = counted if counted is not None else F.lit(True)
    ids = F.col(id_column)
    hashes = [F.xxhash64(ids), F.xxhash64(F.lit("custseg id identity"), ids)]
    per_key = (
        keyed.where(ids.isNotNull())
        .groupBy(CUSTOMER_KEY)
        .agg(
            ((F.min(hashes[0]) != F.max(hashes[0])) | (F.min(hashes[1]) != F.max(hashes[1]))).alias(
                "clash"
            ),
            F.max(counted.cast("int")).alias("counted"),
        )
    )
    row = per_key.agg(
        F.count(F.when(F.col("clash"), F.lit(1))).alias("clashing_keys"),
        F.sum("counted").alias("customers"),
    ).first()
    if row["clashing_keys"]:
        raise HashCollisionError(
            f"hash collision: {row['clashing_keys']} key(s) each stand for more than one id"
        )
    return int(row["customers"] or 0)
