"""This process's part in a deployment of several signaling processes on one Redis: it runs
for the primary role (signaling/cluster/leadership.py), forwards its connections' events to
whoever holds it (forwarding.py), and, once primary, restores routing and calls from the
database and asks every process to announce its connections again."""

from __future__ import annotations

import logging
import os
import signal
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from relay.cluster.closing import close_within
from signaling.cluster.bus import Operation, SignalingBus
from signaling.cluster.forwarding import Forwarder
from signaling.cluster.leadership import Leadership

log = logging.getLogger(__name__)


class SignalingCluster:
    """Lifecycle: start() (listening; primary at once if nobody is) → stop() (hands over)."""

    def __init__(self, redis_url: str, *, lease_seconds: float = 3.0) -> None:
        # What losing the primary role does; a host that runs the server in-process (the
        # tests) replaces it rather than be stopped.
        self.on_lost: Callable[[], None] = stop_this_process
        self.process_id = uuid.uuid4().hex[:12]
        self._redis = Redis.from_url(redis_url)
        self.leadership = Leadership(
            self._redis,
            self.process_id,
            ttl_seconds=lease_seconds,
            on_gained=self._gained,
            on_lost=self._lost,
        )
        self.bus = SignalingBus(self._redis, self.process_id, lambda: self.is_primary)
        self.forwarder = Forwarder(self.bus, lambda: self.is_primary)
        self._on_primary: list[Callable[[], Awaitable[None]]] = []

    @property
    def is_primary(self) -> bool:
        return self.leadership.is_primary

    def when_primary(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` each time this process becomes the primary (before it answers)."""
        self._on_primary.append(work)

    def operation(self, kind: str, run: Operation) -> None:
        self.bus.operation(kind, run)

    async def on_primary(self, kind: str, body: dict[str, Any], run: Operation) -> Any:
        """`run(body)` here if this process is the primary, else on the primary."""
        if self.is_primary:
            return await run(body)
        return await self.bus.ask_primary(kind, body)

    async def start(self) -> None:
        await self.bus.start()
        await self.leadership.start()
        log.info(
            "signaling process %s: %s",
            self.process_id,
            "primary" if self.is_primary else "forwarding to the primary",
        )

    async def stop(self) -> None:
        await self.leadership.stop()
        await self.bus.stop()
        await close_within(self._redis, "the signaling cluster's Redis client")

    async def _gained(self) -> None:
        try:
            for work in self._on_primary:
                await work()
        finally:  # events wait for this; a failed restore is logged, not a stuck primary
            self.forwarder.ready()
        await self.forwarder.replay_all()

    def _lost(self) -> None:
        self.on_lost()


def stop_this_process() -> None:
    """What this process holds in memory must not act beside a new primary: stop (its
    supervisor starts it again, as a forwarding process)."""
    os.kill(os.getpid(), signal.SIGTERM)
