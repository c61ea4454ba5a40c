"""Requests to the primary signaling process and notices to every process, over Redis
pub/sub: {"id", "reply_to", "kind", "body"} → {"id", "ok", "result" | "error"}. Every
process listens on the primary's channel and answers only while it is the primary."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from relay.cluster.closing import stop_tasks
from relay.cluster.subscription import messages
from signaling import jsonutil
from signaling.errors import LiveAssistError, Unavailable

log = logging.getLogger(__name__)

TO_PRIMARY = "liveassist:signaling:to-primary"
TO_ALL = "liveassist:signaling:to-all"
REPLY_PREFIX = "liveassist:signaling:reply:"
TIMEOUT_SECONDS = 30.0
"""Longer than any request takes on a healthy primary (a call.join waits for the relay)."""

Operation = Callable[[dict[str, Any]], Awaitable[Any]]


class RemoteError(LiveAssistError):
    """An error the primary answered with, raised again here with its code and status."""

    def __init__(self, wire: dict[str, Any]) -> None:
        super().__init__(str(wire.get("message")), details=wire.get("details"))
        self.code = str(wire.get("code"))
        self.status = _status_of(self.code)


def _status_of(code: str) -> int:
    pending: list[type[LiveAssistError]] = [LiveAssistError]
    while pending:
        cls = pending.pop()
        if cls.code == code:
            return cls.status
        pending += cls.__subclasses__()
    return 500


class SignalingBus:
    """Lifecycle: start() (subscribed) → stop(). `is_primary` says whether to answer."""

    def __init__(self, redis: Redis, process_id: str, is_primary: Callable[[], bool]) -> None:
        self._redis = redis
        self._reply_to = REPLY_PREFIX + process_id
        self._is_primary = is_primary
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._operations: dict[str, Operation] = {}
        self._notices: dict[str, Operation] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Task[None] | None = None

    def operation(self, kind: str, run: Operation) -> None:
        """What the primary does when asked `kind`."""
        self._operations[kind] = run

    def on_notice(self, kind: str, run: Operation) -> None:
        """What every process does on a `kind` notice."""
        self._notices[kind] = run

    async def start(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(TO_PRIMARY, TO_ALL, self._reply_to)
        self._listener = asyncio.create_task(self._listen(pubsub), name="signaling-bus")

    async def stop(self) -> None:
        tasks = [t for t in (self._listener, *self._tasks) if t is not None]
        await stop_tasks(tasks, "the signaling bus")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(Unavailable("this signaling process is stopping"))

    async def ask_primary(self, kind: str, body: dict[str, Any]) -> Any:
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        message = {"id": request_id, "reply_to": self._reply_to, "kind": kind, "body": body}
        try:
            await self._redis.publish(TO_PRIMARY, jsonutil.dumps(message))
            try:
                reply = await asyncio.wait_for(future, TIMEOUT_SECONDS)
            except TimeoutError:
                raise Unavailable("no primary signaling process answered; retry") from None
        finally:
            self._pending.pop(request_id, None)
        if not reply.get("ok"):
            raise RemoteError(dict(reply.get("error") or {}))
        return reply.get("result")

    async def notify_all(self, kind: str, body: dict[str, Any]) -> None:
        await self._redis.publish(TO_ALL, jsonutil.dumps({"kind": kind, "body": body}))

    async def _listen(self, pubsub: Any) -> None:
        async for channel, data in messages(pubsub, jsonutil.loads):
            if channel == self._reply_to:
                future = self._pending.get(int(data.get("id", -1)))
                if future is not None and not future.done():
                    future.set_result(data)
            elif channel == TO_PRIMARY and self._is_primary():
                self._spawn(self._answer(data))
            elif channel == TO_ALL and data.get("kind") in self._notices:
                self._spawn(self._notices[data["kind"]](dict(data.get("body") or {})))

    def _spawn(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("signaling bus work failed", exc_info=task.exception())

    async def _answer(self, request: dict[str, Any]) -> None:
        reply_to = request.get("reply_to")
        if not isinstance(reply_to, str) or not reply_to.startswith(REPLY_PREFIX):
            return
        reply: dict[str, Any] = {"id": request.get("id")}
        run = self._operations.get(str(request.get("kind")))
        try:
            if run is None:
                raise LiveAssistError(f"unknown primary operation {request.get('kind')!r}")
            reply.update(ok=True, result=await run(dict(request.get("body") or {})))
        except LiveAssistError as error:
            reply.update(ok=False, error=error.to_wire())
        except Exception:
            log.exception("primary operation %s failed", request.get("kind"))
            reply.update(ok=False, error={"code": "internal", "message": "internal error"})
        await self._redis.publish(reply_to, jsonutil.dumps(reply))
