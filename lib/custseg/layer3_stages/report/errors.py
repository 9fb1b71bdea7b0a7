"""Errors of the report package that reach the person running it.

A named class lets a caller tell a report that cannot be drawn from its inputs apart from
a bug; it stays a ``ValueError`` so code written against the bare error keeps working.
"""

from __future__ import annotations


class ReportError(ValueError):
    """The report cannot be built from the inputs or settings it was given."""
