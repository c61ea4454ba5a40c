"""python-engineio's server with a cheaper sweep for clients that stopped answering pings.

python-engineio's service task visits the sockets one at a time, spreading one pass over the
ping timeout: between two sockets it waits `ping_timeout / sockets` seconds through
`asyncio.wait_for` (a task, a timer and a cancellation each). Holding 5,000 sockets that is
250 wake-ups a second and about a fifth of the idle server's CPU (docs/benchmarks.md, "Idle
sockets: one sweep instead of one wake-up per socket"); at 16,000 sockets, 800 a second.

Checking a socket is two attribute reads, so here one pass checks every socket at once,
every SWEEP_SECONDS (half the ping timeout, if that is shorter): the same checks and the same
close as python-engineio's, a silent client found no later than before (python-engineio
checks each socket once per ping timeout), and one wake-up per pass. Websocket clients are
also closed by their own reader's deadline (signaling/realtime/lean_socket.py); the sweep is
what drops a long-polling client that stopped polling, and forgets closed sockets.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import engineio

from signaling.realtime.lean_socket import pong_overdue

SWEEP_SECONDS = 2.0
"""Seconds between two passes over the sockets at most."""


class SweepingEngineServer(engineio.AsyncServer):  # type: ignore[misc]
    # python-engineio's (untyped) state, as this class uses it.
    sockets: dict[str, Any]
    ping_timeout: float

    async def _service_task(self) -> None:
        self.service_task_event = self.create_event()
        period = min(SWEEP_SECONDS, self.ping_timeout / 2)
        while not self.service_task_event.is_set():
            try:
                await asyncio.wait_for(self.service_task_event.wait(), timeout=period)
                return  # shutdown() set the event
            except TimeoutError:
                pass
            try:
                await self.sweep()
            except Exception:
                self.logger.exception("service task exception")

    async def sweep(self) -> int:
        """Forget closed sockets and close those whose ping went unanswered for longer than
        the ping timeout (python-engineio's `check_ping_timeout` does the closing, with its
        reason and log line). Returns how many were closed."""
        now = time.time()
        closed = 0
        for sid, socket in list(self.sockets.items()):
            if socket.closed:
                if self.sockets.get(sid) is socket:
                    del self.sockets[sid]
            elif not socket.closing and pong_overdue(socket, now):
                closed += not await socket.check_ping_timeout()
        return closed
