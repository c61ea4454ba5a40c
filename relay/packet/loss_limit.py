"""A cap on one subscriber's share of a publisher's bitrate from the loss its receiver reports.

A browser's REMB is a delay-based estimate: a downlink that drops packets without queueing
(a lossy radio link, a policer) never lowers it, and the publisher keeps sending more than
the subscriber can take. The loss-based half of Google's congestion control
(draft-ietf-rmcat-gcc-02 §6) closes that gap: above 10 % loss the rate the subscriber
actually received is cut by half the loss, under 2 % the cap grows 8 % a window, and after
three clean windows in a row it is lifted (the REMB alone speaks again). Loss is taken
over windows of at least a second (relay/packet/loss_window.py), not per report.
"""

from __future__ import annotations

from collections.abc import Callable

from relay.packet.loss_window import LossWindow

HIGH_LOSS = 0.10
LOW_LOSS = 0.02
GROWTH = 1.08
CLEAN_REPORTS_TO_LIFT = 3
MIN_BITRATE = 30_000
"""Never cap below this (bit/s): a keyframe must still get through to recover."""


class LossLimit:
    """Lifecycle: on_report() per receiver report block of the subscriber's stream; `cap` is
    the current limit in bit/s (None: no cap). `received_octets` reads how many payload
    octets the relay has sent the subscriber so far (what its rate is measured from)."""

    def __init__(self, received_octets: Callable[[], int], window: LossWindow | None = None):
        self._octets = received_octets
        self._window = window or LossWindow()
        self._last: tuple[float, int] | None = None
        self._clean = 0
        self.cap: float | None = None

    def on_report(self, highest_sequence: int, cumulative_lost: int, now: float) -> float | None:
        """The subscriber's counters from one report block; returns the cap (changed only
        when a window closes)."""
        octets = self._octets()
        sample = self._window.add(highest_sequence, cumulative_lost, now)
        if self._last is None:
            self._last = (now, octets)
        if sample is None:
            return self.cap
        last, self._last = self._last, (now, octets)
        if now <= last[0]:
            return self.cap
        rate = (octets - last[1]) * 8 / (now - last[0])
        fraction_lost = sample.fraction
        if fraction_lost > HIGH_LOSS:
            self._clean = 0
            base = rate if self.cap is None else min(rate, self.cap)
            self.cap = max(base * (1 - 0.5 * fraction_lost), MIN_BITRATE)
        elif fraction_lost < LOW_LOSS:
            if self.cap is not None:
                self._clean += 1
                self.cap = None if self._clean >= CLEAN_REPORTS_TO_LIFT else self.cap * GROWTH
        else:
            self._clean = 0  # between the two: hold
        return self.cap

    def limit(self, estimate: int) -> int:
        """`estimate` (a REMB share) under the cap."""
        return estimate if self.cap is None else min(estimate, int(self.cap))
