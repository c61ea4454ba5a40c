"""Stopping on SIGTERM (or Ctrl+C) promptly and in order, so nobody is left guessing:
running calls end with `server_shutdown` (both sides told, each transcript given its line;
with several signaling processes they are left to the next primary instead),
every connected page is told `server.closing` and its connection closed — the pages then
reconnect by themselves to whatever comes back — and agents keep the status they chose,
which a restarted server gives back to those who reconnect within the grace period."""

from __future__ import annotations

import asyncio
import logging
from time import monotonic
from typing import TYPE_CHECKING

from signaling.protocol.notifier import AGENT_NS, CUSTOMER_NS

if TYPE_CHECKING:
    from signaling.runtime import Runtime

log = logging.getLogger(__name__)

CLOSING_EVENT = "server.closing"
CLOSE_GRACE_S = 0.5


async def close_connections(runtime: Runtime) -> None:
    began = monotonic()
    runtime.dispatcher.closing = True  # sockets closing now must not take anyone offline
    calls = len(runtime.calls.live)
    await runtime.calls.shutdown()
    notice = {"reason": "shutdown"}
    for namespace in (CUSTOMER_NS, AGENT_NS):
        # This process's sockets only: with several signaling processes, the others' stay.
        await runtime.sio.emit(CLOSING_EVENT, notice, namespace=namespace, ignore_queue=True)
    sockets = len(runtime.sio.eio.sockets)
    requests = [env.get("aiohttp.request") for env in list(runtime.sio.environ.values())]
    transports = [r.transport for r in requests if r is not None and r.transport is not None]
    # Engine.IO closes each connection after what is queued for it (the notice) is sent —
    # waiting for it to be taken, which a long-polling client that no longer polls never
    # does: bounded, and what is still open then is cut.
    if sockets:
        try:
            await asyncio.wait_for(runtime.sio.eio.disconnect(), CLOSE_GRACE_S)
        except TimeoutError:
            log.info("shutdown: some connections did not take their close in time")
    await _closed_or_aborted(transports)
    log.info(
        "shutdown: %d call(s) ended or handed over, %d connection(s) closed in %.2f s",
        calls,
        sockets,
        monotonic() - began,
    )


async def _closed_or_aborted(transports: list[asyncio.Transport]) -> None:
    """A WebSocket close waits for the client's answer (aiohttp: up to 10 s, and aiohttp's
    own shutdown waits for each open handler): a client that is slow to answer, or gone,
    gets CLOSE_GRACE_S, then its connection is cut."""
    for _tick in range(round(CLOSE_GRACE_S / 0.02)):
        if all(t.is_closing() for t in transports):
            break
        await asyncio.sleep(0.02)
    stragglers = [t for t in transports if not t.is_closing()]
    for transport in stragglers:
        transport.abort()
    if stragglers:
        log.info("shutdown: cut %d connection(s) that did not close in time", len(stragglers))
