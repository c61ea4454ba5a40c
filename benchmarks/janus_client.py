"""A minimal Janus HTTP API client: one session, long-polled for events, VideoRoom requests.

Janus answers an asynchronous plugin request with "ack" and delivers the result later as an
event carrying the same transaction; "webrtcup" says a handle's peer connection is up
(a VideoRoom subscriber may only join a feed after its publisher's webrtcup).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)


class JanusError(RuntimeError):
    """Janus (or the VideoRoom plugin) refused a request."""


class JanusSession:
    """Lifecycle: open() → requests → close() (idempotent)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._http: aiohttp.ClientSession | None = None
        self._session_id = 0
        self._ids = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._webrtcup: dict[int, asyncio.Event] = {}
        self._poller: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=70))
        reply = await self._post(self._url, {"janus": "create"})
        self._session_id = int(reply["data"]["id"])
        self._poller = asyncio.create_task(self._poll())

    async def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self._http is not None
        body = {**body, "transaction": body.get("transaction") or f"t{next(self._ids)}"}
        async with self._http.post(url, json=body) as reply:
            answer: dict[str, Any] = await reply.json(content_type=None)
        if answer.get("janus") == "error":
            raise JanusError(str(answer.get("error")))
        return answer

    async def _poll(self) -> None:
        assert self._http is not None
        url = f"{self._url}/{self._session_id}?maxev=50"
        while True:
            try:
                async with self._http.get(url) as reply:
                    events = await reply.json(content_type=None)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("janus long poll failed")
                await asyncio.sleep(0.2)
                continue
            for event in events if isinstance(events, list) else [events]:
                self._dispatch(event)

    def _dispatch(self, event: dict[str, Any]) -> None:
        kind = event.get("janus")
        if kind == "webrtcup":
            self._webrtcup.setdefault(int(event["sender"]), asyncio.Event()).set()
        elif kind == "event":
            future = self._waiting.pop(str(event.get("transaction")), None)
            if future is not None and not future.done():
                future.set_result(event)

    async def attach(self) -> int:
        reply = await self._post(
            f"{self._url}/{self._session_id}",
            {"janus": "attach", "plugin": "janus.plugin.videoroom"},
        )
        return int(reply["data"]["id"])

    async def message(
        self, handle: int, body: dict[str, Any], jsep: dict[str, str] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """A plugin request; returns (plugin data, jsep) whether answered at once or by event."""
        transaction = f"t{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[transaction] = future
        request: dict[str, Any] = {"janus": "message", "body": body, "transaction": transaction}
        if jsep is not None:
            request["jsep"] = jsep
        try:
            reply = await self._post(f"{self._url}/{self._session_id}/{handle}", request)
            if reply.get("janus") == "ack":
                reply = await asyncio.wait_for(future, 30)
        finally:
            self._waiting.pop(transaction, None)
        data: dict[str, Any] = reply.get("plugindata", {}).get("data", {})
        if "error" in data:
            raise JanusError(f"{data.get('error_code')}: {data['error']}")
        return data, reply.get("jsep")

    async def webrtcup(self, handle: int, timeout: float = 15.0) -> None:
        event = self._webrtcup.setdefault(handle, asyncio.Event())
        await asyncio.wait_for(event.wait(), timeout)

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._http is not None:
            with contextlib.suppress(aiohttp.ClientError, JanusError):
                await self._post(f"{self._url}/{self._session_id}", {"janus": "destroy"})
            await self._http.close()
            self._http = None
