"""The version custseg reports (``--version``) and records in every ``runs`` row."""

from __future__ import annotations

from importlib import metadata

from custseg import __version__


def package_version() -> str:
    """The installed distribution's version; ``custseg.__version__`` (which setup.py reads
    too) when custseg runs from a source tree or a zip without package metadata."""
    try:
        return metadata.version("custseg")
    except metadata.PackageNotFoundError:
        return __version__
