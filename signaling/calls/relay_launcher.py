"""Starts the relay once, at startup or at the first call, whichever comes first, so a
chat-only process (or a test that never calls) spawns nothing. Which relay: worker processes
on this machine (the embedded default), or relay nodes found in Redis (server.redis_url).

The launcher is itself a RelayControl (each request waits for the start), so the services
that use the relay depend on that interface alone, not on how or when it starts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping
from typing import cast

from redis.asyncio import Redis

from relay.cluster.node import RelayNode
from relay.cluster.service import ClusterService
from relay.control.pool import RelayPool
from relay.interface import (
    CloseReason,
    EventLoopKind,
    LinkListener,
    MediaFlowListener,
    ParticipantId,
    ParticipantListener,
    RecordingListener,
    RecordingSummary,
    RelayControl,
    RelayService,
    RelayStats,
    RoomClosedListener,
    RoomId,
    TrackRole,
    WorkerId,
)
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


class RelayLauncher(RelayControl):
    """Lifecycle: idle → starting (start_soon/ready) → running → stopped (stop, idempotent).
    Listeners added at any time reach the relay once it runs."""

    def __init__(self, make: Callable[[], RelayService]) -> None:
        self._make = make
        self._service: RelayService | None = None
        self._starting: asyncio.Task[RelayService] | None = None
        self.stopped = False
        self._room_listeners: list[RoomClosedListener] = []
        self._participant_listeners: list[ParticipantListener] = []
        self._media_listeners: list[MediaFlowListener] = []
        self._recording_listeners: list[RecordingListener] = []
        self._link_listeners: list[LinkListener] = []

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
        for room_listener in self._room_listeners:
            service.add_room_closed_listener(room_listener)
        for participant_listener in self._participant_listeners:
            service.add_participant_listener(participant_listener)
        for media_listener in self._media_listeners:
            service.add_media_flow_listener(media_listener)
        for recording_listener in self._recording_listeners:
            service.add_recording_listener(recording_listener)
        for link_listener in self._link_listeners:
            service.add_link_listener(link_listener)
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

    # ---- RelayControl: each request waits for the start -------------------------------------
    async def open_room(self, room_id: RoomId) -> WorkerId:
        return await (await self.ready()).open_room(room_id)

    async def join(
        self,
        room_id: RoomId,
        participant_id: ParticipantId,
        offer_sdp: str,
        tracks: Mapping[str, TrackRole] | None = None,
        *,
        replace: bool = False,
        sources: Mapping[str, ParticipantId] | None = None,
        audience: Collection[ParticipantId] | None = None,
        recorded: bool = True,
    ) -> str:
        relay = await self.ready()
        return await relay.join(
            room_id,
            participant_id,
            offer_sdp,
            tracks,
            replace=replace,
            sources=sources,
            audience=audience,
            recorded=recorded,
        )

    async def set_audience(
        self,
        room_id: RoomId,
        participant_id: ParticipantId,
        audience: Collection[ParticipantId] | None,
    ) -> None:
        await (await self.ready()).set_audience(room_id, participant_id, audience)

    async def leave(self, room_id: RoomId, participant_id: ParticipantId) -> None:
        await (await self.ready()).leave(room_id, participant_id)

    async def close_room(self, room_id: RoomId, reason: CloseReason) -> None:
        """Nothing to close on a relay that is not running (never started, or stopped)."""
        if self.pool is not None and not self.stopped:
            await self.pool.close_room(room_id, reason)

    async def adopt_rooms(self, room_ids: Collection[RoomId]) -> set[RoomId]:
        return await (await self.ready()).adopt_rooms(room_ids)

    async def stats(self) -> RelayStats:
        return await (await self.ready()).stats()

    async def start_recording(self, room_id: RoomId, recording_id: str, directory: str) -> None:
        await (await self.ready()).start_recording(room_id, recording_id, directory)

    async def pause_recording(self, room_id: RoomId) -> None:
        await (await self.ready()).pause_recording(room_id)

    async def resume_recording(self, room_id: RoomId) -> None:
        await (await self.ready()).resume_recording(room_id)

    async def stop_recording(self, room_id: RoomId) -> RecordingSummary:
        return await (await self.ready()).stop_recording(room_id)

    def add_room_closed_listener(self, listener: RoomClosedListener) -> None:
        self._room_listeners.append(listener)
        if self._service is not None:
            self._service.add_room_closed_listener(listener)

    def add_participant_listener(self, listener: ParticipantListener) -> None:
        self._participant_listeners.append(listener)
        if self._service is not None:
            self._service.add_participant_listener(listener)

    def add_media_flow_listener(self, listener: MediaFlowListener) -> None:
        self._media_listeners.append(listener)
        if self._service is not None:
            self._service.add_media_flow_listener(listener)

    def add_recording_listener(self, listener: RecordingListener) -> None:
        self._recording_listeners.append(listener)
        if self._service is not None:
            self._service.add_recording_listener(listener)

    def add_link_listener(self, listener: LinkListener) -> None:
        self._link_listeners.append(listener)
        if self._service is not None:
            self._service.add_link_listener(listener)
