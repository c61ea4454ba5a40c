"""The host addresses aioice gathers candidates on, looked up once per few seconds per worker.

aioice lists every interface (ifaddr, then an ipaddress object per address) for every peer
connection it gathers: ~0.4 ms of a relay join. A worker's addresses change rarely; a
change reaches new joins within `ttl` seconds (connections already up keep theirs).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from relay.rtc import aiortc_compat

Lookup = Callable[[bool, bool], list[str]]


class CachedHostAddresses:
    """Callable as aioice's get_host_addresses(use_ipv4, use_ipv6); answers from the last
    lookup with the same arguments while it is younger than `ttl` seconds."""

    def __init__(
        self,
        ttl: float = 10.0,
        lookup: Lookup = aiortc_compat.host_addresses,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self._lookup = lookup
        self._clock = clock
        self._cache: dict[tuple[bool, bool], tuple[float, list[str]]] = {}

    def __call__(self, use_ipv4: bool, use_ipv6: bool) -> list[str]:
        key = (use_ipv4, use_ipv6)
        now = self._clock()
        hit = self._cache.get(key)
        if hit is None or now - hit[0] >= self.ttl:
            hit = self._cache[key] = (now, list(self._lookup(use_ipv4, use_ipv6)))
        return list(hit[1])


def install(ttl: float = 10.0) -> None:
    """Relay worker processes only (relay/rtc/worker_process.py): every gathering in this
    process, a client's too, reads the cache."""
    aiortc_compat.install_host_addresses(CachedHostAddresses(ttl))
