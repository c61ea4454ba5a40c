"""A Socket.IO client that writes frames by hand (docs/protocol.md §1, "Raw frames"), so tests
can send what no well-behaved client library would: reserved event names, NaN, lone
surrogates, broken JSON, binary frames."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp


class RawSocket:
    """One Engine.IO WebSocket connected to one namespace; answers pings by itself."""

    def __init__(self, base_url: str, namespace: str) -> None:
        self.url = base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.namespace = namespace
        self.http = aiohttp.ClientSession()
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.frames: asyncio.Queue[str | None] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

    async def connect(self, token: str) -> dict[str, Any]:
        self.ws = await self.http.ws_connect(self.url)
        opened = await self.ws.receive_str(timeout=5)
        assert opened.startswith("0"), opened
        self._reader = asyncio.create_task(self._read())
        await self.send(f"40{self.namespace},{json.dumps({'token': token})}")
        reply = await self.next_frame()
        assert reply.startswith(f"40{self.namespace},"), reply
        return dict(json.loads(reply.split(",", 1)[1]))

    async def _read(self) -> None:
        assert self.ws is not None
        async for message in self.ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            if message.data == "2":
                await self.ws.send_str("3")
                continue
            self.frames.put_nowait(message.data)
        self.closed.set()
        self.frames.put_nowait(None)

    async def send(self, frame: str | bytes) -> None:
        assert self.ws is not None
        if isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        else:
            await self.ws.send_str(frame)

    async def next_frame(self, timeout: float = 5.0) -> str:
        frame = await asyncio.wait_for(self.frames.get(), timeout)
        if frame is None:
            raise ConnectionError("the server closed the connection")
        return frame

    async def ack(self, ack_id: int, timeout: float = 5.0) -> dict[str, Any]:
        """The ack with this id (pushes received meanwhile are skipped)."""
        prefix = f"43{self.namespace},{ack_id}["
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.next_frame(timeout)
                if frame.startswith(prefix):
                    return dict(json.loads(frame[len(prefix) - 1 :])[0])

    async def pushes(self, event: str, within: float) -> list[Any]:
        """Every push of `event` that arrives within `within` seconds."""
        found: list[Any] = []
        prefix = f"42{self.namespace},"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while (left := deadline - loop.time()) > 0:
            try:
                frame = await self.next_frame(left)
            except (TimeoutError, ConnectionError):
                break
            if frame.startswith(prefix):
                name, *args = json.loads(frame[len(prefix) :])
                if name == event:
                    found.append(args[0] if args else None)
        return found

    def event(self, ack_id: int, body: str) -> str:
        """An event frame with an ack id; `body` is the JSON array text, written by hand."""
        return f"42{self.namespace},{ack_id}{body}"

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.http.close()
