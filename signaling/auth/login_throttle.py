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
behaves the same for a wrong user as for a wrong password. State is per process, in memory.
"""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from signaling.errors import RateLimited
from signaling.ratelimit import RateLimiter


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


@dataclass
class _Backoff:
    failures: int
    last_failure: float
    locked_until: float = 0.0


class LoginThrottle:
    def __init__(
        self,
        *,
        logins_per_minute_per_ip: int,
        free_failures: int,
        backoff_seconds: float,
        backoff_max_seconds: float,
        unknown_failures_per_hour: int,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.free_failures = free_failures
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.max_keys = max_keys
        self._per_ip = RateLimiter(
            rate=logins_per_minute_per_ip / 60,
            burst=logins_per_minute_per_ip,
            what="sign-in attempts from your address",
            clock=lambda: self.clock(),
        )
        self._unknown = RateLimiter(
            rate=unknown_failures_per_hour / 3600,
            burst=unknown_failures_per_hour,
            what="failed sign-ins to this account from new devices; "
            "sign in from a device you used before, or wait",
            clock=lambda: self.clock(),
        )
        self._sources: OrderedDict[str, _Backoff] = OrderedDict()

    def before(self, account: str, source: LoginSource) -> None:
        """Raise RateLimited when this attempt may not even have its password checked."""
        if not source.known:
            self._per_ip.hit(source.ip)
        backoff = self._current(source.key(account))
        if backoff is not None and backoff.locked_until > self.clock():
            wait = backoff.locked_until - self.clock()
            raise RateLimited(
                f"too many failed sign-ins from here; retry in {wait:.1f} s", retry_after=wait
            )
        if not source.known:
            self._unknown.check(account)

    def failed(self, account: str, source: LoginSource) -> None:
        key = source.key(account)
        backoff = self._current(key) or _Backoff(failures=0, last_failure=self.clock())
        backoff.failures += 1
        backoff.last_failure = self.clock()
        beyond = backoff.failures - self.free_failures  # 0 at the last free one
        if beyond >= 0:
            wait = min(self.backoff_max_seconds, self.backoff_seconds * 2 ** min(beyond, 30))
            backoff.locked_until = self.clock() + wait
        self._sources[key] = backoff
        self._sources.move_to_end(key)
        if len(self._sources) > self.max_keys:
            self._sources.popitem(last=False)
        if not source.known:
            with contextlib.suppress(RateLimited):  # an empty bucket stays empty
                self._unknown.hit(account)

    def succeeded(self, account: str, source: LoginSource) -> None:
        self._sources.pop(source.key(account), None)

    def _current(self, key: str) -> _Backoff | None:
        """The source's backoff, forgotten once it has been quiet for the longest wait."""
        backoff = self._sources.get(key)
        quiet_since = max(backoff.last_failure, backoff.locked_until) if backoff else 0.0
        if backoff is not None and self.clock() > quiet_since + self.backoff_max_seconds:
            del self._sources[key]
            return None
        return backoff
