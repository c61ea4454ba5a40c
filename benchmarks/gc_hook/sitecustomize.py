"""Loaded into the server process only (through PYTHONPATH) when the benchmark runs with
--gc-log: every full (generation 2) collection and every collection over 50 ms is appended
to $BENCH_GC_LOG as "<monotonic start> <generation> <pause ms> <collected>", so stalls seen
from outside can be matched with the collector's pauses inside. Costs two clock reads per
collection; changes nothing else.

With BENCH_GC_DETAIL=1 in the benchmark's environment each line also says why the
collection was as long as it was: `young=` the objects of the generations collected, for a
full collection counted at its start (a list of every tracked object: tens of milliseconds
more at 16,000 sockets, outside the pause logged), and `promoted=` how many objects young
collections moved into the oldest generation since the previous full one (CPython 3.11 runs
one when they exceed a quarter of those that survived it). Counting the young generations
costs a list of them at every young collection: analysis runs only."""

import gc
import os
import time

_path = os.environ.get("BENCH_GC_LOG")
_detail = os.environ.get("BENCH_GC_DETAIL") == "1"
if _path:
    _out = open(_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
    _started = [0.0]
    _young = [0]  # objects in the generations being collected, at the start
    _promoted = [0]  # moved into the oldest generation since the last full collection

    def _on_gc(phase: str, info: dict[str, int]) -> None:
        generation = info["generation"]
        if phase == "start":
            if _detail:  # never touch the objects themselves: some are half made
                _young[0] = sum(len(gc.get_objects(g)) for g in range(generation + 1))
            _started[0] = time.monotonic()
            return
        now = time.monotonic()
        pause = now - _started[0]
        if _detail and generation == 1:
            _promoted[0] += _young[0] - info["collected"]
        if generation == 2 or pause > 0.05:
            extra = ""
            if _detail:
                extra = f" young={_young[0]} promoted={_promoted[0]}"
                if generation == 2:
                    _promoted[0] = 0
            _out.write(
                f"{_started[0]:.3f} {generation} {pause * 1000:.1f} {info['collected']}{extra}\n"
            )

    gc.callbacks.append(_on_gc)
