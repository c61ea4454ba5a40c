"""Customers and staff for load generators, on one raw Engine.IO websocket each.

The clients of loadtest/clients.py stand on python-socketio's AsyncClient: per socket a
read loop, a write loop and a ping watchdog as tasks, and per frame an Engine.IO packet,
a Socket.IO packet and a handler task. Holding 5,000 of them and sending 1,000 messages a
second took the load generators more CPU than the server it measured (0.9 to 1.1 cores
against 0.75 to 0.8), so on this 2-core machine the server's figure was taken on a saturated
machine. Here a socket is one websocket and one reader task; frames are written and read
as the text docs/protocol.md §1 ("Raw frames") describes: `42/ns,ID[event,data]` out,
`43/ns,ID[ack]` and `42/ns,[event,data]` in, `2` answered with `3`. Same calls, same
answers, same errors (loadtest.clients' CustomerCalls and StaffCalls on top of it).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

import aiohttp

from loadtest.clients import ClientBase, CustomerCalls, ProtocolError, StaffCalls

PushHandler = Callable[[Any], None]
"""Takes one push's data (its first argument); runs in the socket's reader task."""


class LeanParticipant(ClientBase):
    """Lifecycle: connect(token) once, request() and pushes while connected, close() once.
    Pushes go to a handler set with on(event, …), or else to a queue per event for next()."""

    def __init__(self, base_url: str, *, http: aiohttp.ClientSession | None = None) -> None:
        super().__init__(base_url, http=http)
        self.connected = False
        self._handlers: dict[str, PushHandler] = {}
        self._acks: dict[int, asyncio.Future[list[Any]]] = {}
        self._ack_ids = itertools.count(1)
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ns = "" if self.namespace == "/" else f"{self.namespace},"
        """The namespace as every frame after the packet type writes it."""
        self._event_prefix = "42" + self._ns
        self._ack_prefix = "43" + self._ns

    def on(self, event: str, handler: PushHandler) -> None:
        """Hand every push of `event` to `handler` instead of queueing it."""
        self._handlers[event] = handler

    async def connect(self, *, token: str | None = None) -> None:
        url = self.base_url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        ws = self._ws = await self.http.ws_connect(url, autoping=False, max_msg_size=0)
        opened = await ws.receive_str(timeout=10)
        if not opened.startswith("0"):
            raise ConnectionError(f"not an Engine.IO open packet: {opened[:80]!r}")
        namespace = self._ns
        await ws.send_str(f"40{namespace}{json.dumps({'token': token or self.token})}")
        while True:
            reply = await ws.receive_str(timeout=10)
            if reply == "2":
                await ws.send_str("3")
            elif reply.startswith(f"44{namespace}"):
                refusal = json.loads(reply[len(namespace) + 2 :])
                detail = refusal.get("data") if isinstance(refusal, dict) else None
                raise ProtocolError(
                    detail
                    if isinstance(detail, dict) and "code" in detail
                    else {"code": "connect_refused", "message": str(refusal)}
                )
            elif reply.startswith(f"40{namespace}"):
                break
            else:
                raise ConnectionError(f"unexpected frame while connecting: {reply[:80]!r}")
        self.connected = True
        self._reader = asyncio.create_task(self._read(ws))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        event_prefix, ack_prefix = self._event_prefix, self._ack_prefix
        try:
            async for message in ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    continue
                frame: str = message.data
                if frame.startswith(event_prefix):
                    self._push(json.loads(frame[len(event_prefix) :]))
                elif frame.startswith(ack_prefix):
                    body = frame[len(ack_prefix) :]
                    bracket = body.index("[")
                    waiting = self._acks.pop(int(body[:bracket]), None)
                    if waiting is not None and not waiting.done():
                        waiting.set_result(json.loads(body[bracket:]))
                elif frame == "2":
                    await ws.send_str("3")
                elif frame == "1" or frame.startswith("41"):
                    break
        finally:
            self.connected = False
            for waiting in self._acks.values():
                if not waiting.done():
                    waiting.set_exception(ConnectionError("the socket closed"))
            self._acks.clear()

    def _push(self, message: list[Any]) -> None:
        event, data = message[0], (message[1] if len(message) > 1 else None)
        handler = self._handlers.get(event)
        if handler is not None:
            handler(data)
        else:
            self.events[event].put_nowait(data)

    async def request(self, event: str, payload: Any = None, *, timeout: float = 10) -> Any:
        """Emit and wait for the ack; return its data or raise ProtocolError."""
        if self._ws is None or not self.connected:
            raise ConnectionError("not connected")
        ack_id = next(self._ack_ids)
        waiting: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = waiting
        body = json.dumps([event] if payload is None else [event, payload])
        try:
            await self._ws.send_str(f"{self._event_prefix}{ack_id}{body}")
            async with asyncio.timeout(timeout):
                args = await waiting
        finally:
            self._acks.pop(ack_id, None)
        return self.ack_data(event, args[0] if len(args) == 1 else args)

    async def close(self) -> None:
        ws = self._ws
        if ws is not None and not ws.closed:
            if self.connected:
                await ws.send_str(f"41{self._ns}")
            await ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._own_http:
            await self.http.close()


class LeanCustomer(CustomerCalls, LeanParticipant):
    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self.chat_id: int = 0
        self.session: dict[str, Any] = {}


class LeanStaff(StaffCalls, LeanParticipant):
    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self.user: dict[str, Any] = {}
