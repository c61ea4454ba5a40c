"""The pool's handle on one relay worker process (spawned, own asyncio loop, JSON frames over a
socketpair: relay/control/channel.py)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

from relay.control import wire, worker_host
from relay.control.channel import ChannelClosed, FrameChannel, socket_of
from relay.interface import EventLoopKind, RelayIncompatible, RelayLost, WorkerId, WorkerStats

logger = logging.getLogger(__name__)


class RelayWorker:
    """Lifecycle: new → started (start(): process up, capacity registered) → stopped or lost.

    stop() asks the worker to close its rooms and peer connections, then waits for the
    process to exit (killing it after `timeout`). A worker whose channel reaches EOF without
    stop() is lost: pending requests fail with RelayLost and `on_lost` is called once;
    reap() then collects its exit code. A handle is never started twice: the pool makes a
    new one to replace a lost worker.
    """

    def __init__(
        self,
        worker_id: WorkerId,
        capacity: int,
        on_lost: Callable[[RelayWorker], None] | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        event_loop: EventLoopKind = "uvloop",
        public_ip: str = "",
    ) -> None:
        if capacity < 1:
            raise ValueError("a worker's capacity must be at least 1 participant")
        self.worker_id = worker_id
        self.capacity = capacity
        self.event_loop: EventLoopKind = event_loop
        """Asked for at start; after start, the loop the worker really runs (its hello)."""
        self.public_ip = public_ip
        """Announced in the worker's answers besides its own addresses (relay.public_ip)."""
        self.pid: int | None = None
        self.exitcode: int | None = None
        """The process's exit code once stopped (0: it shut down cleanly)."""
        self.alive = False
        self._on_lost = on_lost
        self._on_event = on_event
        self._channel: FrameChannel | None = None
        self._reader: asyncio.Task[None] | None = None
        self._process: BaseProcess | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._hello: asyncio.Future[dict[str, Any]] | None = None
        self._stopping = False

    async def start(self, timeout: float = 30.0) -> None:
        loop = asyncio.get_running_loop()
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(
            target=worker_host.main,
            args=(child, int(self.worker_id), self.capacity, self.event_loop, self.public_ip),
            name=f"relay-worker-{self.worker_id}",
            daemon=True,
        )
        process.start()
        child.close()  # so the worker's exit is an EOF on our end
        self._process = process
        self._hello = loop.create_future()
        try:
            self._channel = await FrameChannel.open(socket_of(parent))
            self.alive = True
            self._reader = loop.create_task(self._read_replies(self._channel))
            hello = await asyncio.wait_for(self._hello, timeout)
        except BaseException:
            await self.stop()
            raise
        self.pid = int(hello["pid"])
        self.capacity = int(hello["capacity"])
        self.event_loop = "uvloop" if hello.get("event_loop") == "uvloop" else "asyncio"

    async def _read_replies(self, channel: FrameChannel) -> None:
        while True:
            try:
                message = await channel.receive()
            except ChannelClosed:
                self._lost()
                return
            except ValueError:
                logger.exception("undecodable message from worker %s", self.worker_id)
                continue
            self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("event") == "hello":
            if self._hello is not None and not self._hello.done():
                if "refused" in message:  # aiortc_compat.check() failed in the worker
                    self._stopping = True  # its exit is a refusal, not a loss to report
                    self._hello.set_exception(RelayIncompatible(str(message["refused"])))
                else:
                    self._hello.set_result(message)
            return
        if "event" in message:
            if self._on_event is not None:
                self._on_event(message)
            return
        future = self._pending.pop(int(message.get("id", -1)), None)
        if future is None or future.done():
            return
        if message.get("ok"):
            future.set_result(message.get("result"))
        else:
            future.set_exception(wire.error_from_reply(message))

    def _lost(self) -> None:
        if not self.alive:
            return
        self.alive = False
        if self._channel is not None:
            self._channel.close()
        error = RelayLost(f"relay worker {self.worker_id} (pid {self.pid}) exited")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()
        if self._hello is not None and not self._hello.done():
            self._hello.set_exception(error)
        if not self._stopping:
            logger.error("relay worker %s (pid %s) lost", self.worker_id, self.pid)
            if self._on_lost is not None:
                self._on_lost(self)

    async def request(self, op: str, args: dict[str, Any], timeout: float = 30.0) -> Any:
        channel = self._channel
        if not self.alive or channel is None:
            raise RelayLost(f"relay worker {self.worker_id} is not running")
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            channel.send({"id": request_id, "op": op, "args": args})
            await channel.drain()
        except ChannelClosed as error:
            self._pending.pop(request_id, None)
            self._lost()
            raise RelayLost(f"relay worker {self.worker_id}: {error}") from error
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(request_id, None)

    async def execute(self, command: wire.Command) -> Any:
        return await self.request(wire.OP_NAMES[type(command)], wire.command_args(command))

    async def stats(self) -> WorkerStats:
        if not self.alive:
            return WorkerStats(self.worker_id, self.pid or 0, False, self.capacity, 0, 0, 0)
        try:
            result = await self.request("stats", {}, timeout=5.0)
        except (RelayLost, TimeoutError):  # died (or hangs) while being asked: not alive
            return WorkerStats(self.worker_id, self.pid or 0, False, self.capacity, 0, 0, 0)
        return WorkerStats(
            worker_id=self.worker_id,
            pid=int(result["pid"]),
            alive=True,
            capacity=int(result["capacity"]),
            rooms=int(result["rooms"]),
            participants=int(result["participants"]),
            peer_connections=int(result["peer_connections"]),
            tasks=int(result["tasks"]),
            threads=int(result.get("threads", 0)),
            recordings=int(result.get("recordings", 0)),
            open_files=int(result["open_files"]),
            rss_bytes=int(result["rss_bytes"]),
            dropped={str(k): int(v) for k, v in dict(result.get("dropped", {})).items()},
            metrics=dict(result.get("metrics", {})),
        )

    def kill(self) -> None:
        """Terminate the process abruptly (tests, or a worker that stopped answering)."""
        if self._process is not None and self._process.is_alive():
            self._process.kill()

    async def reap(self, timeout: float = 10.0) -> int | None:
        """Wait for the process to exit (killing it after `timeout`); its exit code
        (negative: the signal that ended it). Idempotent."""
        process = self._process
        if process is not None:
            await asyncio.to_thread(process.join, timeout)
            if self._process is not process:
                return self.exitcode  # reaped meanwhile by a concurrent call (stop, restart)
            if process.is_alive():
                logger.error("relay worker %s did not exit; killing it", self.worker_id)
                process.kill()
                await asyncio.to_thread(process.join, timeout)
                if self._process is not process:
                    return self.exitcode
            self.exitcode = process.exitcode
            process.close()
            self._process = None
        return self.exitcode

    async def stop(self, timeout: float = 10.0) -> None:
        """Close the worker's rooms and wait for its process to exit; idempotent."""
        self._stopping = True
        if self.alive:
            with contextlib.suppress(RelayLost, TimeoutError):
                await self.request("shutdown", {}, timeout=timeout)
        await self.reap(timeout)
        self.alive = False
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
