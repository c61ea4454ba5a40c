"""Loaded into the server process only (through PYTHONPATH) when the benchmark runs with
--gc-log: every full (generation 2) collection and every collection over 50 ms is appended
to $BENCH_GC_LOG as "<monotonic start> <generation> <pause ms> <collected>", so stalls seen
from outside can be matched with the collector's pauses inside. Costs two clock reads per
collection; changes nothing else."""

import gc
import os
import time

_path = os.environ.get("BENCH_GC_LOG")
if _path:
    _out = open(_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
    _started = [0.0]

    def _on_gc(phase: str, info: dict[str, int]) -> None:
        now = time.monotonic()
        if phase == "start":
            _started[0] = now
            return
        pause = now - _started[0]
        if info["generation"] == 2 or pause > 0.05:
            _out.write(
                f"{_started[0]:.3f} {info['generation']} {pause * 1000:.1f} {info['collected']}\n"
            )

    gc.callbacks.append(_on_gc)
