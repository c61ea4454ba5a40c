"""A relay node: this machine's relay workers (a RelayPool) offered to every signaling process
through Redis. It announces itself with a heartbeat (relay/cluster/registry.py), answers
requests on its own channel and publishes its rooms' events; draining stops new rooms, waits
for calls to end up to a deadline, then hands the rest back (RELAY_DRAINED: signaling moves
them to another node) before it leaves."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import socket
import uuid
from time import monotonic, time
from typing import Any

from redis.asyncio import Redis

from relay.cluster.closing import cancel_requested, stop_tasks
from relay.cluster.registry import (
    EVENTS,
    PREFIX,
    NodeRecord,
    NodeRegistry,
    check_node_id,
    global_worker,
    requests_channel,
)
from relay.cluster.subscription import messages
from relay.control import wire
from relay.control.event_wire import RelayEvent, event_to_wire
from relay.control.pool import RelayPool
from relay.interface import (
    CloseReason,
    CloseRoom,
    Join,
    Leave,
    NoCapacity,
    OpenRoom,
    PauseRecording,
    RelayError,
    ResumeRecording,
    SetAudience,
    StartRecording,
    StopRecording,
)

logger = logging.getLogger(__name__)


class NodeIdInUse(RuntimeError):
    """Another live node announces the same id: two nodes must not share one."""


class RelayNode:
    """Lifecycle: start() (workers up, registered, listening) → serving → drain() → stop().

    stop() without a drain first drains with no deadline: rooms still open are handed back
    (RELAY_DRAINED) rather than dropped.
    """

    def __init__(
        self,
        redis: Redis,
        pool: RelayPool,
        node_id: str,
        *,
        address: str = "",
        heartbeat_seconds: float = 0.5,
    ) -> None:
        self._redis = redis
        self._pool = pool
        self.node_id = check_node_id(node_id)
        self._address = address or _own_address()
        self._heartbeat = heartbeat_seconds
        self.registry = NodeRegistry(redis, ttl=4 * heartbeat_seconds)
        self.instance = uuid.uuid4().hex
        self.number = 0
        self.draining = False
        self.drained = asyncio.Event()
        """Set once a drain has handed back every room: the node may exit."""
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._requests: set[asyncio.Task[None]] = set()
        self._drain_task: asyncio.Task[None] | None = None
        self._deadline = 0.0

    async def start(self) -> None:
        existing = await self.registry.get(self.node_id)
        if existing is not None:
            raise NodeIdInUse(
                f"relay node id {self.node_id!r} is in use by pid {existing.pid} on "
                f"{existing.host} (heartbeat {time() - existing.heartbeat_at:.1f} s ago); "
                "give this node another --node-id"
            )
        self.number = await self.registry.number_for(self.node_id)
        for add in (
            self._pool.add_room_closed_listener,
            self._pool.add_participant_listener,
            self._pool.add_media_flow_listener,
            self._pool.add_recording_listener,
            self._pool.add_link_listener,
        ):
            add(self._queue_event)
        await self._pool.start()
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(requests_channel(self.node_id))
        await self.announce()
        self._tasks = [
            asyncio.create_task(self._serve(pubsub), name=f"relay-node-{self.node_id}-requests"),
            asyncio.create_task(self._beat(), name=f"relay-node-{self.node_id}-heartbeat"),
            asyncio.create_task(self._publish_events(), name=f"relay-node-{self.node_id}-events"),
        ]

    def record(self) -> NodeRecord:
        occupancy = self._pool.occupancy()
        return NodeRecord(
            node_id=self.node_id,
            instance=self.instance,
            number=self.number,
            host=socket.gethostname(),
            pid=os.getpid(),
            address=self._address,
            capacity=occupancy.capacity,
            participants=occupancy.participants,
            rooms=occupancy.rooms,
            workers=occupancy.workers,
            workers_alive=occupancy.workers_alive,
            draining=self.draining,
            heartbeat_at=time(),
        )

    async def announce(self) -> None:
        await self.registry.announce(self.record())

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat)
            try:
                await self.announce()
            except Exception as error:  # Redis away for a moment: the next beat retries
                if cancel_requested():
                    raise asyncio.CancelledError from error
                logger.warning("relay node %s: heartbeat failed: %r", self.node_id, error)

    # ---- requests ---------------------------------------------------------------------------
    async def _serve(self, pubsub: Any) -> None:
        async for _channel, request in messages(pubsub):
            task = asyncio.create_task(self._answer(request))
            self._requests.add(task)
            task.add_done_callback(self._requests.discard)

    async def _answer(self, request: Any) -> None:
        try:
            reply_to, request_id = request["reply_to"], int(request["id"])
            op, args = str(request["op"]), dict(request.get("args") or {})
        except (ValueError, TypeError, KeyError):
            logger.warning("relay node %s: malformed request %.200r", self.node_id, request)
            return
        if not isinstance(reply_to, str) or not reply_to.startswith(PREFIX + "client:"):
            logger.warning("relay node %s: request without a reply channel", self.node_id)
            return
        try:
            reply = {"id": request_id, "ok": True, "result": await self._execute(op, args)}
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if not isinstance(error, (ValueError, TypeError, RelayError)):
                logger.exception("relay node %s: %s failed", self.node_id, op)
            reply = wire.error_reply(request_id, error)
        await self._redis.publish(reply_to, json.dumps(reply))

    async def _execute(self, op: str, args: dict[str, Any]) -> Any:
        if op == "stats":
            stats = await self._pool.stats()
            return [
                dataclasses.asdict(
                    dataclasses.replace(w, worker_id=global_worker(self.number, w.worker_id))
                )
                for w in stats.workers
            ]
        if op == "rooms":
            return list(self._pool.room_ids)
        if op == "drain":
            deadline = float(args.get("deadline_seconds", 0.0))
            self.drain_soon(deadline)
            return {"rooms": self._pool.occupancy().rooms}
        command = wire.parse_command(op, args)
        pool = self._pool
        if isinstance(command, OpenRoom):
            if self.draining:
                raise NoCapacity(f"relay node {self.node_id} is draining")
            return global_worker(self.number, int(await pool.open_room(command.room_id)))
        if isinstance(command, Join):
            return await pool.join(
                command.room_id,
                command.participant_id,
                command.offer_sdp,
                command.tracks,
                replace=command.replace,
                sources=command.sources,
                audience=command.audience,
                recorded=command.recorded,
            )
        if isinstance(command, SetAudience):
            return await pool.set_audience(
                command.room_id, command.participant_id, command.audience
            )
        if isinstance(command, Leave):
            return await pool.leave(command.room_id, command.participant_id)
        if isinstance(command, CloseRoom):
            return await pool.close_room(command.room_id, command.reason)
        if isinstance(command, StartRecording):
            return await pool.start_recording(
                command.room_id, command.recording_id, command.directory
            )
        if isinstance(command, PauseRecording):
            return await pool.pause_recording(command.room_id)
        if isinstance(command, ResumeRecording):
            return await pool.resume_recording(command.room_id)
        if isinstance(command, StopRecording):
            return dataclasses.asdict(await pool.stop_recording(command.room_id))
        raise ValueError(f"unknown op {op!r}")  # pragma: no cover (parse_command checked it)

    # ---- events -----------------------------------------------------------------------------
    def _queue_event(self, event: RelayEvent) -> None:
        message = {"node": self.node_id, "instance": self.instance, **event_to_wire(event)}
        self._events.put_nowait(message)

    async def _publish_events(self) -> None:
        """One at a time, in the order the pool reported them (a room's join before its end)."""
        while True:
            message = await self._events.get()
            try:
                await self._redis.publish(EVENTS, json.dumps(message))
            except Exception as error:
                logger.warning("relay node %s: event not published: %r", self.node_id, error)
            finally:
                self._events.task_done()

    # ---- drain and stop ---------------------------------------------------------------------
    def drain_soon(self, deadline_seconds: float) -> None:
        """Start draining (once; a second call with a shorter deadline does not cut it)."""
        if self._drain_task is None:
            self._drain_task = asyncio.create_task(self.drain(deadline_seconds))

    def hurry(self) -> None:
        """Cut a running drain short: the calls still on this node move now."""
        self._deadline = 0.0

    async def drain(self, deadline_seconds: float) -> None:
        self.draining = True
        with contextlib.suppress(Exception):
            await self.announce()  # no new rooms from now on
        rooms = self._pool.occupancy().rooms
        logger.warning(
            "relay node %s draining: %d room(s), up to %.0f s for them to end",
            self.node_id,
            rooms,
            deadline_seconds,
        )
        self._deadline = monotonic() + deadline_seconds
        while self._pool.room_ids and monotonic() < self._deadline:  # noqa: ASYNC110 (polls)
            await asyncio.sleep(0.2)
        moved = self._pool.room_ids
        for room_id in moved:
            with contextlib.suppress(RelayError):
                await self._pool.close_room(room_id, CloseReason.RELAY_DRAINED)
        logger.warning(
            "relay node %s drained: %d call(s) ended on their own, %d moved to other nodes",
            self.node_id,
            max(0, rooms - len(moved)),
            len(moved),
        )
        self.drained.set()

    async def stop(self) -> None:
        self.drain_soon(0.0)
        assert self._drain_task is not None
        await self._drain_task
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._events.join(), 5.0)  # signaling hears every move
        await stop_tasks([*self._tasks, *self._requests], f"relay node {self.node_id}'s tasks")
        with contextlib.suppress(Exception):
            await self.registry.withdraw(self.record())
        await self._pool.stop()


def _own_address() -> str:
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"
