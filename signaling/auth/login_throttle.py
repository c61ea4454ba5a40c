"""Sign-in throttling that slows a password guesser without locking the real user out.

Following OWASP's authentication guidance (and its "device cookie" proposal):
- Failures are counted per (account, source): the source is a known device when the attempt
  carries a device token this account was given at an earlier successful sign-in, else the
  client's address. After `free_failures` that source waits before it may try that account
  again, and each further failure doubles the wait (up to `backoff_max`); attempts during
  the wait are refused without checking the password and do not count.
- An account-wide limit on failures from unknown sources (a token bucket per hour) stops many
  addresses guessing one password; it never applies to known devices, so the real user still
  signs in from a browser they used before.
- The per-address limit (all accounts together, against password spraying) also applies to
  unknown sources only.
Accounts are keyed by the email as typed (lower case), whether or not it exists, so throttling
behaves the same for a wrong user as for a wrong password.

Where the state lives is a constructor argument: this process's memory (the embedded
default), or Redis (server.redis_url), where every signaling process sees the same counts:
behind a load balancer a guesser would otherwise get as many tries as there are processes.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from signaling.auth.login_failures import (
    BackoffPolicy,
    LoginFailures,
    MemoryLoginFailures,
    RedisLoginFailures,
)
from signaling.errors import RateLimited
from signaling.ratelimit import Buckets, MemoryBuckets, RateLimiter
from signaling.redis_buckets import RedisBuckets


@dataclass(frozen=True)
class LoginSource:
    """Where an attempt comes from: an address, or a known device of the account tried."""

    ip: str
    device_id: str | None = None

    @property
    def known(self) -> bool:
        return self.device_id is not None

    def key(self, account: str) -> str:
        return f"{account}\x00{'device:' + self.device_id if self.device_id else 'ip:' + self.ip}"


PER_IP = "sign-in attempts from your address"
UNKNOWN = (
    "failed sign-ins to this account from new devices; "
    "sign in from a device you used before, or wait"
)


class LoginThrottle:
    """With `redis`, the state is in Redis and on Redis's clock (`clock` is then unused);
    without, in memory on `clock`, which tests may replace at any time."""

    def __init__(
        self,
        *,
        logins_per_minute_per_ip: int,
        free_failures: int,
        backoff_seconds: float,
        backoff_max_seconds: float,
        unknown_failures_per_hour: int,
        redis: Redis | None = None,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        policy = BackoffPolicy(free_failures, backoff_seconds, backoff_max_seconds)
        per_ip_rate, unknown_rate = logins_per_minute_per_ip / 60, unknown_failures_per_hour / 3600
        self._per_ip: Buckets
        self._unknown: Buckets
        self._failures: LoginFailures
        if redis is not None:
            self._per_ip = RedisBuckets(
                redis, "login_per_ip", rate=per_ip_rate, burst=logins_per_minute_per_ip, what=PER_IP
            )
            self._unknown = RedisBuckets(
                redis,
                "login_unknown",
                rate=unknown_rate,
                burst=unknown_failures_per_hour,
                what=UNKNOWN,
            )
            self._failures = RedisLoginFailures(redis, policy)
            return
        self._per_ip = MemoryBuckets(
            RateLimiter(
                rate=per_ip_rate,
                burst=logins_per_minute_per_ip,
                what=PER_IP,
                clock=lambda: self.clock(),
            )
        )
        self._unknown = MemoryBuckets(
            RateLimiter(
                rate=unknown_rate,
                burst=unknown_failures_per_hour,
                what=UNKNOWN,
                clock=lambda: self.clock(),
            )
        )
        self._failures = MemoryLoginFailures(policy, max_keys=max_keys, clock=lambda: self.clock())

    async def before(self, account: str, source: LoginSource) -> None:
        """Raise RateLimited when this attempt may not even have its password checked."""
        if not source.known:
            await self._per_ip.hit(source.ip)
        wait = await self._failures.wait(source.key(account))
        if wait > 0:
            raise RateLimited(
                f"too many failed sign-ins from here; retry in {wait:.1f} s", retry_after=wait
            )
        if not source.known:
            await self._unknown.check(account)

    async def failed(self, account: str, source: LoginSource) -> None:
        await self._failures.failed(source.key(account))
        if not source.known:
            with contextlib.suppress(RateLimited):  # an empty bucket stays empty
                await self._unknown.hit(account)

    async def succeeded(self, account: str, source: LoginSource) -> None:
        await self._failures.forget(source.key(account))
