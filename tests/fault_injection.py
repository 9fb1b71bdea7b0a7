"""A Python daemon for Spark whose first worker dies in the middle of its task, once per
marker file.

Used as ``spark.python.daemon.module`` by tests/test_faults.py. Spark's own daemon forks a
worker per task and the fork runs ``daemon.worker``; this module wraps it so that, in the
forked worker, the task's main function exits at once for the first worker to create the
file named by ``CUSTSEG_CRASH_ONCE_MARKER``: the JVM sees the worker vanish with the task
half read, the way a lost Python worker does, and Spark must run that task again. (A fork
dying before it has a task is replaced by Spark without failing any task, so the crash
comes once the task is assigned.) Nothing is imported before the fork that Spark's daemon
does not import itself.
"""

from __future__ import annotations

import os

from pyspark import daemon

_run_worker = daemon.worker


def _first_to_create(marker: str) -> bool:
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def _crashing_worker(sock, authenticated):
    marker = os.environ.get("CUSTSEG_CRASH_ONCE_MARKER")
    if marker:
        import pyspark.worker  # after the fork, as the daemon imports it

        run_task = pyspark.worker.main

        def crash_once(infile, outfile):
            if _first_to_create(marker):
                os._exit(17)
            return run_task(infile, outfile)

        pyspark.worker.main = crash_once
    return _run_worker(sock, authenticated)


if __name__ == "__main__":
    daemon.worker = _crashing_worker
    daemon.manager()
