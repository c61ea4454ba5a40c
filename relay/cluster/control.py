"""RelayControl over Redis: what signaling uses when relay nodes run on other processes or
machines. Each room is placed on the least-loaded node that takes new rooms; requests go to
that node's channel and replies come back on this process's own; every node's events arrive
on one channel and those of this process's rooms reach its listeners. A node whose heartbeat
stops, or that comes back as a new instance, loses its rooms (RELAY_LOST) and signaling
moves those calls, exactly as when an embedded worker dies."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import logging
import uuid
from collections.abc import Collection, Mapping
from typing import Any

from redis.asyncio import Redis

from relay.cluster.closing import cancel_requested, close_within, stop_tasks
from relay.cluster.registry import (
    EVENTS,
    NodeRecord,
    NodeRegistry,
    replies_channel,
    requests_channel,
)
from relay.cluster.subscription import messages
from relay.control import wire
from relay.control.event_wire import event_from_wire
from relay.control.listeners import RelayListeners
from relay.interface import (
    CloseReason,
    CloseRoom,
    Join,
    Leave,
    NoCapacity,
    OpenRoom,
    ParticipantId,
    PauseRecording,
    RecordingSummary,
    RelayError,
    RelayLost,
    RelayStats,
    ResumeRecording,
    RoomClosed,
    RoomExists,
    RoomId,
    SetAudience,
    StartRecording,
    StopRecording,
    TrackRole,
    UnknownRoom,
    WorkerId,
    WorkerStats,
    audience_wire,
)

logger = logging.getLogger(__name__)

REQUEST_TIMEOUT = 15.0
"""A join waits for the node's answer; longer than any healthy one takes."""
ADOPT_TIMEOUT = 2.0
"""A take-over asks every node for its rooms: a healthy node answers in milliseconds."""


@dataclasses.dataclass(frozen=True, slots=True)
class Placement:
    node_id: str
    instance: str


