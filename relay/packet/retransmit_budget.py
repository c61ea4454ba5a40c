"""How much the relay may retransmit on one subscriber's leg: at most its estimated downlink
over half a second (libwebrtc's sender caps retransmissions the same way, at its target
rate).

Most of what keeps repairs from flooding a congested link is answering each packet at most
once per round trip while the leg is congested (relay/rtc/subscription.py): in a 10 s dip
to 300 kbit/s the relay answered a few hundred NACKs with up to 2,144 resends before that,
and with 35 to 51 after it (docs/benchmarks.md). This budget bounds the rest: a subscriber (a
broken or a hostile one) that asks for its whole history on every report gets no more than
its link is estimated to carry, and costs the relay no more encryption than that.
"""

from __future__ import annotations

from collections import deque

from relay.packet.send_side_bwe import SendSideEstimator

WINDOW = 0.5
"""Seconds over which retransmissions are measured."""


class RetransmitBudget:
    """Lifecycle: one per leg with the relay's own estimator; take() per retransmission."""

    __slots__ = ("_estimator", "_octets", "_resent", "refused")

    def __init__(self, estimator: SendSideEstimator) -> None:
        self._estimator = estimator
        self._resent: deque[tuple[float, int]] = deque()
        """(when, octets) of recent retransmissions."""
        self._octets = 0
        self.refused = 0

    def take(self, size: int, now: float) -> bool:
        """Whether a retransmission of `size` octets fits now (it is counted if so)."""
        resent = self._resent
        while resent and resent[0][0] < now - WINDOW:
            self._octets -= resent.popleft()[1]
        if (self._octets + size) * 8 > self._estimator.estimate * WINDOW:
            self.refused += 1
            return False
        resent.append((now, size))
        self._octets += size
        return True
