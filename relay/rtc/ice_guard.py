"""Drop datagrams nobody asked for at the socket callback, before aioice or aiortc touch them.

aioice's StunProtocol.datagram_received() parses every datagram as STUN (a ValueError
built and caught for anything else) and passes the rest, from any source, to
Connection.data_received(), which appends it to an unbounded asyncio.Queue read by
aiortc's RTCDtlsTransport._recv_next(): DTLS-looking bytes go into OpenSSL, SRTP(C) is
unprotected, one task step each. A flood from anywhere pays for all of that.

IceGuard shadows datagram_received on each of the connection's StunProtocol instances
(asyncio and uvloop look the method up per datagram) and, by RFC 7983's first byte:
- non-STUN (first byte > 3) from the nominated pair's remote address goes straight to
  Connection.data_received() (the RtpTap fast path), skipping the STUN parse; so does
  non-STUN from another address of the peer: a candidate it announced in its SDP or ICE
  learned from an authenticated check, or the remote end of a pair that passed a check
  (with IPv4 and IPv6 the two sides may nominate different pairs, and DTLS may come
  before our side nominates); anything else is dropped, before any allocation or log;
- STUN from the nominated address passes (consent freshness, responses); from other
  sources it spends a per-source token (peer-reflexive discovery and ICE checks stay
  possible, a STUN flood does not reach aioice's parser and its error responses);
- an empty datagram is dropped from anyone: _recv_next() reads data[0] and an IndexError
  there ends the DTLS transport's receive loop (silently: no more RTCP for that peer);
- an exception from aioice's STUN parsing (struct.error from a short attribute) is
  counted instead of reaching the event loop's handler, which would log a traceback each;
- what still gets queued for aiortc is capped (Connection._queue.put_nowait shadowed).
Every drop is counted by reason in a DropCounters the worker reports, never logged.
The aioice internals used here are named in relay/rtc/aiortc_compat.py.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from aioice.ice import CandidatePair

from relay.rtc import aiortc_compat

QUEUE_LIMIT = 256
"""Datagrams waiting for aiortc's _recv_next (RTCP, DTLS); media RTP never waits there."""
PROVEN_TTL = 0.1
"""How long a socket's set of ICE-proven remote addresses is reused before a new look."""
_SUCCEEDED = CandidatePair.State.SUCCEEDED


class DropCounters:
    """Datagrams dropped, by reason; one per worker, shared by every guard and tap."""

    __slots__ = (
        "bad_rtcp",
        "bad_stun",
        "empty",
        "foreign",
        "queue_full",
        "srtp_auth",
        "stun_over_budget",
    )

    def __init__(self) -> None:
        self.empty = 0
        """Empty datagrams: aiortc's receive loop reads data[0] and would end on them."""
        self.foreign = 0
        """Non-STUN from an address that is not the nominated pair's remote."""
        self.stun_over_budget = 0
        """STUN from a source past its token budget."""
        self.queue_full = 0
        """Accepted datagrams aiortc's receive queue had no room for."""
        self.srtp_auth = 0
        """SRTP packets that failed authentication (or replay) in the fast path."""
        self.bad_stun = 0
        """STUN aioice's parser raised on with something other than ValueError."""
        self.bad_rtcp = 0
        """Authenticated RTCP aiortc's own handler raised on (a malformed REMB, ...)."""

    def as_dict(self) -> dict[str, int]:
        return {name: int(getattr(self, name)) for name in self.__slots__}


