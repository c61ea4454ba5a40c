"""Token-bucket rate limits, keyed by connection, IP or account.

Two kinds. `RateLimiter` is in memory and synchronous: for limits whose key lives in one
process (a connection, a call's participant), where the hot path must not wait on anything.
`Buckets` is the async interface of limits that must hold across every signaling process
(keyed by address or account: with N processes behind a load balancer a per-process limit
would be N times looser); `MemoryBuckets` is its embedded default and
signaling/redis_buckets.py its Redis form (server.redis_url)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from relay.cluster.closing import Closable, close_within
from signaling.errors import RateLimited

if TYPE_CHECKING:
    from signaling.auth.login_throttle import LoginThrottle


def limited(what: str, retry_after: float) -> RateLimited:
    """The refusal every bucket raises, in memory or in Redis alike."""
    return RateLimited(f"too many {what}; retry in {retry_after:.1f} s", retry_after=retry_after)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`rate` tokens per second refill a bucket holding at most `burst`; each hit costs one.

    Keys are kept in LRU order and capped, so a flood of distinct keys cannot grow memory."""

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        what: str,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.what = what
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def check(self, key: str) -> None:
        """Raise RateLimited if a hit now would be refused, without spending a token."""
        self.hit(key, cost=1.0, spend=False)

    def hit(self, key: str, cost: float = 1.0, *, spend: bool = True) -> None:
        bucket = self._refilled(key)
        if bucket.tokens < cost:
            raise limited(self.what, (cost - bucket.tokens) / self.rate)
        if spend:
            bucket.tokens -= cost

    def penalize(self, key: str, cost: float) -> None:
        """Take `cost` tokens now, going into debt down to minus one burst: the key waits
        that much longer before its next hit succeeds."""
        bucket = self._refilled(key)
        bucket.tokens = max(-float(self.burst), bucket.tokens - cost)

    def check_refill(self, key: str) -> None:
        """Bring the key's bucket up to date (created full if new), spending nothing."""
        self._refilled(key)

    def _refilled(self, key: str) -> _Bucket:
        now = self.clock()
        buckets = self._buckets
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = _Bucket(tokens=float(self.burst), updated=now)
            if len(buckets) > self.max_keys:
                buckets.popitem(last=False)
            return bucket
        buckets.move_to_end(key)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        return bucket

    def forget(self, key: str) -> None:
        self._buckets.pop(key, None)


class Buckets(Protocol):
    """Token buckets by key that every signaling process shares (async: they may be in
    Redis). The same semantics as RateLimiter: `rate` tokens per second refill a bucket of
    at most `burst`, a new key starts full, a refusal raises RateLimited with the seconds
    until the hit would succeed."""

    @property
    def rate(self) -> float: ...

    @property
    def burst(self) -> int: ...

    async def hit(self, key: str, cost: float = 1.0) -> None:
        """Spend `cost` tokens, or raise RateLimited (spending nothing)."""

    async def check(self, key: str) -> None:
        """Raise RateLimited if a hit now would be refused, without spending a token."""

    async def penalize(self, key: str, cost: float) -> None:
        """Take `cost` tokens now, into debt down to minus one burst."""

    async def forget(self, key: str) -> None:
        """Start the key over with a full bucket."""


class MemoryBuckets:
    """Buckets in this process's memory (the embedded default: one process sees every
    client), a RateLimiter behind the async interface."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    @property
    def rate(self) -> float:
        return self.limiter.rate

    @property
    def burst(self) -> int:
        return self.limiter.burst

    async def hit(self, key: str, cost: float = 1.0) -> None:
        self.limiter.hit(key, cost)

    async def check(self, key: str) -> None:
        self.limiter.check(key)

    async def penalize(self, key: str, cost: float) -> None:
        self.limiter.penalize(key, cost)

    async def forget(self, key: str) -> None:
        self.limiter.forget(key)


@dataclass
class RateLimits:
    """The server's limiters, built from LimitsConfig (signaling/runtime.py: build_limits).

    Local to the process: those keyed by something that lives in one process (a connection)
    and the per-address frame limit, which guards this process's event loop and would cost
    a Redis round trip per frame. Shared (`Buckets`, and the sign-in throttle): those keyed
    by address or account, which a client could otherwise multiply by the process count."""

    per_connection: RateLimiter
    per_ip: RateLimiter
    """Socket.IO frames per address, this process's connections together."""
    login: LoginThrottle
    guest_sessions_per_ip: Buckets
    uploads_per_ip: Buckets
    connects_per_ip: Buckets
    """New Socket.IO (Engine.IO) connections."""
    connects_per_principal: Buckets
    """Namespace connects per token holder: a page reload is one, a reconnect loop is many."""
    store: Closable | None = None
    """Where the shared limits live when not in memory (a Redis client): closed at stop."""

    async def close(self) -> None:
        if self.store is not None:
            await close_within(self.store, "the rate limits' Redis client")
            self.store = None
