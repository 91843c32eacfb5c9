"""The whole cluster at rest: CPU (share of one core) and resident memory of every process.

Every process the cluster file names (control plane, 9 replicas, the embedded redis-server) is
sampled from /proc: utime+stime at the start and the end of the idle window, and VmRSS.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

from bench.figures import Figure, Target
from bench.harness import Context

__all__ = ["IDLE_FIGURES", "cpu_seconds", "measure_idle", "rss_mb"]

IDLE_FIGURES = (
    Figure("idle_cpu_percent", "whole cluster idle: CPU, % of one core", "%", Target("<=", 5)),
    Figure("idle_rss_mb", "whole cluster idle: RSS in total", "MB", Target("<=", 1024)),
)
_SETTLE_S = 2.0
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used, in seconds: the scheduler's nanosecond
    count summed over its threads where the kernel keeps it, else utime + stime in clock ticks
    (10 ms each: too coarse for what a few hundred writes cost a replica)."""
    try:
        nanoseconds = sum(
            int((task / "schedstat").read_text().split()[0])
            for task in Path(f"/proc/{pid}/task").iterdir()
        )
    except (OSError, ValueError, IndexError):
        nanoseconds = 0  # a thread ended while being read, or no schedstat: count in ticks
    if nanoseconds:
        return nanoseconds / 1e9
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # after the command name: state is field 3, utime field 14, stime field 15 (1-based)
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of /proc/PID/status (VmRSS, VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for pid {pid}")


def measure_idle(context: Context) -> list[Figure]:
    """Let the cluster settle, then sample it for ``idle_seconds``."""
    pids = context.cluster.pids()
    time.sleep(_SETTLE_S)
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    start = time.monotonic()
    time.sleep(context.sizes.idle_seconds)
    elapsed = time.monotonic() - start
    used = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    rss = {name: rss_mb(pid) for name, pid in pids.items()}
    cpu_percent = sum(used.values()) / elapsed * 100
    details = {
        "processes": len(pids),
        "window_s": round(elapsed, 2),
        "cpu_percent_by_process": {k: round(v / elapsed * 100, 2) for k, v in used.items()},
        "rss_mb_by_process": {k: round(v, 1) for k, v in rss.items()},
    }
    cpu, memory = IDLE_FIGURES
    return [
        dataclasses.replace(cpu, value=cpu_percent, details=details),
        dataclasses.replace(memory, value=sum(rss.values())),
    ]
