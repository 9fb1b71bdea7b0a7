"""Spark sizing taken from the machine, for the settings left at ``auto``.

A laptop and a cluster want different numbers: on 2 local cores 8 shuffle partitions keep
both cores busy without hundreds of tiny tasks, while a cluster wants a few tasks per
executor core. Adaptive query execution (on by default) then merges the partitions of small
shuffles, so one number serves the 200,000-line demo and a 100-million-line year. Local
driver memory is 2 GiB per core, and never more than half the machine's memory (or of the
container's limit when that is lower): in local mode the driver JVM is the executor too, and
the other half is left to Python and the system. More is not faster: on the 2-core benchmark
machine a 12 GiB heap made ingest 15-20% slower than 4 GiB (its garbage collector competes
with two task threads for two cores, docs/performance.md). On a cluster, ``auto`` leaves the shuffle
partitions to Spark (its default or spark-submit's), because executors are not known yet
when the session starts.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

AUTO = "auto"
PARTITIONS_PER_CORE = 4
MEMORY_SHARE = 0.5
GIB_PER_CORE = 2
MIN_DRIVER_GIB, MAX_DRIVER_GIB = 1, 32
FALLBACK_DRIVER_MEMORY = "4g"
# cgroup v2, then v1: a container may have far less memory than the host it runs on
CGROUP_LIMIT_FILES = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
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
    """Four tasks per core: enough to spread skew, few enough that small jobs stay cheap."""
    return max(2, PARTITIONS_PER_CORE * cores)


def machine_memory_bytes() -> int | None:
    """Physical memory, or a container's lower cgroup limit; None where neither is known
    (a JVM size must then be given)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None
    for limit_file in CGROUP_LIMIT_FILES:
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def local_driver_memory(machine_bytes: int | None, cores: int) -> str:
    """2 GiB per local core, at most half the memory, in whole GiB within the bounds."""
    if machine_bytes is None:
        return FALLBACK_DRIVER_MEMORY
    gib = min(int(machine_bytes * MEMORY_SHARE / 2**30), GIB_PER_CORE * cores)
    return f"{min(MAX_DRIVER_GIB, max(MIN_DRIVER_GIB, gib))}g"


def resolved_shuffle_partitions(configured: int | str, master: str) -> int | None:
    """The configured number, or for ``auto`` four per local core. None for ``auto`` on a
    cluster: executors register after the session starts (or scale with dynamic allocation),
    so their cores are not known yet; Spark's own setting (200, or spark-submit's) stays."""
    if configured != AUTO:
        return int(configured)
    cores = local_cores(master)
    return None if cores is None else shuffle_partitions(cores)


def resolved_driver_memory(configured: str, master: str) -> str:
    """``auto`` sized from this machine: only used for local mode, where the driver works."""
    if configured != AUTO:
        return configured
    return local_driver_memory(machine_memory_bytes(), local_cores(master) or 1)
