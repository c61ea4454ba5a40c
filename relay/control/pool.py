"""Embedded RelayControl: N relay worker processes on this machine, rooms placed by load."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from collections.abc import Collection, Mapping
from typing import Any

from relay.control.event_wire import event_from_wire
from relay.control.listeners import RelayListeners
from relay.control.restarts import RestartPolicy
from relay.control.worker import RelayWorker
from relay.interface import (
    CloseReason,
    CloseRoom,
    EventLoopKind,
    Join,
    Leave,
    NoCapacity,
    OpenRoom,
    ParticipantId,
    PauseRecording,
    RecordingSummary,
    RelayIncompatible,
    RelayLost,
    RelayStats,
    ResumeRecording,
    RoomExists,
    RoomId,
    SetAudience,
    StartRecording,
    StopRecording,
    TrackRole,
    UnknownRoom,
    WorkerId,
    audience_wire,
)

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Occupancy:
    capacity: int
    """Participants the live workers take in all."""
    participants: int
    rooms: int
    workers: int
    workers_alive: int


DEFAULT_CAPACITY = 100
"""Participants per worker; one forwarded packet costs about 7-8 µs (docs/relay-notes.md)."""


class RelayPool(RelayListeners):
    """Lifecycle: new → started (start(): every worker up and registered) → stopped.

    A room lives on one worker, chosen at open_room as the one with the lowest
    participants/capacity (then fewest rooms). A lost worker ends its rooms with
    RELAY_LOST, reported to every room-closed listener (signaling moves those calls to
    another worker); the other workers carry on, and a replacement process is started
    under the same worker id (relay/control/restarts.py says when, and when it is a crash loop).
    """

    def __init__(
        self,
        workers: int | None = None,
        capacity: int = DEFAULT_CAPACITY,
        event_loop: EventLoopKind = "uvloop",
        *,
        public_ip: str = "",
    ) -> None:
        super().__init__()
        count = workers if workers is not None else (os.cpu_count() or 1)
        if count < 1:
            raise ValueError("a relay pool needs at least one worker")
        self._capacity = capacity
        self._event_loop: EventLoopKind = event_loop
        self._public_ip = public_ip
        """relay.public_ip: every worker announces it in its answers (1:1 NAT)."""
        self.workers = [self._new_worker(WorkerId(i)) for i in range(count)]
        self.restarts = {w.worker_id: RestartPolicy() for w in self.workers}
        self._restarting: dict[WorkerId, asyncio.Task[None]] = {}
        self._stopped = False
        self._rooms: dict[RoomId, RelayWorker] = {}
        self._participants: dict[WorkerId, int] = {w.worker_id: 0 for w in self.workers}
        self._room_participants: dict[RoomId, set[ParticipantId]] = {}

    def _new_worker(self, worker_id: WorkerId) -> RelayWorker:
        return RelayWorker(
            worker_id,
            self._capacity,
            on_lost=self._on_worker_lost,
            on_event=self._on_worker_event,
            event_loop=self._event_loop,
            public_ip=self._public_ip,
        )

    async def start(self) -> None:
        try:
            await asyncio.gather(*(worker.start() for worker in self.workers))
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Close every room (RELAY_SHUTDOWN) and stop every worker; idempotent."""
        self._stopped = True
        for task in list(self._restarting.values()):
            task.cancel()
        await asyncio.gather(*self._restarting.values(), return_exceptions=True)
        rooms = list(self._rooms)
        await asyncio.gather(*(worker.stop() for worker in self.workers))
        for room_id in rooms:
            self._forget(room_id, CloseReason.RELAY_SHUTDOWN)

    def _on_worker_event(self, message: dict[str, Any]) -> None:
        if message.get("event") == "hello":
            return
        try:
            event = event_from_wire(message)
        except ValueError:
            logger.exception("malformed event from a worker: %r", message)
            return
        self.tell(event, room_open=event.room_id in self._rooms)

    def _place(self) -> RelayWorker:
        alive = [w for w in self.workers if w.alive]
        if not alive:
            raise RelayLost("no relay worker is running")
        rooms = {w.worker_id: 0 for w in alive}
        for worker in self._rooms.values():
            if worker.worker_id in rooms:
                rooms[worker.worker_id] += 1
        best = min(
            alive,
            key=lambda w: (self._participants[w.worker_id] / w.capacity, rooms[w.worker_id]),
        )
        if self._participants[best.worker_id] >= best.capacity:
            raise NoCapacity("every relay worker is at capacity")
        return best

    def _worker(self, room_id: RoomId) -> RelayWorker:
        worker = self._rooms.get(room_id)
        if worker is None:
            raise UnknownRoom(f"no open room {room_id}")
        return worker

    async def open_room(self, room_id: RoomId) -> WorkerId:
        command = OpenRoom(room_id)
        if room_id in self._rooms:
            raise RoomExists(f"room {room_id} is already open")
        worker = self._place()
        self._rooms[room_id] = worker
        self._room_participants[room_id] = set()
        try:
            await worker.execute(command)
        except BaseException:
            if self._rooms.get(room_id) is worker:
                del self._rooms[room_id]
                self._room_participants.pop(room_id, None)
            raise
        return worker.worker_id

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
        worker = self._worker(room_id)
        members = self._room_participants.get(room_id)
        rejoin = members is not None and participant_id in members
        if not rejoin and self._participants[worker.worker_id] >= worker.capacity:
            raise NoCapacity(f"relay worker {worker.worker_id} is at capacity")
        answer = await worker.execute(command)
        members = self._room_participants.get(room_id)
        if members is not None and participant_id not in members:
            members.add(participant_id)
            self._participants[worker.worker_id] += 1
        return str(answer)

    async def set_audience(
        self,
        room_id: RoomId,
        participant_id: ParticipantId,
        audience: Collection[ParticipantId] | None,
    ) -> None:
        await self._worker(room_id).execute(
            SetAudience(room_id, participant_id, audience_wire(audience))
        )

    async def leave(self, room_id: RoomId, participant_id: ParticipantId) -> None:
        command = Leave(room_id, participant_id)
        worker = self._worker(room_id)
        await worker.execute(command)
        members = self._room_participants.get(room_id)
        if members is not None and participant_id in members:
            members.discard(participant_id)
            self._participants[worker.worker_id] -= 1

    async def adopt_rooms(self, room_ids: Collection[RoomId]) -> set[RoomId]:
        """Only this process opens rooms in its pool, and they die with it: a previous
        process's rooms are never here; those this pool already has are its own."""
        return {room_id for room_id in room_ids if room_id in self._rooms}

    async def close_room(self, room_id: RoomId, reason: CloseReason) -> None:
        command = CloseRoom(room_id, reason)
        worker = self._worker(room_id)
        try:
            await worker.execute(command)
        finally:
            if self._rooms.get(room_id) is worker:
                self._forget(room_id, reason)

    async def start_recording(self, room_id: RoomId, recording_id: str, directory: str) -> None:
        command = StartRecording(room_id, recording_id, directory)
        await self._worker(room_id).execute(command)

    async def pause_recording(self, room_id: RoomId) -> None:
        command = PauseRecording(room_id)
        await self._worker(room_id).execute(command)

    async def resume_recording(self, room_id: RoomId) -> None:
        command = ResumeRecording(room_id)
        await self._worker(room_id).execute(command)

    async def stop_recording(self, room_id: RoomId) -> RecordingSummary:
        command = StopRecording(room_id)
        result = await self._worker(room_id).execute(command)
        return RecordingSummary(**dict(result))

    async def stats(self) -> RelayStats:
        reports = await asyncio.gather(*(w.stats() for w in self.workers))
        return RelayStats(
            tuple(
                dataclasses.replace(
                    report,
                    restarts=policy.restarts,
                    last_exit_code=policy.last_exit_code,
                    crash_loop=policy.crash_loop(),
                )
                for report in reports
                for policy in (self.restarts[report.worker_id],)
            )
        )

    def occupancy(self) -> Occupancy:
        """What the pool holds now, from its own books (no round trip to the workers): what a
        relay node announces in every heartbeat."""
        alive = [w for w in self.workers if w.alive]
        return Occupancy(
            capacity=sum(w.capacity for w in alive),
            participants=sum(self._participants.values()),
            rooms=len(self._rooms),
            workers=len(self.workers),
            workers_alive=len(alive),
        )

    @property
    def room_ids(self) -> list[RoomId]:
        return list(self._rooms)

    def _forget(self, room_id: RoomId, reason: CloseReason) -> None:
        worker = self._rooms.pop(room_id)
        members = self._room_participants.pop(room_id, set())
        self._participants[worker.worker_id] -= len(members)
        self.room_closed(room_id, reason)

    def _on_worker_lost(self, worker: RelayWorker) -> None:
        for room_id, host in list(self._rooms.items()):
            if host is worker:
                self._forget(room_id, CloseReason.RELAY_LOST)
        if not self._stopped and worker.worker_id not in self._restarting:
            task = asyncio.get_running_loop().create_task(
                self._replace(worker), name=f"relay-worker-{worker.worker_id}-restart"
            )
            self._restarting[worker.worker_id] = task

    async def _replace(self, lost: RelayWorker) -> None:
        """Start a new process for a lost worker's id, with backoff; until one is up."""
        policy = self.restarts[lost.worker_id]
        try:
            code = await lost.reap()
            delay = policy.exited(code)
            while not self._stopped:
                if policy.crash_loop():
                    logger.error(
                        "relay worker %s is crash-looping: %d exits in %.0f s (last exit code "
                        "%s); next restart in %.1f s",
                        lost.worker_id,
                        len(policy.exits),
                        policy.window,
                        code,
                        delay,
                    )
                else:
                    logger.warning(
                        "relay worker %s exited (code %s); restarting it in %.1f s",
                        lost.worker_id,
                        code,
                        delay,
                    )
                await asyncio.sleep(delay)
                replacement = self._new_worker(lost.worker_id)
                policy.restarts += 1
                try:
                    await replacement.start()
                except RelayIncompatible as error:
                    # The same installed aiortc will refuse every replacement: say so once.
                    policy.exited(replacement.exitcode)
                    logger.critical(
                        "relay worker %s cannot run with the installed aiortc; not restarting"
                        " it: %s",
                        lost.worker_id,
                        error,
                    )
                    return
                except Exception as error:
                    await replacement.stop()
                    code = replacement.exitcode
                    delay = policy.exited(code)
                    logger.error("relay worker %s did not start: %r", lost.worker_id, error)
                    continue
                if self._stopped:
                    await replacement.stop()
                    return
                self.workers[self.workers.index(lost)] = replacement
                logger.warning(
                    "relay worker %s is back (pid %s, restart %d)",
                    lost.worker_id,
                    replacement.pid,
                    policy.restarts,
                )
                return
        finally:
            self._restarting.pop(lost.worker_id, None)
