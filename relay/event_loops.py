"""Which event loop a process runs on: uvloop's (libuv, in C) or the standard one.

Both the relay workers and the signaling server spend much of their CPU in the loop itself
(callbacks, timers, socket readiness): uvloop takes a quarter off the relay's per-packet
cost and a share of signaling's per-event cost (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from relay.interface import EventLoopKind

log = logging.getLogger(__name__)


def loop_factory(kind: EventLoopKind, who: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's loop for "uvloop", else the standard one; uvloop missing falls back to the
    standard loop, logged with `who` (the process that wanted it)."""
    if kind == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.warning("%s: uvloop is not installed; using the standard asyncio loop", who)
        else:
            return uvloop.new_event_loop
    return asyncio.new_event_loop


def kind_of(loop: asyncio.AbstractEventLoop) -> EventLoopKind:
    """Which kind of loop `loop` is (what a process reports it runs on)."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
