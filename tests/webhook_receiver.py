"""A real HTTP receiver for webhook tests, on 127.0.0.1: it verifies every request with the
documented recipe (signaling.webhooks.signing.verify), keeps what it got, and can answer
500 for a while or stop listening and come back on the same port."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from signaling.webhooks import signing
from tests.conftest import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    event: dict[str, Any]
    verified: str | None  # None: the signature checked out; else why not
    answered: int


@dataclass
class Receiver:
    secret: str = ""
    port: int = field(default_factory=free_port)
    status: int = 200
    """What it answers (500: "down" while still listening)."""
    delay: float = 0.0
    """Seconds it takes to answer (a receiver that hangs)."""
    got: list[Received] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)  # a hanging answer waits no longer
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            signing.verify(self.secret, request.headers, body)
            verified = None
        except signing.BadSignature as error:
            verified = str(error)
        if self.delay:
            await asyncio.sleep(self.delay)
        self.got.append(
            Received(dict(request.headers), body, json.loads(body), verified, self.status)
        )
        return web.Response(status=self.status, text="ok" if self.status < 300 else "down")

    # ---- what arrived -------------------------------------------------------------------------
    def accepted(self) -> list[dict[str, Any]]:
        """Events it answered 2xx, in arrival order."""
        return [r.event for r in self.got if 200 <= r.answered < 300]

    def types_for_chat(self, chat_id: int) -> list[str]:
        return [e["type"] for e in self.accepted() if chat_of(e) == chat_id]

    async def wait_for(self, check: Any, *, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                seen = [(r.event["type"], r.answered) for r in self.got]
                raise AssertionError(f"not received in {timeout} s; got {seen}")
            await asyncio.sleep(0.05)


def chat_of(event: dict[str, Any]) -> int | None:
    data = event["data"]
    if "chat" in data:
        return int(data["chat"]["id"])
    if "call" in data:
        return int(data["call"]["chat_id"])
    return data.get("chat_id")
