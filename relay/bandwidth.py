"""Subscribers' REMB estimates for one published stream → their minimum → the publisher."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable

from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci, unpack_remb_fci

logger = logging.getLogger(__name__)

SendBitrate = Callable[[int], Awaitable[None]]


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


def remb_share(packet: RtcpPsfbPacket) -> tuple[int, list[int]] | None:
    """(bitrate per listed stream, SSRCs) of a REMB packet, or None if it is not a valid REMB.

    A browser's REMB is one estimate for everything it receives on the transport and lists
    every video SSRC; each listed stream gets an equal share of it.
    """
    if packet.fmt != RTCP_PSFB_APP:
        return None
    try:
        bitrate, ssrcs = unpack_remb_fci(packet.fci)
    except ValueError:
        return None
    if not ssrcs:
        return None
    return bitrate // len(ssrcs), ssrcs


class RembAggregator:
    """Per published stream: the lowest fresh subscriber estimate goes to the publisher.

    At most one REMB per `min_interval`; a report inside the quiet interval is deferred to
    its end (the minimum is taken then), never dropped. Estimates not refreshed within
    `stale_after` seconds (browsers send one about every second) no longer count.
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
        self._min_interval = min_interval
        self._stale_after = stale_after
        self._clock = clock
        self._estimates: dict[Hashable, tuple[int, float]] = {}
        self._last_sent: float | None = None
        self._deferred: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.sent = 0
        self.last_bitrate: int | None = None

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
        if self._closed:
            return False
        now = self._clock()
        self._estimates[subscriber] = (bitrate, now)
        if self._last_sent is None or now - self._last_sent >= self._min_interval:
            self._fire()
            return True
        if self._deferred is None:
            delay = self._min_interval - (now - self._last_sent)
            self._deferred = asyncio.get_running_loop().call_later(delay, self._fire_deferred)
        return False

    def remove(self, subscriber: Hashable) -> None:
        """Forget a subscriber's estimate (it left); the next report sends the new minimum."""
        self._estimates.pop(subscriber, None)

    def _fire_deferred(self) -> None:
        self._deferred = None
        if not self._closed:
            self._fire()

    def _fire(self) -> None:
        bitrate = self.current()
        if bitrate is None:
            return
        self._last_sent = self._clock()
        self.sent += 1
        self.last_bitrate = bitrate
        task = asyncio.ensure_future(self._send_quietly(bitrate))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_quietly(self, bitrate: int) -> None:
        try:
            await self._send(bitrate)
        except ConnectionError:
            pass
        except Exception:
            logger.exception("REMB to the publisher failed")

    async def close(self) -> None:
        """Cancel a deferred send and wait for in-flight sends; idempotent."""
        self._closed = True
        self._estimates.clear()
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
