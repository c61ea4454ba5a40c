"""Token-bucket rate limits, keyed by connection, IP or account; in memory, per process."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from signaling.errors import RateLimited

if TYPE_CHECKING:
    from signaling.auth.login_throttle import LoginThrottle


@dataclass
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
        self.check_refill(key)
        bucket = self._buckets[key]
        if bucket.tokens < cost:
            retry_after = (cost - bucket.tokens) / self.rate
            raise RateLimited(
                f"too many {self.what}; retry in {retry_after:.1f} s", retry_after=retry_after
            )
        if spend:
            bucket.tokens -= cost

    def penalize(self, key: str, cost: float) -> None:
        """Take `cost` tokens now, going into debt down to minus one burst: the key waits
        that much longer before its next hit succeeds."""
        self.check_refill(key)
        bucket = self._buckets[key]
        bucket.tokens = max(-float(self.burst), bucket.tokens - cost)

    def check_refill(self, key: str) -> None:
        """Bring the key's bucket up to date (created full if new), spending nothing."""
        now = self.clock()
        bucket = self._buckets.pop(key, None) or _Bucket(tokens=float(self.burst), updated=now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._buckets[key] = bucket
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)

    def forget(self, key: str) -> None:
        self._buckets.pop(key, None)


@dataclass
class RateLimits:
    """The server's limiters, built from LimitsConfig."""

    per_connection: RateLimiter
    per_ip: RateLimiter
    login: LoginThrottle
    guest_sessions_per_ip: RateLimiter
    uploads_per_ip: RateLimiter
    connects_per_ip: RateLimiter
    """New Socket.IO (Engine.IO) connections."""
    connects_per_principal: RateLimiter
    """Namespace connects per token holder: a page reload is one, a reconnect loop is many."""
