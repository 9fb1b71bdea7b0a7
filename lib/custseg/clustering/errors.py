"""Errors a user can fix by changing the clustering settings."""

from __future__ import annotations

from custseg.config import ConfigError


class ClusteringConfigError(ConfigError):
    """A clustering setting names something that does not exist: a feature, an algorithm or
    a selection metric.

    It is a ``ConfigError`` (and so a ``ValueError``) because the CLI turns configuration
    problems into a usage exit code: the run did not fail, it was asked for the impossible.
    """
