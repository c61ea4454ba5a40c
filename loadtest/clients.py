"""Headless LiveAssist participants speaking the documented protocol: a customer (widget
session + /customer socket) and a staff member (REST sign-in + /agent socket).

Used by the tests, the benchmarks and the load generator alike, so what is measured is
exactly what is tested. Every server push is queued per event name for `next(event)`.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import Callable
from typing import Any, Protocol

import aiohttp
import socketio

_ids = itertools.count(1)


class ProtocolError(Exception):
    """An ack that carried an error: `code` is the server's error code."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.code = str(error.get("code"))
        self.error = error


class ClientBase:
    """What a participant has whatever its socket: the REST side, its token, pushes queued
    per event name, and how an ack's envelope is read."""

    namespace = "/"

    def __init__(self, base_url: str, *, http: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._own_http = http is None
        self.http = http or aiohttp.ClientSession()
        self.token: str | None = None
        self.events: defaultdict[str, asyncio.Queue[Any]] = defaultdict(asyncio.Queue)

    @staticmethod
    def ack_data(event: str, ack: Any) -> Any:
        """An ack's data, or ProtocolError for an error ack."""
        if not isinstance(ack, dict) or "ok" not in ack:
            raise AssertionError(f"malformed ack for {event}: {ack!r}")
        if not ack["ok"]:
            raise ProtocolError(ack["error"])
        return ack["data"]

    async def next(self, event: str, *, timeout: float = 10, where: Any = None) -> Any:
        """The next push of `event` (optionally the next one for which `where(data)` holds)."""
        async with asyncio.timeout(timeout):
            while True:
                data = await self.events[event].get()
                if where is None or where(data):
                    return data

    def drain(self, event: str) -> list[Any]:
        queue = self.events[event]
        items = []
        while not queue.empty():
            items.append(queue.get_nowait())
        return items

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def rest(self, method: str, path: str, *, expect: int | None = 200, **kwargs: Any) -> Any:
        async with self.http.request(
            method, self.base_url + path, headers=self.headers(), **kwargs
        ) as resp:
            body = await resp.json(content_type=None)
            if expect is not None and resp.status != expect:
                raise AssertionError(f"{method} {path}: HTTP {resp.status} {body}")
            return body


class Participant(ClientBase):
    """On python-socketio's AsyncClient (what the tests use)."""

    def __init__(self, base_url: str, *, http: aiohttp.ClientSession | None = None) -> None:
        super().__init__(base_url, http=http)
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("*", self._on_any, namespace=self.namespace)

    async def _on_any(self, event: str, data: Any = None) -> None:
        self.events[event].put_nowait(data)

    @property
    def connected(self) -> bool:
        return bool(self.sio.connected)

    def on(self, event: str, handler: Callable[[Any], None]) -> None:
        """Hand every push of `event` to `handler` instead of queueing it."""
        self.sio.on(event, handler, namespace=self.namespace)

    async def connect(
        self, *, token: str | None = None, transports: list[str] | None = None
    ) -> None:
        await self.sio.connect(
            self.base_url,
            namespaces=[self.namespace],
            auth={"token": token or self.token},
            transports=transports or ["websocket"],
            wait_timeout=10,
        )

    async def request(self, event: str, payload: Any = None, *, timeout: float = 10) -> Any:
        """Emit and wait for the ack; return its data or raise ProtocolError."""
        ack = await self.sio.call(event, payload, namespace=self.namespace, timeout=timeout)
        return self.ack_data(event, ack)

    async def raw_ack(self, event: str, *args: Any, timeout: float = 10) -> Any:
        """Emit with exactly these arguments (even malformed ones) and return the raw ack."""
        data: Any = args[0] if len(args) == 1 else (tuple(args) if args else None)
        return await self.sio.call(event, data, namespace=self.namespace, timeout=timeout)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
        if self._own_http:
            await self.http.close()


class Requester(Protocol):
    """What the calls below need of a participant, whichever socket it speaks through."""

    token: str | None

    async def request(self, event: str, payload: Any = None, *, timeout: float = 10) -> Any: ...

    async def rest(
        self, method: str, path: str, *, expect: int | None = 200, **kwargs: Any
    ) -> Any: ...


class CustomerCalls:
    """A customer's calls: a widget session, then messages in its chat."""

    namespace = "/customer"
    chat_id: int
    session: dict[str, Any]

    async def open_chat(self: _CustomerLike, *, org: str = "demo", **fields: Any) -> dict[str, Any]:
        self.session = await self.rest(
            "POST", "/api/widget/session", json={"org": org, **fields}, expect=201
        )
        self.token = self.session["token"]
        self.chat_id = self.session["chat"]["id"]
        return self.session

    async def say(
        self: _CustomerLike, text: str, *, client_msg_id: str | None = None
    ) -> dict[str, Any]:
        ack = await self.request(
            "message.send",
            {
                "chat_id": self.chat_id,
                "client_msg_id": client_msg_id or f"c{next(_ids)}",
                "text": text,
            },
        )
        return dict(ack["message"])


class StaffCalls:
    """A staff member's calls: sign-in, presence, messages in a chat."""

    namespace = "/agent"
    user: dict[str, Any]

    async def sign_in(self: _StaffLike, email: str, password: str) -> dict[str, Any]:
        body = await self.rest(
            "POST", "/api/auth/login", json={"email": email, "password": password}
        )
        self.token = body["token"]
        self.user = body["user"]
        return dict(body)

    async def go_online(self: _StaffLike) -> dict[str, Any]:
        return dict(await self.request("presence.set", {"status": "online"}))

    async def say(
        self: _StaffLike, chat_id: int, text: str, *, client_msg_id: str | None = None
    ) -> dict[str, Any]:
        ack = await self.request(
            "message.send",
            {
                "chat_id": chat_id,
                "client_msg_id": client_msg_id or f"a{next(_ids)}",
                "text": text,
            },
        )
        return dict(ack["message"])


class _CustomerLike(Requester, Protocol):
    chat_id: int
    session: dict[str, Any]


class _StaffLike(Requester, Protocol):
    user: dict[str, Any]


class Customer(CustomerCalls, Participant):
    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self.chat_id: int = 0
        self.session: dict[str, Any] = {}


class Staff(StaffCalls, Participant):
    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self.user: dict[str, Any] = {}
