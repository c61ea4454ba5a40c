"""Where live calls are kept beyond the process that runs them: the in-process store of the
embedded default (a restart ends calls anyway, since the relay dies with the process), and
Redis, where a new primary finds the calls of the one that died and takes them over while
their relay rooms, on other nodes, keep the media flowing."""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from relay.cluster.closing import close_within
from signaling import jsonutil

log = logging.getLogger(__name__)

LIVE_CALLS_KEY = "liveassist:calls:live"
"""A hash: call id → the call's snapshot (signaling/calls/snapshot.py) as JSON."""


class SharedCalls(Protocol):
    """Snapshots of running calls, written by the primary after every published change."""

    async def save(self, call_id: int, snapshot: dict[str, Any]) -> None: ...

    async def forget(self, call_id: int) -> None: ...

    async def snapshots(self) -> dict[int, dict[str, Any]]: ...

    async def close(self) -> None: ...


class CallsInProcess:
    def __init__(self) -> None:
        self._calls: dict[int, dict[str, Any]] = {}

    async def save(self, call_id: int, snapshot: dict[str, Any]) -> None:
        self._calls[call_id] = snapshot

    async def forget(self, call_id: int) -> None:
        self._calls.pop(call_id, None)

    async def snapshots(self) -> dict[int, dict[str, Any]]:
        return dict(self._calls)

    async def close(self) -> None:
        self._calls.clear()


class CallsInRedis:
    """A write that fails is logged, not raised: the call goes on; only a take-over in that
    moment would find the call one change behind (or missing, and end it as today)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def save(self, call_id: int, snapshot: dict[str, Any]) -> None:
        try:
            await self._redis.hset(LIVE_CALLS_KEY, str(call_id), jsonutil.dumps(snapshot))
        except RedisError as error:
            log.warning("call %s: keeping its state in Redis failed: %s", call_id, error)

    async def forget(self, call_id: int) -> None:
        try:
            await self._redis.hdel(LIVE_CALLS_KEY, str(call_id))
        except RedisError as error:
            log.warning("call %s: forgetting its state in Redis failed: %s", call_id, error)

    async def snapshots(self) -> dict[int, dict[str, Any]]:
        stored: dict[bytes | str, bytes | str] = await self._redis.hgetall(LIVE_CALLS_KEY)
        found: dict[int, dict[str, Any]] = {}
        for key, value in stored.items():
            try:
                found[int(key)] = json.loads(value)
            except ValueError:
                log.warning("a live call's state in Redis is unreadable: %r", key)
        return found

    async def close(self) -> None:
        await close_within(self._redis, "the live calls' Redis client")
