"""CPU time and memory of another process, read from /proc, so the server is measured from
outside without instrumenting it (and without the load generator's own costs mixed in)."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcSample:
    """One reading: CPU seconds used so far (all threads), resident memory, thread count."""

    pid: int
    wall: float
    cpu_seconds: float
    rss_bytes: int
    threads: int

    @property
    def rss_mib(self) -> float:
        return self.rss_bytes / 2**20


def sample(pid: int) -> ProcSample:
    """Read /proc/<pid>/stat (utime+stime) and /proc/<pid>/status (VmRSS, Threads)."""
    with open(f"/proc/{pid}/stat") as handle:
        stat = handle.read()
    # The command name (field 2) may hold spaces; the fields after its ')' are fixed.
    fields = stat[stat.rindex(")") + 2 :].split()
    cpu = (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime are fields 14, 15
    rss = threads = 0
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return ProcSample(pid, time.monotonic(), cpu, rss, threads)


def cpu_percent(before: ProcSample, after: ProcSample) -> float:
    """Share of one core used between two samples (above 100 when threads run in parallel)."""
    wall = after.wall - before.wall
    return 100.0 * (after.cpu_seconds - before.cpu_seconds) / wall if wall > 0 else 0.0


class CpuMeter:
    """CPU% of a group of processes over a window: start() then read() as often as wanted."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self._start: list[ProcSample] = []

    def start(self) -> None:
        self._start = [sample(pid) for pid in self.pids]

    def read(self) -> float:
        """Summed CPU% of the group since start()."""
        return sum(cpu_percent(b, sample(b.pid)) for b in self._start)


class WindowMeter:
    """CPU% of a group of processes over a future window [start, end] (monotonic times),
    sampled by a background thread, so a blocking wait elsewhere does not blur the window."""

    def __init__(self, pids: list[int], start: float, end: float) -> None:
        self._pids = pids
        self._start = start
        self._end = end
        self._percent: float | None = None
        self._thread = threading.Thread(target=self._measure, daemon=True)

    def __enter__(self) -> WindowMeter:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._thread.join(max(0.0, self._end - time.monotonic()) + 5)

    def _measure(self) -> None:
        time.sleep(max(0.0, self._start - time.monotonic()))
        first = [sample(pid) for pid in self._pids]
        time.sleep(max(0.0, self._end - time.monotonic()))
        self._percent = sum(cpu_percent(b, sample(b.pid)) for b in first)

    @property
    def percent(self) -> float:
        """The window's CPU%, or NaN if it has not been measured (yet)."""
        return self._percent if self._percent is not None else float("nan")
