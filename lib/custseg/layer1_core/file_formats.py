"""Which file format a name asks for, by its extension.

Kept apart from the Spark code that reads and writes these files (``layer2_io.single_file``,
``layer4_commands.keys``): the CLI checks ``--in`` and ``--out`` before Spark starts, and importing
this module never imports pyspark, so a wrong extension is refused at once.
"""

from __future__ import annotations

# ``custseg keys --in`` reads these; ``keys`` and ``export`` write one file of WRITE_FORMATS.
READ_FORMATS = {".csv": "csv", ".csv.gz": "csv", ".parquet": "parquet"}
WRITE_FORMATS = {".csv": "csv", ".parquet": "parquet"}


class FileError(ValueError):
    """A problem with a file to read or write, in one line; never a value from it."""


def file_format(path: str, formats: dict[str, str], option: str) -> str:
    """The format the name's extension says; the CLI asks before starting Spark."""
    for suffix, name in formats.items():
        if path.lower().endswith(suffix):
            return name
    raise FileError(f"{option} {path}: the name must end in {', '.join(formats)}")
