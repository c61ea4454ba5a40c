"""python-engineio's socket with a cheaper websocket loop and ping timer.

python-engineio 4.x (`engineio.async_socket.AsyncSocket`) reads each websocket frame through
a new task wrapped in `asyncio.wait_for` (on Python 3.11 a second task and a timer per frame),
waits for each frame to send through another `wait_for` around `Queue.get()`, and keeps a task
sleeping a whole ping interval per socket for its next ping. Measured against it
(docs/benchmarks.md, "16,000 sockets" and "After the lean Engine.IO socket"): holding 16,000
idle sockets took 36 % of a core instead of 15 %, and a chat message (the event, its ack, a
push) ~10 % more CPU.

`LeanSocket` keeps the Engine.IO behaviour (same packets, same order, same timeouts) with:

- the reader awaiting the websocket directly, under one deadline that is pushed back at most
  every few seconds instead of re-armed per frame;
- the writer awaiting the queue directly: it ends on the `None` that closing puts there, or
  when the reader ends;
- the next ping a `loop.call_later` callback instead of a sleeping task;
- a Socket.IO frame (an Engine.IO message) read straight into the server's handler, and a
  packet to send put straight on the queue, without python-engineio's per-frame packet
  object, log line, closure and coroutine hops (the same checks, the same errors).

python-engineio's loop also leaves every closed connection as a reference cycle: the read that
ends it raises inside a per-frame task, which keeps the exception, whose traceback holds the
frames that hold the task. Nothing here stores an exception, so a closed connection (~57 of
the server's objects) is freed by reference counting when it closes instead of waiting for a
full collection (signaling/collector.py).

The server adopts each new socket (`adopt`) before Engine.IO starts using it. Long-polling
is python-engineio's own; the upgrade from it is the same probe exchange.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from engineio import async_socket, packet

DEADLINE_SLACK = 5.0
"""Seconds (at most half the ping timeout) the reader's deadline may have run down before a
frame pushes it back: a quiet connection is closed between interval + timeout - slack and
interval + timeout after its last frame (a pong comes within the ping timeout of its ping,
so never a live one), and a busy one re-arms its timer at most once per this many seconds."""
MESSAGE = str(packet.MESSAGE)
"""The Engine.IO packet type of every Socket.IO frame."""


def pong_overdue(socket: Any, now: float) -> bool:
    """python-engineio's test of a client gone quiet (its `check_ping_timeout`), read without
    an await: a ping sent and no pong for longer than the ping timeout."""
    last_ping = socket.last_ping
    return bool(last_ping) and now - last_ping > socket.server.ping_timeout


class EngineWebSocket(Protocol):
    """What python-engineio's websocket wrapper offers (engineio.async_drivers)."""

    async def wait(self) -> str | bytes: ...

    async def send(self, message: str | bytes) -> None: ...

    async def close(self) -> None: ...