class SourceBudget:
    """A token bucket per source address, for a bounded number of sources.

    Sources past `max_sources` share one overflow bucket, so spraying from many (spoofed)
    addresses buys no more than one source's budget and tracking memory stays bounded.
    """

    def __init__(
        self,
        *,
        rate: float = 50.0,
        burst: float = 50.0,
        max_sources: int = 64,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = rate
        self._burst = burst
        self._max_sources = max_sources
        self._clock = clock
        self._buckets: dict[tuple[str, int], list[float]] = {}
        self._overflow = [burst, clock()]

    def allow(self, host: str, port: int) -> bool:
        """Spend one token of this source; False if it has none left."""
        now = self._clock()
        bucket = self._buckets.get((host, port))
        if bucket is None:
            if len(self._buckets) >= self._max_sources:
                self._forget_idle(now)
            if len(self._buckets) >= self._max_sources:
                bucket = self._overflow
            else:
                bucket = self._buckets[(host, port)] = [self._burst, now]
        tokens = min(self._burst, bucket[0] + (now - bucket[1]) * self._rate)
        bucket[1] = now
        if tokens < 1.0:
            bucket[0] = tokens
            return False
        bucket[0] = tokens - 1.0
        return True

    def _forget_idle(self, now: float) -> None:
        """Sources whose bucket has refilled carry no state worth keeping."""
        full_after = self._burst / self._rate
        for source, (_tokens, at) in list(self._buckets.items()):
            if now - at >= full_after:
                del self._buckets[source]

    @property
    def sources(self) -> int:
        return len(self._buckets)


class IceGuard:
    """Lifecycle: installed on an aioice Connection after gathering → closed (idempotent).

    One per ICE transport (with max-bundle, one per peer connection); close() gives every
    protocol and the queue their own methods back.
    """

    def __init__(
        self,
        connection: Any,
        drops: DropCounters,
        *,
        budget: SourceBudget | None = None,
        queue_limit: int = QUEUE_LIMIT,
    ) -> None:
        self._connection = connection
        self._drops = drops
        self._budget = budget or SourceBudget()
        self._nominated: dict[int, Any] = aiortc_compat.nominated_pairs(connection)
        self._gates: list[_Gate] = []
        for protocol in aiortc_compat.stun_protocols(connection):
            with contextlib.suppress(aiortc_compat.AlreadyShadowed):  # a guard is there
                self._gates.append(_Gate(self, protocol))
        self._queue = aiortc_compat.receive_queue(connection)
        self._queue_put: Callable[[Any], None] | None = None
        self._queue_limit = queue_limit
        self._queue_shadow: aiortc_compat.Shadow[Callable[[Any], None]] | None = None
        try:
            self._queue_shadow = aiortc_compat.shadow_put_nowait(self._queue, self._bounded_put)
        except aiortc_compat.AlreadyShadowed:
            pass
        else:
            self._queue_put = self._queue_shadow.original
        self._closed = False

    def _bounded_put(self, item: Any) -> None:
        # None is aioice's "connection lost" sentinel: it must always get through.
        if item is not None and self._queue.qsize() >= self._queue_limit:
            self._drops.queue_full += 1
            return
        assert self._queue_put is not None
        self._queue_put(item)

    def proven_sources(self, protocol: Any) -> frozenset[tuple[str, int]]:
        """Remote addresses that may send media to `protocol`'s socket: every candidate the
        peer announced in its SDP (which came over authenticated signaling) or ICE learned
        from an authenticated check (peer-reflexive), and the remote end of each of the
        socket's pairs that passed a check. Not only the pair aioice nominated: the peer may
        use another (with IPv4 and IPv6, each side can nominate a different one, and the
        pair the peer chose may still be in progress on ours when its DTLS arrives)."""
        connection = self._connection
        sources = {
            (aiortc_compat.network_host(c), int(c.port))
            for c in aiortc_compat.remote_candidates(connection)
        }
        sources.update(
            (str(pair.remote_addr[0]), int(pair.remote_addr[1]))
            for pair in aiortc_compat.check_list(connection)
            if pair.protocol is protocol and pair.state == _SUCCEEDED
        )
        return frozenset(sources)

    def close(self) -> None:
        """Give aioice its own methods back; idempotent."""
        if self._closed:
            return
        self._closed = True
        for gate in self._gates:
            gate.close()
        if self._queue_shadow is not None:
            self._queue_shadow.restore()


class _Gate:
    """The shadowing datagram_received of one StunProtocol (one local socket)."""

    __slots__ = (
        "_component",
        "_connection",
        "_drops",
        "_guard",
        "_nominated",
        "_original",
        "_pair",
        "_protocol",
        "_proven_sources",
        "_proven_until",
        "_remote_host",
        "_remote_port",
        "_shadow",
    )

    def __init__(self, guard: IceGuard, protocol: Any) -> None:
        self._guard = guard
        self._protocol = protocol
        self._connection = guard._connection
        self._drops = guard._drops
        self._component: int = protocol.local_candidate.component
        self._nominated = guard._nominated
        self._pair: Any = None
        self._remote_host: str | None = None
        self._remote_port = -1
        self._proven_sources: frozenset[tuple[str, int]] = frozenset()
        self._proven_until = 0.0
        self._shadow = aiortc_compat.shadow_datagram_received(protocol, self.datagram_received)
        self._original: Callable[[bytes, Any], None] = self._shadow.original

    def datagram_received(self, data: bytes, addr: Any) -> None:
        pair = self._nominated.get(self._component)
        if pair is not self._pair:
            self._learn(pair)
        if not data:
            self._drops.empty += 1
            return
        if data[0] > 3:  # not STUN (RFC 7983): DTLS, SRTP/SRTCP or junk
            if (addr[1] == self._remote_port and addr[0] == self._remote_host) or self._proven(
                addr
            ):
                self._connection.data_received(data, self._component)
            else:
                self._drops.foreign += 1
            return
        if (addr[1] == self._remote_port and addr[0] == self._remote_host) or (
            self._guard._budget.allow(addr[0], addr[1])
        ):
            try:
                self._original(data, addr)
            except Exception:  # e.g. struct.error from an attribute of the wrong length
                self._drops.bad_stun += 1
        else:
            self._drops.stun_over_budget += 1

    def _proven(self, addr: Any) -> bool:
        """Not the nominated pair's remote: another address the peer announced or ICE proved
        (looked up again at most every PROVEN_TTL seconds: a flood costs a set lookup)."""
        now = time.monotonic()
        if now >= self._proven_until:
            self._proven_sources = self._guard.proven_sources(self._protocol)
            self._proven_until = now + PROVEN_TTL
        return (addr[0], addr[1]) in self._proven_sources

    def _learn(self, pair: Any) -> None:
        """The nominated pair changed (or appeared): cache its remote address, if it is ours."""
        self._pair = pair
        self._proven_until = 0.0
        if pair is not None and pair.protocol is self._protocol:
            host, port = pair.remote_addr
            self._remote_host, self._remote_port = str(host), int(port)
        else:
            self._remote_host, self._remote_port = None, -1

    def close(self) -> None:
        self._shadow.restore()
