"""Ask the publisher again (NACK) for packets lost on its way to the relay.

A subscriber's NACK can only be answered from what reached the relay, so a packet lost on
the publisher's leg would be lost for everyone; the relay NACKs it upstream itself and
forwards the retransmission (plain, or RTX unwrapped by the Publication) when it comes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from relay.packet.throttle import Send, Throttle

SendNack = Callable[[list[int]], Awaitable[None]]
Unrepairable = Callable[[list[int]], None]
"""Takes the sequence numbers given up (empty after a jump too large to ask for)."""

_SEQ_MASK = 0xFFFF
MAX_RETRY_AFTER = 1.0
"""Beyond this a retransmission is too late for any subscriber's jitter buffer anyway."""
MAX_TIMED = 512
"""NACKed numbers remembered for timing their repair."""
_NOT_ASKED = (0, 0.0)


class UpstreamRepair:
    """Lifecycle: open → closed. Fed every incoming sequence number of one source SSRC.

    A gap of up to `max_gap` packets is asked for at once (at most one NACK per
    `min_interval`), and once more after `retry_after` if still missing; a larger jump is
    not worth asking for. Packets that arrive late (reordered or retransmitted) count as
    recovered. `on_unrepairable` is called with the packets given up (all still missing
    once one is), also after a jump too large to ask for: every subscriber now misses data
    a decoder may need.
    """

    def __init__(
        self,
        send_nack: SendNack,
        *,
        on_unrepairable: Unrepairable | None = None,
        max_gap: int = 64,
        attempts: int = 2,
        retry_after: float = 0.08,
        min_interval: float = 0.02,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send_nack = send_nack
        self._on_unrepairable = on_unrepairable
        self._max_gap = max_gap
        self._attempts = attempts
        self._retry_after = self._base_retry_after = retry_after
        self._clock = clock
        self._leg_rtt = 0.0
        self.repair_rtt: float | None = None
        """NACK to retransmission, smoothed: the round trip as repairs see it, known even on a
        leg the relay sends nothing on (a client that only publishes echoes no reports)."""
        self._asked_at: dict[int, float] = {}
        """seq → when it was first NACKed (kept a while after it is given up, so a late
        retransmission still times the leg)."""
        self._highest: int | None = None
        self._missing: dict[int, tuple[int, float]] = {}
        """seq → (NACKs sent for it, when the last one was sent)."""
        self._retry: asyncio.TimerHandle | None = None
        self._throttle = Throttle(
            self._next_send, min_interval=min_interval, what="upstream NACK", clock=clock
        )
        self.lost = 0
        self.recovered = 0
        self.given_up = 0
        self.jumps = 0
        self.stale = 0
        """Duplicates, and packets that came after they were given up (not forwarded)."""
        """Forward jumps larger than max_gap (a burst lost, or the source skipped ahead)."""

    def set_round_trip(self, rtt: float) -> None:
        """A retransmission needs a round trip: asking again (and giving up after `attempts`)
        on a fixed timer would, on a leg longer than it, give up on packets already on their
        way and restart every subscriber at a keyframe for each one lost."""
        self._leg_rtt = rtt
        self._pace()

    def _pace(self) -> None:
        rtt = max(self._leg_rtt, self.repair_rtt or 0.0)
        self._retry_after = min(max(self._base_retry_after, 1.5 * rtt + 0.02), MAX_RETRY_AFTER)

    def retransmitted(self, seq: int) -> None:
        """A retransmission (RTX) of `seq` came, before on_sequence() sees it: how long its
        repair took. Only retransmissions time the leg: an original that was merely late
        (reordered) comes back in a few ms and would make the round trip look short."""
        asked = self._asked_at.pop(seq, None)
        if asked is None:
            return
        sample = self._clock() - asked
        if 0 <= sample <= MAX_RETRY_AFTER:
            previous = self.repair_rtt
            self.repair_rtt = sample if previous is None else previous + (sample - previous) / 8
            self._pace()

    @property
    def retry_after(self) -> float:
        return self._retry_after

    @property
    def nacks_sent(self) -> int:
        return self._throttle.sent

    @property
    def missing(self) -> frozenset[int]:
        return frozenset(self._missing)

    def on_sequence(self, seq: int) -> bool:
        """One packet of the current source arrived (hot path: no allocation when in order).

        False if it is stale: a duplicate, or late for a packet already given up (the
        subscribers have moved on; forwarded now it would land on the wrong numbers)."""
        highest = self._highest
        if highest is None:
            self._highest = seq
            return True
        delta = (seq - highest) & _SEQ_MASK
        if delta == 1:
            self._highest = seq
        elif delta == 0:
            return False
        elif delta < 0x8000:
            self._highest = seq
            if delta > self._max_gap:
                self.jumps += 1
                self._unrepairable(self._forget())
                return True
            for lost in range(highest + 1, highest + delta):
                self._missing[lost & _SEQ_MASK] = _NOT_ASKED
            self.lost += delta - 1
            self._throttle.trigger()
        elif self._missing.pop(seq, None) is not None:
            self.recovered += 1
        else:
            self.stale += 1
            return False
        return True

    def reset(self) -> None:
        """The publisher's stream restarted (a new SSRC): old gaps are nobody's to fill."""
        self._highest = None
        self._forget()
        self._asked_at.clear()

    def _forget(self) -> list[int]:
        forgotten = list(self._missing)
        self.given_up += len(forgotten)
        self._missing.clear()
        return forgotten

    def _next_send(self) -> Send | None:
        """NACK what is newly missing, and what was asked for a retry interval ago and is
        still missing; not everything missing each time: on a leg that reorders packets a
        new gap comes every few ms, and re-asking for (and counting) every older one with it
        gave up on packets whose retransmission was still on its way."""
        now = self._clock()
        self._drop_exhausted(now)
        retry_after = self._retry_after
        due = [
            seq
            for seq, (count, last) in self._missing.items()
            if count == 0 or now - last >= retry_after
        ]
        for seq in due:
            count, _last = self._missing[seq]
            if count == 0:
                self._asked_at[seq] = now
            self._missing[seq] = (count + 1, now)
        while len(self._asked_at) > MAX_TIMED:  # the oldest first (insertion order)
            del self._asked_at[next(iter(self._asked_at))]
        if self._missing and self._retry is None:  # ask again, or give up, when overdue
            self._retry = asyncio.get_running_loop().call_later(retry_after, self._again)
        if not due:
            return None
        send = self._send_nack
        return lambda: send(due)

    def _drop_exhausted(self, now: float) -> None:
        """Once one packet is given up (asked for `attempts` times, the last a retry interval
        ago) the subscribers restart at a keyframe, so whatever else is still missing is
        given up with it (a repair would come too late)."""
        retry_after = self._retry_after
        if any(
            count >= self._attempts and now - last >= retry_after
            for count, last in self._missing.values()
        ):
            self._unrepairable(self._forget())

    def _unrepairable(self, lost: list[int]) -> None:
        if self._on_unrepairable is not None:
            self._on_unrepairable(lost)

    def _again(self) -> None:
        self._retry = None
        self._drop_exhausted(self._clock())
        if self._missing:
            self._throttle.trigger()

    async def close(self) -> None:
        """Cancel the retry and pending sends; idempotent."""
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        self._missing.clear()
        await self._throttle.close()
