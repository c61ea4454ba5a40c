"""When a serving process (`liveassist serve`) collects garbage, and how much at a time.

CPython 3.11 runs a full collection once the objects promoted to its oldest generation
since the last one exceed a quarter of those that survived it. Here nearly every promotion
comes from Engine.IO's ping cycle: per socket and 25 s ping interval, python-engineio makes
about 55 GC-tracked objects (the ping task sleeping one interval, the writer's and the
reader's `wait_for` tasks, their futures, timer handles, contexts, asyncio's weak task
references) that live exactly one interval, so all are promoted before they die, and die by
reference counting, not as garbage. At 16,000 sockets that is ~33,000 promotions a second, so
a full collection every ~19 s, each walking ~2.5 million objects (~160 per socket: aiohttp's
request, python-engineio's socket and its six tasks' coroutines) for 2 to 4 s with the event
loop stopped, to find a few hundred garbage objects (docs/benchmarks.md, "Chat sockets").

What garbage does build up in the oldest generation: until December 2026 mostly closed
connections (each a reference cycle of ~75 objects: aiohttp's request and websocket,
python-engineio's socket and tasks, the OSError that ended its read). The server's own
Engine.IO socket (signaling/realtime/lean_socket.py) no longer leaves that cycle, so a closed
connection is freed by reference counting when it closes; what is left is a few hundred
objects a minute from elsewhere. A full collection, though, walks every *live* socket (~2 to 4 s
at 16,000). So the schedule collects when that is cheap, not when garbage might be there:

1. After start-up, `gc.freeze()`: the ~150,000 objects of imports, the app and the schema live
   as long as the process; no collection walks them again.
2. The young generations every YOUNG_SECONDS. CPython starts a young collection when
   allocations outnumber deallocations by 700, but it counts the deallocation of *any*
   object, old ones included: with ping objects of the previous interval dying as fast as
   new ones are made, that count hardly moves, the young generation grows to 30,000 to
   290,000 objects between collections, and a "young" collection took 100 to 400 ms (8,000
   sockets). On a timer it holds what a quarter of a second made: a few milliseconds.
3. No automatic full collection (the oldest generation's threshold is out of reach), but one
   when the server has emptied: at least MIN_CLOSED sockets closed since the last one and no
   more than QUIET of the most held meanwhile still connected (after a mass disconnect, at
   the end of the day), checked every CHECK_SECONDS, at most one per MIN_SPACING; and one
   every MAX_INTERVAL whatever happened, for a server that is never quiet.

Not configurable: these follow from what the server allocates, not from a deployment, and a
knob would only allow the pauses back.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

YOUNG_SECONDS = 0.25
CHECK_SECONDS = 2.0
QUIET = 0.25
"""A full collection once the sockets held have fallen to this share of the most held since
the last one: it then walks at most a quarter of the peak's live objects."""
MIN_CLOSED = 500
"""...and at least this many closed meanwhile, so that a small, steady server does not
collect every MIN_SPACING for nothing."""
MIN_SPACING = 30.0
"""Seconds between two full collections at least: a mass disconnect is collected once or
twice, not once per quarter of what is left."""
MAX_INTERVAL = 6 * 3600.0
"""Seconds between two full collections at most (a busy server's insurance against cycles
from elsewhere: a few hundred objects a minute measured, ~100,000 in this interval)."""
NEVER = 1_000_000_000
"""The oldest generation's threshold: young collections before CPython runs a full one."""


@dataclass(frozen=True)
class Turnover:
    """What the schedule knows at a check."""

    closed: int
    """Sockets closed since the last full collection."""
    held: int
    """Sockets connected now."""
    peak_held: int
    """The most sockets held at any check since then."""
    seconds: float
    """Since the last full collection."""


def full_collection_due(turnover: Turnover) -> bool:
    if turnover.seconds < MIN_SPACING:
        return False
    if turnover.seconds >= MAX_INTERVAL:
        return True
    emptied = turnover.held <= QUIET * turnover.peak_held
    return emptied and turnover.closed >= MIN_CLOSED


class Collector:
    """The collector's schedule for one serving process.

    Lifecycle: new → started (start(): after the server's start-up, in its event loop) →
    stopped (stop(): CPython's own schedule is back, nothing frozen)."""

    def __init__(self, held: Callable[[], int], closed: Callable[[], int]) -> None:
        self._held = held
        """Sockets connected now."""
        self._closed = closed
        """Sockets closed since the process started."""
        self._saved_thresholds = gc.get_threshold()
        self._task: asyncio.Task[None] | None = None
        self._closed_at_last = 0
        self._peak_held = 0
        self._last = time.monotonic()

    def start(self) -> None:
        self._saved_thresholds = gc.get_threshold()
        gc.collect()
        gc.freeze()
        young, middle, _ = self._saved_thresholds
        gc.set_threshold(young, middle, NEVER)
        self._mark()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="gc-schedule")
        log.info("garbage collector: %d start-up objects frozen", gc.get_freeze_count())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        gc.set_threshold(*self._saved_thresholds)
        gc.unfreeze()

    def _mark(self) -> None:
        self._closed_at_last = self._closed()
        self._peak_held = self._held()
        self._last = time.monotonic()

    async def _run(self) -> None:
        checked = time.monotonic()
        while True:
            await asyncio.sleep(YOUNG_SECONDS)
            gc.collect(1)
            if time.monotonic() - checked < CHECK_SECONDS:
                continue
            checked = time.monotonic()
            held = self._held()
            self._peak_held = max(self._peak_held, held)
            turnover = Turnover(
                closed=self._closed() - self._closed_at_last,
                held=held,
                peak_held=self._peak_held,
                seconds=time.monotonic() - self._last,
            )
            if full_collection_due(turnover):
                self.collect(turnover)

    def collect(self, turnover: Turnover) -> int:
        began = time.perf_counter()
        found = gc.collect()
        log.info(
            "garbage collector: full collection in %.0f ms found %d objects "
            "(%d sockets closed in %.0f s, at most %d held)",
            (time.perf_counter() - began) * 1000,
            found,
            turnover.closed,
            turnover.seconds,
            turnover.peak_held,
        )
        self._mark()
        return found
