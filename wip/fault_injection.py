"""A Python daemon for Spark whose first worker dies before its task, once per marker file.

Used as ``spark.python.daemon.module`` by tests/test_faults.py. Spark's own daemon forks a
worker per task; this one wraps the function the fork runs, so the first worker to create
the file named by ``CUSTSEG_CRASH_ONCE_MARKER`` exits at once, the way a lost Python worker
does, and Spark must run that task again. Nothing is imported before the fork that Spark's
daemon does not import itself.
"""

from __future__ import annotations

import os

from pyspark import daemon

_run_worker = daemon.worker


def _crash_once_then_work(sock, authenticated):
    marker = os.environ.get("CUSTSEG_CRASH_ONCE_MARKER")
    if marker:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            pass
        else:
            os._exit(17)
    return _run_worker(sock, authenticated)


if __name__ == "__main__":
    daemon.worker = _crash_once_then_work
    daemon.manager()
