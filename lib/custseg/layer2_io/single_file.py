"""One CSV or Parquet file for a person to open, chosen by the name's extension.

Spark writes folders of part files; a CRM, a spreadsheet or a campaign tool wants one file.
``custseg keys`` and ``custseg export`` both write through here, so the two behave alike:
the extension is checked before Spark starts, a folder is never overwritten, and the file
appears whole or not at all.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from custseg.layer1_core.config import CsvOptions
from custseg.layer1_core.file_formats import WRITE_FORMATS, FileError, file_format
from custseg.layer2_io.locations import (
    PARTIAL,
    file_system,
    hadoop_path,
    publishing_file_system,
    qualify,
    replace_file,
)

# The project's CSV defaults (RFC 4180 quoting, UTF-8), with quoted line breaks allowed:
# CRM exports carry free text such as addresses, and a row split in two would be corrupted.
CSV = CsvOptions(multiline=True)


def check_output(spark: SparkSession, target: str, source: str | None = None) -> str:
    """``target`` qualified, once it is known to be writable without harm: never the
    ``source`` file (``--in``), never a folder."""
    file_format(target, WRITE_FORMATS, "--out")
    qualified = qualify(spark, target, "--out")
    if source is not None and qualified == qualify(spark, source, "--in"):
        raise FileError("--out names the --in file: write the result elsewhere")
    final = hadoop_path(spark, qualified)
    fs = file_system(spark, qualified)
    if fs.exists(final) and fs.getFileStatus(final).isDirectory():
        raise FileError(f"--out {target} is a folder; name a file")
    return qualified


def write_single_file(frame: DataFrame, target: str) -> str:
    """``frame`` as the one file ``target`` (a qualified location): one task writes it into
    a hidden folder beside ``target``, then the part file is renamed over ``target``, so a
    user gets one file, whole or not at all. Rows keep the frame's order; values are written
    as they are (Spark's CSV writer would otherwise trim the spaces around them)."""
    spark = frame.sparkSession
    fmt = file_format(target, WRITE_FORMATS, "--out")
    final = hadoop_path(spark, target)
    staging = hadoop_path(spark, f"{final.getParent().toString()}/.{final.getName()}{PARTIAL}")
    writer = frame.coalesce(1).write.mode("overwrite").format(fmt)
    if fmt == "csv":
        writer = (
            writer.option("header", "true")
            .options(**CSV.spark_format_options())
            .option("ignoreLeadingWhiteSpace", "false")
            .option("ignoreTrailingWhiteSpace", "false")
        )
    writer.save(staging.toString())
    fs = publishing_file_system(spark, target)
    try:
        parts = [
            status.getPath()
            for status in fs.listStatus(staging)
            if status.getPath().getName().startswith("part-")
        ]
        if len(parts) != 1:
            raise FileError(f"expected one part file in {staging.toString()}, found {len(parts)}")
        replace_file(fs, parts[0], final)
    finally:
        fs.delete(staging, True)
    return final.toString()