class LeanSocket(async_socket.AsyncSocket):  # type: ignore[misc]
    # python-engineio's (untyped) state, as this class uses it.
    last_ping: float | None
    connected: bool
    upgrading: bool
    upgraded: bool
    _ping_timer: asyncio.TimerHandle | None = None

    # ---- pings ----------------------------------------------------------------------------
    def schedule_ping(self) -> None:
        # As python-engineio: only once the previous ping has been answered.
        if self.last_ping:
            self.last_ping = None
            loop = asyncio.get_running_loop()
            self._ping_timer = loop.call_later(self.server.ping_interval, self._ping_due)

    def _ping_due(self) -> None:
        self._ping_timer = None
        if not self.closing and not self.closed:
            self.last_ping = time.time()
            self.queue.put_nowait(packet.Packet(packet.PING))

    # ---- the websocket transport ----------------------------------------------------------
    async def _websocket_handler(self, ws: EngineWebSocket) -> None:
        if self.connected:
            # An upgrade from long-polling: python-engineio's own probe handshake.
            if not await self._upgrade_handshake(ws):
                return
        else:
            self.connected = True
            self.upgraded = True
        writer = asyncio.ensure_future(self._write_frames(ws))
        try:
            await self._read_frames(ws)
        finally:
            self.queue.put_nowait(None)  # the writer sends what is queued, then ends
            await writer
            await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)
            self._let_go()

    async def _read_frames(self, ws: EngineWebSocket) -> None:
        server = self.server
        timeout = server.ping_interval + server.ping_timeout
        slack = min(DEADLINE_SLACK, server.ping_timeout / 2)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(loop.time() + timeout) as deadline:
                while True:
                    data = await ws.wait()
                    if len(data) > server.max_http_buffer_size:
                        return  # python-engineio ends the connection too
                    now = loop.time()
                    if (deadline.when() or 0.0) - now < timeout - slack:
                        deadline.reschedule(now + timeout)
                    if isinstance(data, str) and data[:1] == MESSAGE:
                        await self._message(data[1:])  # Socket.IO's frames: the hot path
                        continue
                    # A frame that is not an Engine.IO packet raises here, as in
                    # python-engineio: the server's request handler reports it.
                    pkt = packet.Packet(encoded_packet=data)
                    try:
                        await self.receive(pkt)
                    except async_socket.exceptions.UnknownPacketError:
                        pass
                    except async_socket.exceptions.SocketIsClosedError:
                        return
                    except Exception:
                        server.logger.exception("Unknown receive error")
        except (OSError, TimeoutError):
            return  # the transport ended or went quiet

    async def receive(self, pkt: packet.Packet) -> None:
        if pkt.packet_type == packet.MESSAGE:
            await self._message(pkt.data)
        else:
            await super().receive(pkt)

    async def _message(self, data: str | bytes) -> None:
        """A message to the server's `message` handler (python-socketio's dispatch), as
        python-engineio's receive does, without its per-frame log line, closure and
        coroutine-function check; a failing handler is logged and the socket reads on."""
        handler = self.server.handlers.get("message")
        if handler is None:
            return
        try:
            await handler(self.sid, data)
        except Exception:
            self.server.logger.exception("message async handler error")

    async def send(self, pkt: packet.Packet) -> None:
        # python-engineio's checks (a closed socket raises, a client whose pong is overdue
        # is closed instead), then the queue, without the coroutine hops and log line.
        if self.closed:
            raise async_socket.exceptions.SocketIsClosedError()
        if pong_overdue(self, time.time()):
            await super().send(pkt)  # closes it
            return
        self.queue.put_nowait(pkt)

    async def _write_frames(self, ws: EngineWebSocket) -> None:
        queue = self.queue
        try:
            while True:
                pkt = await queue.get()
                queue.task_done()
                if pkt is None:
                    return
                await ws.send(pkt.encode())  # get() does not wait while packets are queued
        except Exception:
            return  # a send on a closed connection: the reader ends it
        finally:
            await ws.close()

    async def _upgrade_handshake(self, ws: EngineWebSocket) -> bool:
        """The polling → websocket probe (PING "probe", PONG "probe", UPGRADE)."""
        self.upgrading = True  # hold packet sends during the upgrade
        try:
            probe = packet.Packet(encoded_packet=await ws.wait())
            if probe.packet_type != packet.PING or probe.data != "probe":
                self.upgrading = False
                return False
            await ws.send(packet.Packet(packet.PONG, data="probe").encode())
            await self.queue.put(packet.Packet(packet.NOOP))  # end the pending poll
            upgrade = packet.Packet(encoded_packet=await ws.wait())
        except (OSError, ValueError):
            self.upgrading = False
            return False
        self.upgrading = False
        if upgrade.packet_type != packet.UPGRADE:
            self.upgraded = False
            return False
        self.upgraded = True
        return True

    def _let_go(self) -> None:
        """A pending ping timer would keep a closed socket for up to a ping interval."""
        if self._ping_timer is not None:
            self._ping_timer.cancel()
            self._ping_timer = None


def adopt(socket: Any) -> None:
    """Give a socket python-engineio has just made the lean loop (same state, same class
    layout: only the methods change)."""
    if type(socket) is async_socket.AsyncSocket:
        socket.__class__ = LeanSocket
