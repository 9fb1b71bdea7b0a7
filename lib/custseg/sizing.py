"""Spark sizing taken from the machine, for the settings left at ``auto``.

A laptop and a cluster want different numbers: on 2 local cores 8 shuffle partitions keep
both cores busy without hundreds of tiny tasks, while a cluster wants a few tasks per
executor core. Adaptive query execution (on by default) then merges the partitions of small
shuffles, so one number serves the 200,000-line demo and a 100-million-line year. Local
driver memory is half the machine's memory (at least 2 GiB, at most 32 GiB): in local mode
the driver JVM is the executor too, and the other half is left to Python and the system.
"""

from __future__ import annotations

import os
import re

AUTO = "auto"
PARTITIONS_PER_CORE = 4
MEMORY_SHARE = 0.5
MIN_DRIVER_GIB, MAX_DRIVER_GIB = 2, 32
_LOCAL_MASTER = re.compile(r"^local(?:\[(\*|\d+)(?:,\s*\d+)?\])?$")


def local_cores(master: str) -> int | None:
    """Cores a ``local``, ``local[N]``, ``local[*]`` or ``local[N,F]`` master uses; None for
    any other master (the cluster decides)."""
    match = _LOCAL_MASTER.match(master.strip())
    if not match:
        return None
    count = match.group(1)
    if count is None:
        return 1
    return os.cpu_count() or 1 if count == "*" else max(1, int(count))


def shuffle_partitions(cores: int) -> int:
    return max(2, PARTITIONS_PER_CORE * cores)


def machine_memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def local_driver_memory(machine_bytes: int) -> str:
    gib = int(machine_bytes * MEMORY_SHARE / 2**30)
    return f"{min(MAX_DRIVER_GIB, max(MIN_DRIVER_GIB, gib))}g"


def resolved_shuffle_partitions(configured: int | str, master: str, cluster_cores: int) -> int:
    """The configured number, or for ``auto`` four per core: the local master's cores, else
    the cores Spark reports for the cluster (``defaultParallelism``)."""
    if configured != AUTO:
        return int(configured)
    return shuffle_partitions(local_cores(master) or cluster_cores)


def resolved_driver_memory(configured: str) -> str:
    return local_driver_memory(machine_memory_bytes()) if configured == AUTO else configured
