"""Loss over a window of a receiver's reports, from its cumulative counters.

A browser sends a receiver report with every compound RTCP packet, and it sends one with
each NACK: the report right after a loss covers a few dozen milliseconds and that loss, so
its "fraction lost" reads 15-35 % on a link that loses 2 %. Acting on single reports cut
a subscriber's estimate again and again. The extended highest sequence number and the
cumulative loss in every report block give the loss over any span instead; this takes it
over at least `seconds` and `min_packets` (GCC's loss rule assumes about a second).
"""

from __future__ import annotations

from dataclasses import dataclass

WINDOW_S = 1.0
MIN_PACKETS = 20


@dataclass(frozen=True)
class LossSample:
    """One window's figures."""

    fraction: float
    """Lost ÷ expected in the window, 0..1 (retransmitted late arrivals can make the
    cumulative count fall: never below 0)."""
    expected: int
    seconds: float


class LossWindow:
    """Lifecycle: add() per report block of one stream; returns a LossSample when a window
    closes (the next starts there), else None."""

    def __init__(self, seconds: float = WINDOW_S, min_packets: int = MIN_PACKETS) -> None:
        self._seconds = seconds
        self._min_packets = min_packets
        self._start: tuple[float, int, int] | None = None

    def add(self, highest_sequence: int, cumulative_lost: int, now: float) -> LossSample | None:
        start = self._start
        if start is None or highest_sequence < start[1]:  # first, or the stream restarted
            self._start = (now, highest_sequence, cumulative_lost)
            return None
        began, highest_before, lost_before = start
        expected = highest_sequence - highest_before
        if now - began < self._seconds or expected < self._min_packets:
            return None
        self._start = (now, highest_sequence, cumulative_lost)
        lost = min(max(cumulative_lost - lost_before, 0), expected)
        return LossSample(lost / expected, expected, now - began)
