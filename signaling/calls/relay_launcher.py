"""Starts the relay once, at startup or at the first call, whichever comes first, so a
chat-only process (or a test that never calls) spawns nothing. Which relay: worker processes
on this machine (the embedded default), or relay nodes found in Redis (server.redis_url)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import cast

from redis.asyncio import Redis

from relay.cluster.node import RelayNode
from relay.cluster.service import ClusterService
from relay.control.pool import RelayPool
from relay.interface import EventLoopKind, RelayControl, RelayService
from signaling.config import Config

log = logging.getLogger(__name__)


def relay_service_factory(config: Config) -> Callable[[], RelayService]:
    relay = config.relay

    def pool() -> RelayPool:
        # 0: one per core; the event loop was validated by RelayConfig.
        event_loop = cast(EventLoopKind, relay.event_loop)
        return RelayPool(
            relay.workers or None,
            relay.worker_capacity,
            event_loop,
            public_ip=relay.public_ip,
        )

    if not config.server.redis_url:
        return pool

    def cluster() -> ClusterService:
        node = None
        if relay.embedded:
            node = RelayNode(
                Redis.from_url(config.server.redis_url),
                pool(),
                relay.node_name,
                heartbeat_seconds=relay.heartbeat_seconds,
            )
        url = config.server.redis_url
        return ClusterService(url, node, heartbeat_seconds=relay.heartbeat_seconds)

    return cluster


class RelayLauncher:
    """Lifecycle: idle → starting (start_soon/ready) → running → stopped (stop, idempotent)."""

    def __init__(self, make: Callable[[], RelayService]) -> None:
        self._make = make
        self._service: RelayService | None = None
        self._starting: asyncio.Task[RelayService] | None = None
        self.stopped = False

    @property
    def pool(self) -> RelayControl | None:
        """The running relay, or None before it is up (health checks read this)."""
        task = self._starting
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return None
        return task.result()

    def start_soon(self) -> None:
        if self._starting is None and not self.stopped:
            self._starting = asyncio.create_task(self._start(), name="relay-start")

    async def ready(self) -> RelayControl:
        """The relay, started if need be; a failed start is retried on the next call."""
        if self.stopped:
            raise RuntimeError("the relay has been stopped")
        self.start_soon()
        assert self._starting is not None
        try:
            return await asyncio.shield(self._starting)
        except Exception:
            self._starting = None
            raise

    async def _start(self) -> RelayService:
        service = self._make()
        self._service = service
        try:
            await service.start()
        except BaseException:
            self._service = None
            raise
        if isinstance(service, RelayPool):
            log.info("relay: %d worker process(es) up", len(service.workers))
        else:
            log.info("relay: placing calls on the relay nodes registered in Redis")
        return service

    async def stop(self) -> None:
        self.stopped = True
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
        if self._service is not None:
            await self._service.stop()
