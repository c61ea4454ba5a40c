"""Failed sign-ins per (account, source) and the wait they earn: the sign-in throttle's
backoff state, in this process's memory (embedded default) or in Redis (server.redis_url),
where a guesser spreading tries over several signaling processes meets one count.

In Redis each source is one hash (`failures`, `locked_until`) updated by one Lua script on
Redis's own clock (`TIME`), like signaling/redis_buckets.py and for the same reason: waits
set by one process and read by another must not depend on their clocks agreeing. The key
expires once it has been quiet for the longest wait, which is when the memory form forgets
a source too."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

PREFIX = "liveassist:login:failures:"


@dataclass(frozen=True)
class BackoffPolicy:
    free_failures: int
    """Failures a source may have before it must wait."""
    backoff_seconds: float
    """The first wait, doubled at each further failure…"""
    backoff_max_seconds: float
    """…up to this; a source quiet this long after its wait is forgotten."""

    def wait_after(self, failures: int) -> float:
        """The wait after `failures` failures in a row (0: none yet)."""
        beyond = failures - self.free_failures  # 0 at the last free one
        if beyond < 0:
            return 0.0
        return min(self.backoff_max_seconds, self.backoff_seconds * 2.0 ** min(beyond, 30))


class LoginFailures(Protocol):
    """Failures by source key (see LoginSource.key)."""

    async def wait(self, key: str) -> float:
        """Seconds before this source may try again (0: now)."""

    async def failed(self, key: str) -> None:
        """Count a failure, starting or lengthening the source's wait."""

    async def forget(self, key: str) -> None:
        """The source signed in: its failures no longer count."""


@dataclass
class _Backoff:
    failures: int
    last_failure: float
    locked_until: float = 0.0


class MemoryLoginFailures:
    """In memory, LRU-capped so a flood of distinct sources cannot grow it."""

    def __init__(
        self,
        policy: BackoffPolicy,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.max_keys = max_keys
        self.clock = clock
        self._sources: OrderedDict[str, _Backoff] = OrderedDict()

    async def wait(self, key: str) -> float:
        backoff = self._current(key)
        return max(0.0, backoff.locked_until - self.clock()) if backoff else 0.0

    async def failed(self, key: str) -> None:
        now = self.clock()
        backoff = self._current(key) or _Backoff(failures=0, last_failure=now)
        backoff.failures += 1
        backoff.last_failure = now
        wait = self.policy.wait_after(backoff.failures)
        if wait > 0:
            backoff.locked_until = now + wait
        self._sources[key] = backoff
        self._sources.move_to_end(key)
        if len(self._sources) > self.max_keys:
            self._sources.popitem(last=False)

    async def forget(self, key: str) -> None:
        self._sources.pop(key, None)

    def _current(self, key: str) -> _Backoff | None:
        """The source's backoff, forgotten once it has been quiet for the longest wait."""
        backoff = self._sources.get(key)
        quiet_since = max(backoff.last_failure, backoff.locked_until) if backoff else 0.0
        if backoff is not None and self.clock() > quiet_since + self.policy.backoff_max_seconds:
            del self._sources[key]
            return None
        return backoff


# Both answer seconds as strings: a Lua number would come back truncated to an integer.
_NOW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
"""
WAIT = (
    _NOW
    + """
local locked = tonumber(redis.call('HGET', KEYS[1], 'locked_until')) or 0
return string.format('%.17g', math.max(0, locked - now))
"""
)
# ARGV: free failures, first wait, longest wait (seconds): BackoffPolicy.wait_after in Lua.
FAILED = (
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    + _NOW
    + """
local free, first, longest = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local locked = tonumber(redis.call('HGET', KEYS[1], 'locked_until')) or 0
local beyond = failures - free
if beyond >= 0 then
  locked = now + math.min(longest, first * 2 ^ math.min(beyond, 30))
  redis.call('HSET', KEYS[1], 'locked_until', string.format('%.17g', locked))
end
redis.call('PEXPIRE', KEYS[1], math.ceil((math.max(now, locked) - now + longest) * 1000))
return string.format('%.17g', math.max(0, locked - now))
"""
)


class RedisLoginFailures:
    """In Redis, shared by every signaling process; idle sources expire."""

    def __init__(self, redis: Redis, policy: BackoffPolicy) -> None:
        self.policy = policy
        self._redis = redis
        self._wait = redis.register_script(WAIT)
        self._failed = redis.register_script(FAILED)

    async def wait(self, key: str) -> float:
        return float(await self._wait(keys=[PREFIX + key]))

    async def failed(self, key: str) -> None:
        policy = self.policy
        await self._failed(
            keys=[PREFIX + key],
            args=[policy.free_failures, policy.backoff_seconds, policy.backoff_max_seconds],
        )

    async def forget(self, key: str) -> None:
        await self._redis.delete(PREFIX + key)
