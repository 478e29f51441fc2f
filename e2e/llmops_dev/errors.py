"""The one error the local cluster raises: something a person has to look at, with where to look."""

from __future__ import annotations


class ClusterError(RuntimeError):
    """The local cluster could not be started, checked or stopped; the message names the log to read."""
