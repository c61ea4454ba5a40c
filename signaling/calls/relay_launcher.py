"""Starts the relay worker processes once, at startup or at the first call, whichever comes
first, so a chat-only process (or a test that never calls) spawns none."""

from __future__ import annotations

import asyncio
import logging

from relay.interface import EventLoopKind, RelayControl
from relay.pool import RelayPool

log = logging.getLogger(__name__)


class RelayLauncher:
    """Lifecycle: idle → starting (start_soon/ready) → running → stopped (stop, idempotent)."""

    def __init__(
        self,
        workers: int,
        capacity: int,
        event_loop: EventLoopKind = "uvloop",
        *,
        public_ip: str = "",
    ) -> None:
        self._workers = workers or None  # 0: one per core
        self._capacity = capacity
        self._event_loop: EventLoopKind = event_loop
        self._public_ip = public_ip
        self._pool: RelayPool | None = None
        self._starting: asyncio.Task[RelayPool] | None = None
        self.stopped = False

    @property
    def pool(self) -> RelayPool | None:
        """The running pool, or None before it is up (health checks read this)."""
        task = self._starting
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return None
        return task.result()

    def start_soon(self) -> None:
        if self._starting is None and not self.stopped:
            self._starting = asyncio.create_task(self._start(), name="relay-pool-start")

    async def ready(self) -> RelayControl:
        """The pool, started if need be; a failed start is retried on the next call."""
        if self.stopped:
            raise RuntimeError("the relay has been stopped")
        self.start_soon()
        assert self._starting is not None
        try:
            return await asyncio.shield(self._starting)
        except Exception:
            self._starting = None
            raise

    async def _start(self) -> RelayPool:
        pool = RelayPool(self._workers, self._capacity, self._event_loop, public_ip=self._public_ip)
        self._pool = pool
        await pool.start()
        log.info("relay: %d worker process(es) up", len(pool.workers))
        return pool

    async def stop(self) -> None:
        self.stopped = True
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
        if self._pool is not None:
            await self._pool.stop()
