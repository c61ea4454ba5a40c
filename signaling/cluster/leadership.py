"""Which signaling process is primary: a Redis key held with a short TTL and renewed, taken
by whoever sets it first once it expires. One holder at a time, by Redis's SET NX; a
primary that cannot renew in time steps down (and its process exits, so nothing it still
holds in memory acts beside the new primary)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from relay.cluster.closing import cancel_requested, stop_tasks

log = logging.getLogger(__name__)

KEY = "liveassist:signaling:primary"
RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""


class Leadership:
    """Lifecycle: start() (one attempt at once) → a loop every ttl/3 → stop() (lets go)."""

    def __init__(
        self,
        redis: Redis,
        process_id: str,
        *,
        ttl_seconds: float = 3.0,
        on_gained: Callable[[], Awaitable[None]],
        on_lost: Callable[[], None],
    ) -> None:
        self._redis = redis
        self.process_id = process_id
        self._ttl_ms = round(ttl_seconds * 1000)
        self._on_gained = on_gained
        self._on_lost = on_lost
        self.is_primary = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Try once now (and, if that makes this process primary, finish taking over before
        returning); renewals run on their own task from the start, however long that takes."""
        gained = await self._attempt()
        self._task = asyncio.create_task(self._run(), name="signaling-leadership")
        if gained:
            await self._on_gained()

    async def stop(self) -> None:
        if self._task is not None:
            await stop_tasks([self._task], "the primary election")
        if self.is_primary:
            self.is_primary = False
            try:  # hand over at once instead of after the TTL
                await self._redis.eval(
                    "if redis.call('get', KEYS[1]) == ARGV[1] then "
                    "return redis.call('del', KEYS[1]) end return 0",
                    1,
                    KEY,
                    self.process_id,
                )
            except Exception as error:
                log.warning("could not release the primary role: %r", error)

    async def holder(self) -> str | None:
        value = await self._redis.get(KEY)
        return value.decode() if isinstance(value, bytes) else value

    async def _run(self) -> None:
        taking_over: asyncio.Task[None] | None = None
        try:
            while True:
                await asyncio.sleep(self._ttl_ms / 3000)
                try:
                    gained = await self._attempt()
                except Exception as error:
                    if cancel_requested():
                        raise asyncio.CancelledError from error
                    log.warning("primary election: Redis: %r", error)
                    if self.is_primary:
                        self._step_down()
                    continue
                if gained:  # taking over runs beside the renewals, never delaying them
                    taking_over = asyncio.ensure_future(self._on_gained())
        finally:
            if taking_over is not None and not taking_over.done():
                taking_over.cancel()

    async def _attempt(self) -> bool:
        """Renew, or try to take the role; True if this attempt made this process primary."""
        if self.is_primary:
            if not await self._redis.eval(RENEW, 1, KEY, self.process_id, self._ttl_ms):
                self._step_down()
            return False
        if await self._redis.set(KEY, self.process_id, nx=True, px=self._ttl_ms):
            self.is_primary = True
            log.warning("this signaling process is now the primary (%s)", self.process_id)
            return True
        return False

    def _step_down(self) -> None:
        self.is_primary = False
        log.critical("this signaling process lost the primary role; stopping it")
        self._on_lost()
