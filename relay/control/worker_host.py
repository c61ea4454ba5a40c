"""Inside a relay worker process: an asyncio loop hosting rooms, driven over a FrameChannel."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from aiortc import RTCBundlePolicy, RTCConfiguration

from relay.control import wire
from relay.control.channel import ChannelClosed, FrameChannel, socket_of
from relay.control.event_wire import RelayEvent, event_to_wire
from relay.event_loops import kind_of, loop_factory
from relay.interface import (
    CloseReason,
    CloseRoom,
    EventLoopKind,
    Join,
    Leave,
    OpenRoom,
    ParticipantLink,
    PauseRecording,
    RelayError,
    ResumeRecording,
    RoomExists,
    RoomId,
    SetAudience,
    StartRecording,
    StopRecording,
    UnknownRoom,
    check_audience,
)
from relay.metrics import COUNTERS, watch_loop_lag
from relay.rtc import aiortc_compat, worker_process
from relay.rtc.ice_guard import DropCounters
from relay.rtc.link_reports import LinkMonitor
from relay.rtc.media_flow import MediaFlowMonitor
from relay.rtc.room import Room

logger = logging.getLogger(__name__)


class WorkerHost:
    """Lifecycle: run() until a shutdown command or the pool's end of the channel closes.

    Commands run as tasks (a slow join does not block stats); on exit every task is
    cancelled and every room closed with RELAY_SHUTDOWN.
    """

    def __init__(
        self, channel: FrameChannel, worker_id: int, capacity: int, public_ip: str = ""
    ) -> None:
        self._channel = channel
        self._public_ip = public_ip
        self._worker_id = worker_id
        self._capacity = capacity
        # max-bundle: aiortc's balanced policy leaves a third m-line (our screen) on an
        # orphaned transport when the offer bundles audio + two videos.
        self._configuration = RTCConfiguration(
            iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE
        )
        self.rooms: dict[RoomId, Room] = {}
        self.drops = DropCounters()
        """Datagrams dropped at every room's sockets, by reason (reported in stats)."""
        self._media_flow = MediaFlowMonitor(lambda: self.rooms.values(), self._send_event)
        self._links = LinkMonitor(lambda: self.rooms.values(), self._send_event)
        self._tasks: set[asyncio.Task[None]] = set()
        self._shutdown_id: int | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self._send(
            {
                "event": "hello",
                "worker_id": self._worker_id,
                "pid": os.getpid(),
                "capacity": self._capacity,
                "event_loop": kind_of(loop),
            }
        )
        self._media_flow.start()
        self._links.start()
        lag = asyncio.create_task(watch_loop_lag())
        self._tasks.add(lag)
        try:
            await self._read_commands()
        finally:
            await self._media_flow.stop()
            await self._links.stop()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for room in list(self.rooms.values()):
                await room.close(CloseReason.RELAY_SHUTDOWN)
            self.rooms.clear()

    async def _read_commands(self) -> None:
        """Until shutdown or the pool's end of the channel closes (the pool is gone)."""
        while True:
            try:
                message = await self._channel.receive()
            except ChannelClosed:
                return
            except ValueError:
                logger.exception("undecodable message from the pool")
                continue
            if message.get("op") == "shutdown":
                self._shutdown_id = int(message.get("id", -1))
                return
            task = asyncio.create_task(self._handle(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _handle(self, message: dict[str, Any]) -> None:
        request_id = int(message.get("id", -1))
        try:
            op = str(message.get("op"))
            if op == "stats":
                result: Any = self.stats()
            else:
                result = await self._execute(wire.parse_command(op, dict(message["args"])))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if not isinstance(error, (ValueError, TypeError)) and not isinstance(error, RelayError):
                logger.exception("command %s failed", message.get("op"))
            self._send(wire.error_reply(request_id, error))
            return
        self._send({"id": request_id, "ok": True, "result": result})

    async def _execute(self, command: wire.Command) -> Any:
        if isinstance(command, OpenRoom):
            if command.room_id in self.rooms:
                raise RoomExists(f"room {command.room_id} is already open")
            room_id = command.room_id
            self.rooms[room_id] = Room(
                room_id,
                self._configuration,
                lambda participant_id, state: self._send(
                    event_to_wire(ParticipantLink(room_id, participant_id, state))
                ),
                drops=self.drops,
                public_ip=self._public_ip,
            )
            return None
        room = self.rooms.get(command.room_id)
        if room is None:
            raise UnknownRoom(f"no room {command.room_id} on worker {self._worker_id}")
        if isinstance(command, Join):
            return await room.join(
                command.participant_id,
                command.offer_sdp,
                command.tracks,
                replace=command.replace,
                sources=command.sources,
                audience=check_audience(command.audience),
                recorded=command.recorded,
            )
        if isinstance(command, SetAudience):
            room.set_audience(command.participant_id, check_audience(command.audience))
            return None
        if isinstance(command, Leave):
            await room.leave(command.participant_id)
            return None
        if isinstance(command, StartRecording):
            await room.start_recording(
                command.recording_id, Path(command.directory), self._send_event
            )
            return None
        if isinstance(command, PauseRecording):
            room.pause_recording()
            return None
        if isinstance(command, ResumeRecording):
            room.resume_recording()
            return None
        if isinstance(command, StopRecording):
            return dataclasses.asdict(await room.stop_recording())
        assert isinstance(command, CloseRoom)
        del self.rooms[command.room_id]
        await room.close(command.reason)
        return None

    def stats(self) -> dict[str, Any]:
        return {
            "worker_id": self._worker_id,
            "pid": os.getpid(),
            "capacity": self._capacity,
            "rooms": len(self.rooms),
            "participants": sum(len(r.participants) for r in self.rooms.values()),
            "peer_connections": sum(r.peer_connections for r in self.rooms.values()),
            "tasks": len(asyncio.all_tasks()),
            "threads": _threads(),
            "recordings": sum(
                1 for r in self.rooms.values() if r.recorder is not None and not r.recorder.stopped
            ),
            "open_files": _open_files(),
            "rss_bytes": _rss_bytes(),
            "dropped": self.drops.as_dict(),
            "metrics": COUNTERS.to_wire(),
        }

    def _send_event(self, event: RelayEvent) -> None:
        self._send(event_to_wire(event))

    def _send(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(ChannelClosed):  # the pool is gone; run() ends on EOF
            self._channel.send(message)

    async def acknowledge_shutdown(self) -> None:
        if self._shutdown_id is not None:
            self._send({"id": self._shutdown_id, "ok": True, "result": None})
            with contextlib.suppress(ChannelClosed):
                await self._channel.drain()


def _threads() -> int:
    """Threads of the worker's own, not the loop's default executor (asyncio.to_thread's pool
    keeps idle threads for reuse: not a leak)."""
    return sum(1 for t in threading.enumerate() if not t.name.startswith("asyncio_"))


def _open_files() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:  # not Linux
        return 0


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


EXIT_INCOMPATIBLE = 78
"""Exit code of a worker that refused to start (EX_CONFIG): aiortc_compat.check() failed."""


def main(
    conn: Connection,
    worker_id: int,
    capacity: int,
    event_loop: EventLoopKind,
    public_ip: str = "",
) -> None:
    """Process entry point (multiprocessing spawn target).

    Before anything else the worker checks the installed aiortc/aioice have every private
    attribute the relay uses; if not it answers the pool's wait for hello with a refusal
    naming them (the pool raises RelayIncompatible and does not restart it) and exits."""
    logging.basicConfig(level=logging.WARNING)
    try:
        aiortc_compat.check()
    except aiortc_compat.AiortcIncompatible as error:
        refusal: str | None = str(error)
        logger.critical("relay worker %s refuses to start: %s", worker_id, error)
    else:
        refusal = None
        worker_process.prepare()
        worker_process.freeze_startup_heap()

    sock = socket_of(conn)

    async def serve() -> None:
        channel = await FrameChannel.open(sock)
        if refusal is not None:
            with contextlib.suppress(ChannelClosed):
                channel.send({"event": "hello", "worker_id": worker_id, "refused": refusal})
                await channel.drain()
            channel.close()
            return
        host = WorkerHost(channel, worker_id, capacity, public_ip)
        await host.run()
        await host.acknowledge_shutdown()
        channel.close()

    with asyncio.Runner(loop_factory=loop_factory(event_loop, "relay worker")) as runner:
        runner.run(serve())
    if refusal is not None:
        raise SystemExit(EXIT_INCOMPATIBLE)
