"""Who used the CPU during a load run: the generator, the server, its relay workers, the rest.

Read from /proc (Linux), so the server is measured from outside; on one machine the load
generator competes with what it measures, and its own share says how far to trust a run.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            stat = handle.read()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()  # the name (field 2) may hold spaces
    return (int(fields[11]) + int(fields[12])) / _TICKS


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (a server's relay workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(entry))
    return found


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (/proc/stat)."""
    with open("/proc/stat") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / _TICKS


@dataclass(frozen=True)
class CpuShare:
    """CPU seconds over one window, by process group."""

    wall_s: float
    generator_s: float
    server_s: float
    relay_workers_s: float
    machine_s: float
    """Every process on the machine, these included."""

    @property
    def others_s(self) -> float:
        return max(0.0, self.machine_s - self.generator_s - self.server_s - self.relay_workers_s)

    @property
    def generator_share(self) -> float:
        """The generator's part of what generator, server and relay used together."""
        ours = self.generator_s + self.server_s + self.relay_workers_s
        return self.generator_s / ours if ours > 0 else 0.0


class CpuWindow:
    """start() then stop(): the CPU this process, `server_pid` and its children used between.
    A process that ends inside the window reads 0 at stop(); such differences count as 0."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self._workers: list[int] = []
        self._start: tuple[float, float, float, float, float] | None = None

    def _read(self) -> tuple[float, float, float, float, float]:
        return (
            time.monotonic(),
            time.process_time(),
            cpu_seconds(self.server_pid),
            sum(cpu_seconds(pid) for pid in self._workers),
            machine_busy_seconds(),
        )

    def start(self) -> None:
        self._workers = children(self.server_pid)
        self._start = self._read()

    def stop(self) -> CpuShare:
        assert self._start is not None, "start() first"
        end = self._read()
        wall, generator, server, workers, machine = (
            max(0.0, b - a) for a, b in zip(self._start, end, strict=True)
        )
        return CpuShare(
            wall_s=round(wall, 3),
            generator_s=round(generator, 3),
            server_s=round(server, 3),
            relay_workers_s=round(workers, 3),
            machine_s=round(machine, 3),
        )