class ClusterRelay(RelayListeners):
    """Lifecycle: start() (subscribed; nodes read) → serving → stop(). Needs no node to start:
    open_room raises RelayLost while none is registered, and the call retries (signaling)."""

    def __init__(self, redis: Redis, *, heartbeat_seconds: float = 0.5) -> None:
        super().__init__()
        self._redis = redis
        self._heartbeat = heartbeat_seconds
        self.registry = NodeRegistry(redis, ttl=4 * heartbeat_seconds)
        self.client_id = uuid.uuid4().hex
        self._replies = replies_channel(self.client_id)
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._rooms: dict[RoomId, Placement] = {}
        self._opening: set[RoomId] = set()
        """Rooms asked for and not answered yet: not orphans, though no node said so yet."""
        self.nodes: dict[str, NodeRecord] = {}
        """Live nodes as last read (every heartbeat interval)."""
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self._replies, EVENTS)
        self.nodes = await self.registry.nodes()
        self._tasks = [
            asyncio.create_task(self._listen(pubsub), name="cluster-relay-listen"),
            asyncio.create_task(self._watch(), name="cluster-relay-watch"),
        ]

    async def stop(self) -> None:
        await stop_tasks(self._tasks, "the relay cluster client's listener and watcher")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(RelayLost("the relay client stopped"))
        for room_id in list(self._rooms):
            self._forget(room_id, CloseReason.RELAY_SHUTDOWN)
        await close_within(self._redis, "the relay cluster's Redis client")

    # ---- RelayControl -----------------------------------------------------------------------
    async def open_room(self, room_id: RoomId) -> WorkerId:
        command = OpenRoom(room_id)
        if room_id in self._rooms:
            raise RoomExists(f"room {room_id} is already open")
        self.nodes = await self.registry.nodes()
        mine: dict[str, int] = {}
        for placement in self._rooms.values():
            mine[placement.node_id] = mine.get(placement.node_id, 0) + 1

        def busy(node: NodeRecord) -> tuple[float, int, str]:
            # A heartbeat is up to one interval old: rooms placed since count from our books.
            rooms = max(node.rooms, mine.get(node.node_id, 0))
            load = max(node.load, 2 * mine.get(node.node_id, 0) / max(node.capacity, 1))
            return (load, rooms, node.node_id)

        candidates = sorted((n for n in self.nodes.values() if n.placeable), key=busy)
        if not self.nodes:
            raise RelayLost("no relay node is registered")
        refusals: list[str] = []
        self._opening.add(room_id)
        try:
            return await self._open_on(room_id, command, candidates, refusals)
        finally:
            self._opening.discard(room_id)

    async def _open_on(
        self,
        room_id: RoomId,
        command: OpenRoom,
        candidates: list[NodeRecord],
        refusals: list[str],
    ) -> WorkerId:
        for node in candidates:
            try:
                worker = await self._execute(node.node_id, command)
            except (NoCapacity, RelayLost, TimeoutError) as error:
                refusals.append(f"{node.node_id}: {error}")
                continue
            self._rooms[room_id] = Placement(node.node_id, node.instance)
            return WorkerId(int(worker))
        raise NoCapacity(
            "no relay node takes new rooms" + (f" ({'; '.join(refusals)})" if refusals else "")
        )

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
        command = Join.of(
            room_id, participant_id, offer_sdp, tracks, replace, sources, audience, recorded
        )
        return str(await self._execute(self._node_of(room_id), command))

    async def set_audience(
        self,
        room_id: RoomId,
        participant_id: ParticipantId,
        audience: Collection[ParticipantId] | None,
    ) -> None:
        command = SetAudience(room_id, participant_id, audience_wire(audience))
        await self._execute(self._node_of(room_id), command)

    async def leave(self, room_id: RoomId, participant_id: ParticipantId) -> None:
        await self._execute(self._node_of(room_id), Leave(room_id, participant_id))

    async def close_room(self, room_id: RoomId, reason: CloseReason) -> None:
        command = CloseRoom(room_id, reason)
        node_id = self._node_of(room_id)
        try:
            await self._execute(node_id, command)
        finally:
            if room_id in self._rooms:
                self._forget(room_id, reason)

    async def start_recording(self, room_id: RoomId, recording_id: str, directory: str) -> None:
        command = StartRecording(room_id, recording_id, directory)
        await self._execute(self._node_of(room_id), command)

    async def pause_recording(self, room_id: RoomId) -> None:
        await self._execute(self._node_of(room_id), PauseRecording(room_id))

    async def resume_recording(self, room_id: RoomId) -> None:
        await self._execute(self._node_of(room_id), ResumeRecording(room_id))

    async def stop_recording(self, room_id: RoomId) -> RecordingSummary:
        result = await self._execute(self._node_of(room_id), StopRecording(room_id))
        return RecordingSummary(**dict(result))

    async def stats(self) -> RelayStats:
        """Every live node's workers (global worker ids: relay/cluster/registry.py)."""
        self.nodes = await self.registry.nodes()

        async def node_stats(node_id: str) -> list[WorkerStats]:
            try:
                reports = await self._request(node_id, "stats", {}, timeout=2.0)
            except (RelayLost, TimeoutError):
                return []
            return [WorkerStats(**report) for report in reports]

        found = await asyncio.gather(*(node_stats(n) for n in sorted(self.nodes)))
        return RelayStats(tuple(w for workers in found for w in workers))

    async def close_orphans(self) -> int:
        """Close every room on every live node that this client did not open: what a
        signaling process that died (or the previous primary) left. Only the process that
        places calls may call it, before it opens any; returns how many it closed."""
        closed = 0
        for node_id in sorted(await self.registry.nodes()):
            try:
                rooms = await self._request(node_id, "rooms", {}, timeout=5.0)
            except (RelayLost, TimeoutError):
                continue
            for room_id in rooms:
                if RoomId(room_id) in self._rooms or RoomId(room_id) in self._opening:
                    continue
                command = CloseRoom(RoomId(room_id), CloseReason.CALL_ENDED)
                with contextlib.suppress(RelayError):
                    await self._execute(node_id, command)
                    closed += 1
        return closed

    async def adopt_rooms(self, room_ids: Collection[RoomId]) -> set[RoomId]:
        """A new primary takes over the rooms of the old one's calls: each live node is
        asked which rooms it has (a node that does not answer in ADOPT_TIMEOUT is dying, and
        its rooms are not adopted); found rooms are placed on their node from now on."""
        wanted = set(room_ids)
        found: set[RoomId] = set()
        self.nodes = await self.registry.nodes()
        for node_id, node in sorted(self.nodes.items()):
            try:
                rooms = await self._request(node_id, "rooms", {}, timeout=ADOPT_TIMEOUT)
            except (RelayLost, TimeoutError):
                continue
            for room_id in map(RoomId, rooms):
                if room_id in wanted:
                    self._rooms[room_id] = Placement(node_id, node.instance)
                    found.add(room_id)
        return found

    async def drain(self, node_id: str, deadline_seconds: float) -> int:
        """Ask a node to drain; returns how many rooms it had then."""
        result = await self._request(node_id, "drain", {"deadline_seconds": deadline_seconds})
        return int(result["rooms"])

    # ---- plumbing ---------------------------------------------------------------------------
    def _node_of(self, room_id: RoomId) -> str:
        placement = self._rooms.get(room_id)
        if placement is None:
            raise UnknownRoom(f"no open room {room_id}")
        return placement.node_id

    async def _execute(self, node_id: str, command: wire.Command) -> Any:
        return await self._request(
            node_id, wire.OP_NAMES[type(command)], wire.command_args(command)
        )

    async def _request(
        self, node_id: str, op: str, args: dict[str, Any], timeout: float = REQUEST_TIMEOUT
    ) -> Any:
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        message = {"id": request_id, "op": op, "args": args, "reply_to": self._replies}
        try:
            listeners = await self._redis.publish(requests_channel(node_id), json.dumps(message))
            if not listeners:
                raise RelayLost(f"relay node {node_id} is not listening")
            try:
                reply = await asyncio.wait_for(future, timeout)
            except TimeoutError:
                raise RelayLost(
                    f"relay node {node_id} did not answer {op} in {timeout:.0f} s"
                ) from None
        finally:
            self._pending.pop(request_id, None)
        if not reply.get("ok"):
            raise wire.error_from_reply(reply)
        return reply.get("result")

    async def _listen(self, pubsub: Any) -> None:
        async for channel, data in messages(pubsub):
            if channel == self._replies:
                self._on_reply(data)
            else:
                self._on_event(data)

    def _on_reply(self, reply: dict[str, Any]) -> None:
        future = self._pending.get(int(reply.get("id", -1)))
        if future is not None and not future.done():
            future.set_result(reply)

    def _on_event(self, message: dict[str, Any]) -> None:
        try:
            event = event_from_wire(message)
        except ValueError:
            logger.warning("relay cluster: malformed event %.200r", message)
            return
        placement = self._rooms.get(event.room_id)
        if placement != Placement(str(message.get("node")), str(message.get("instance"))):
            return  # another process's room, or an older room of the same id
        if isinstance(event, RoomClosed):
            self._forget(event.room_id, event.reason)
        else:
            self.tell(event)

    async def _watch(self) -> None:
        """Every heartbeat interval: the rooms of a node gone (or restarted) are lost."""
        while True:
            await asyncio.sleep(self._heartbeat)
            try:
                self.nodes = await self.registry.nodes()
            except Exception as error:
                if cancel_requested():
                    raise asyncio.CancelledError from error
                logger.warning("relay cluster: reading the node registry failed: %r", error)
                continue
            for room_id, placement in list(self._rooms.items()):
                node = self.nodes.get(placement.node_id)
                if node is None or node.instance != placement.instance:
                    logger.warning(
                        "relay node %s is gone: room %s lost", placement.node_id, room_id
                    )
                    self._forget(room_id, CloseReason.RELAY_LOST)

    def _forget(self, room_id: RoomId, reason: CloseReason) -> None:
        self._rooms.pop(room_id, None)
        self.room_closed(room_id, reason)
