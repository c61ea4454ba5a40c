"""Length-prefixed JSON frames between the relay pool and one worker process.

Each side reads with asyncio streams (`readexactly`), so a message arrives whole however the
kernel splits it. What this replaces: multiprocessing's Connection.recv_bytes() called from
an add_reader callback. uvloop puts a watched descriptor into non-blocking mode, so a
message larger than one read (a 45-60 kB SDP offer) came back half-read as an OSError, and
the worker took that for "the pool is gone" and exited (issue 8).

Frame: 4-byte big-endian length, then that many bytes of UTF-8 JSON (one object).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import struct
from multiprocessing.connection import Connection
from typing import Any

_LENGTH = struct.Struct("!I")
MAX_FRAME_BYTES = 16 * 1024 * 1024
"""Far above any message (an SDP answer is ~10 kB): a larger length means a broken stream."""


class ChannelClosed(ConnectionError):
    """The other side is gone, or the stream broke; nothing more can be sent or read."""


def socket_of(conn: Connection, *, blocking: bool = False) -> socket.socket:
    """Take over the socket under a multiprocessing Pipe end (how it crossed the spawn)."""
    sock = socket.socket(fileno=os.dup(conn.fileno()))
    conn.close()
    sock.setblocking(blocking)
    return sock


def send_blocking(sock: socket.socket, message: dict[str, Any]) -> None:
    """One frame from a process without an event loop (a media job's child)."""
    body = json.dumps(message, separators=(",", ":")).encode()
    sock.sendall(_LENGTH.pack(len(body)) + body)


class FrameChannel:
    """Lifecycle: open() → send()/receive() → close() (idempotent). Not thread-safe."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._closed = False

    @classmethod
    async def open(cls, sock: socket.socket) -> FrameChannel:
        reader, writer = await asyncio.open_unix_connection(sock=sock, limit=MAX_FRAME_BYTES)
        return cls(reader, writer)

    @property
    def closed(self) -> bool:
        return self._closed or self._writer.is_closing()

    def send(self, message: dict[str, Any]) -> None:
        """Queue one message; the loop writes it out in order without blocking anyone."""
        if self.closed:
            raise ChannelClosed("the channel is closed")
        body = json.dumps(message, separators=(",", ":")).encode()
        if len(body) > MAX_FRAME_BYTES:
            raise ValueError(f"a message of {len(body)} bytes is over {MAX_FRAME_BYTES}")
        self._writer.write(_LENGTH.pack(len(body)) + body)

    async def drain(self) -> None:
        """Wait until the queued messages are handed to the kernel (backpressure)."""
        try:
            await self._writer.drain()
        except (ConnectionError, OSError) as error:
            raise ChannelClosed(str(error)) from error

    async def receive(self) -> dict[str, Any]:
        """The next whole message; ChannelClosed at the end of the stream or on a bad frame."""
        try:
            header = await self._reader.readexactly(_LENGTH.size)
            (length,) = _LENGTH.unpack(header)
            if length > MAX_FRAME_BYTES:
                raise ChannelClosed(f"a frame of {length} bytes: the stream is broken")
            body = await self._reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as error:
            raise ChannelClosed(str(error) or "end of stream") from None
        message = json.loads(body)
        if not isinstance(message, dict):
            raise ValueError("a message must be a JSON object")
        return message

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._writer.close()
