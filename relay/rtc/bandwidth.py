"""Subscribers' REMB estimates for one published stream → their minimum → the publisher."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable

from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci, unpack_remb_fci

from relay.packet.throttle import Throttle

SendBitrate = Callable[[int], Awaitable[None]]
UNCAPPED = 100_000_000
"""What a REMB says once no subscriber limits the stream any more: a publisher keeps obeying
the last REMB it got until another one comes, so a lifted limit has to be sent too."""


def remb_packet(*, sender_ssrc: int, media_ssrcs: list[int], bitrate: int) -> bytes:
    """An RTCP PSFB fmt 15 (REMB) packet: media_ssrc 0, the SSRCs it applies to in the FCI."""
    return bytes(
        RtcpPsfbPacket(
            fmt=RTCP_PSFB_APP,
            ssrc=sender_ssrc,
            media_ssrc=0,
            fci=pack_remb_fci(bitrate, media_ssrcs),
        )
    )


def parse_remb(fci: bytes) -> tuple[int, list[int]] | None:
    """(bitrate, SSRCs) of a REMB FCI, or None if it is not a whole one.

    aiortc's unpack_remb_fci raises struct.error (not ValueError) when the SSRC count
    claims more SSRCs than the packet holds; escaping an RTCP handler, that would end
    aiortc's receive loop for the transport.
    """
    if len(fci) < 8 or len(fci) < 8 + 4 * fci[4]:
        return None
    try:
        return unpack_remb_fci(fci)
    except ValueError:
        return None


def remb_share(
    packet: RtcpPsfbPacket, sharers: Callable[[list[int]], int]
) -> tuple[int, list[int]] | None:
    """(bitrate per sharing stream, SSRCs) of a REMB packet, or None if it is not a valid REMB.

    A browser's REMB is one estimate for everything it receives on the transport. It lists
    the SSRCs its estimator saw, which may include RTX streams (for two seconds after a
    retransmission) and audio; `sharers(ssrcs)` says how many listed streams are video the
    relay sends (the RTCP tap counts them), and each gets an equal share. Dividing by every listed
    SSRC halved a camera's share whenever it was repaired, and a publisher held to half of
    what its subscriber receives sends less, which lowers the next REMB: down to the floor.
    """
    if packet.fmt != RTCP_PSFB_APP:
        return None
    remb = parse_remb(packet.fci)
    if remb is None or not remb[1]:
        return None
    bitrate, ssrcs = remb
    return bitrate // max(1, sharers(ssrcs)), ssrcs


class RembAggregator:
    """Per published stream: the lowest fresh subscriber estimate goes to the publisher.

    At most one REMB per `min_interval`; a report inside the quiet interval is deferred to
    its end (the minimum is taken then), never dropped. Estimates not refreshed within
    `stale_after` seconds (browsers send one about every second) no longer count, and the
    publisher is told the new minimum when one goes stale (else a subscriber that stopped
    reporting would hold it at its last, lowest figure until some other report came).
    Lifecycle: open → closed (close() cancels a deferred send and pending sends).
    """

    def __init__(
        self,
        send: SendBitrate,
        *,
        min_interval: float = 0.2,
        stale_after: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._stale_after = stale_after
        self._clock = clock
        self._estimates: dict[Hashable, tuple[int, float]] = {}
        self._throttle = Throttle(
            self._next_send, min_interval=min_interval, what="REMB to the publisher", clock=clock
        )
        self.last_bitrate: int | None = None
        self._expiry: asyncio.TimerHandle | None = None

    @property
    def sent(self) -> int:
        return self._throttle.sent

    def current(self) -> int | None:
        """The lowest estimate still fresh, or None."""
        now = self._clock()
        stale = [k for k, (_, at) in self._estimates.items() if now - at > self._stale_after]
        for key in stale:
            del self._estimates[key]
        if not self._estimates:
            return None
        return min(bitrate for bitrate, _ in self._estimates.values())

    def report(self, subscriber: Hashable, bitrate: int) -> bool:
        """Record one subscriber's estimate; returns True if a REMB was sent now."""
        if self._throttle.closed:
            return False
        self._estimates[subscriber] = (bitrate, self._clock())
        self._watch_expiry()
        return self._throttle.trigger()

    def _watch_expiry(self) -> None:
        """Wake when the oldest estimate goes stale (one timer, moved as reports come)."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if not self._estimates or self._throttle.closed:
            return
        oldest = min(at for _, at in self._estimates.values())
        delay = max(0.0, oldest + self._stale_after - self._clock()) + 0.01
        self._expiry = asyncio.get_running_loop().call_later(delay, self._expire)

    def _expire(self) -> None:
        self._expiry = None
        before = len(self._estimates)
        self.current()  # drops what went stale
        if len(self._estimates) < before:
            self._throttle.trigger()
        self._watch_expiry()

    def remove(self, subscriber: Hashable) -> None:
        """Forget a subscriber's estimate (it left, or its cap was lifted): the next report
        sends the new minimum; if it was the last one, the publisher is told it is uncapped."""
        if self._estimates.pop(subscriber, None) is not None:
            self._watch_expiry()
            if not self._estimates:
                self._throttle.trigger()

    def _next_send(self) -> Callable[[], Awaitable[None]] | None:
        bitrate = self.current()
        if bitrate is None:
            if self.last_bitrate in (None, UNCAPPED):
                return None
            bitrate = UNCAPPED
        self.last_bitrate = bitrate
        return lambda: self._send(bitrate)

    async def close(self) -> None:
        """Cancel a deferred send and wait for in-flight sends; idempotent."""
        self._estimates.clear()
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        await self._throttle.close()
