"""Send-side bandwidth estimation for one transport the relay sends on (a subscriber's leg):
the delay-based and loss-based halves of Google congestion control (draft-ietf-rmcat-gcc-02),
run on the subscriber's transport-wide feedback.

Per packet sent (hot path) only its send time and size are stored under its transport-wide
number (SentHistory.on_sent: two list stores). Everything else runs once per feedback packet
(~10 per second): the packets it reports are grouped into bursts sent within 5 ms; the change
of one-way delay between groups is smoothed and its trend fitted over the last 20 groups
(a growing queue is a rising trend); the trend, scaled, is compared with a threshold that
adapts to it (overuse, normal, underuse); the rate follows AIMD (down to 85 % of what
arrived on overuse, up 8 % a second otherwise, slower near the last known capacity). Loss
over windows of at least 20 packets and 0.5 s caps the result (above 10 %: cut by half the
loss; under 2 %: the cap grows 8 % a window and is lifted once it no longer binds). A cut
is not repeated while what the relay sends on the transport is still above the last cut:
the relay does not make the rate, its publisher does, a REMB and an encoder's reaction
later, and loss measured before that reaction says nothing new (cut again for it, the
estimate fell to the 30 kbit/s floor in a 10 s dip to 300 kbit/s; docs/benchmarks.md).
"""

from __future__ import annotations

import enum
import math
from collections import deque

from relay.packet.feedback_parse import FeedbackReport

_SEQ_MOD = 1 << 16
HISTORY = 1 << 13
"""Sent packets remembered (numbers older than this when their feedback comes are ignored)."""
BURST_US = 5_000
TREND_WINDOW = 20
SMOOTHING = 0.9
THRESHOLD_GAIN = 4.0
K_UP = 0.0087
K_DOWN = 0.039
OVERUSE_TIME_MS = 10.0
INITIAL_THRESHOLD_MS = 12.5
BETA = 0.85
MIN_BITRATE = 30_000
MAX_BITRATE = 20_000_000
START_BITRATE = 1_000_000
ACKED_WINDOW_US = 500_000
LOSS_MIN_PACKETS = 20
LOSS_MIN_US = 500_000
HIGH_LOSS = 0.10
LOW_LOSS = 0.02
CUT_HOLD_MAX_US = 3_000_000
"""A cut waits for the sent rate to come down at most this long (a sender that never
follows the estimate is cut again after it)."""
ABOVE_CUT = 1.1
"""Sent faster than this times the last cut: the sender has not followed it yet."""
_REFERENCE_WRAP_US = (1 << 24) * 64_000


class Signal(enum.Enum):
    NORMAL = "normal"
    OVERUSE = "overuse"
    UNDERUSE = "underuse"


class SentHistory:
    """Send time (µs) and size (octets) of each transport-wide number, in a fixed ring."""

    __slots__ = ("_mask", "_ring", "next_seq")

    def __init__(self, size: int = HISTORY) -> None:
        self._mask = size - 1
        self._ring: list[tuple[int, int, int] | None] = [None] * size
        """Slot → (unwrapped number, send time µs, size)."""
        self.next_seq = 0
        """The unwrapped number the next packet gets (its low 16 bits go on the wire)."""

    def on_sent(self, size: int, now_us: int) -> int:
        """Number the next packet; returns the 16-bit value to stamp."""
        seq = self.next_seq
        self.next_seq = seq + 1
        self._ring[seq & self._mask] = (seq, now_us, size)
        return seq & 0xFFFF

    def unwrap(self, seq16: int) -> int:
        """The unwrapped number nearest the newest sent whose low 16 bits are `seq16`."""
        newest = self.next_seq - 1
        delta = (seq16 - newest) % _SEQ_MOD
        if delta >= 0x8000:
            delta -= _SEQ_MOD
        return newest + delta

    def sent_bitrate(self, since_us: int) -> float:
        """Bit/s sent from `since_us` to the newest packet (newest first, once per loss
        window, not per packet)."""
        octets = 0
        newest = self.next_seq - 1
        first_us = last_us = None
        for seq in range(newest, max(newest - self._mask, -1), -1):
            entry = self._ring[seq & self._mask]
            if entry is None or entry[0] != seq or entry[1] < since_us:
                break
            if last_us is None:
                last_us = entry[1]
            first_us = entry[1]
            octets += entry[2]
        if first_us is None or last_us is None or last_us <= first_us:
            return 0.0
        return octets * 8 * 1e6 / (last_us - first_us)

    def lookup(self, seq: int) -> tuple[int, int] | None:
        """(send time µs, size) of unwrapped `seq`, if still remembered."""
        if seq < 0:
            return None
        entry = self._ring[seq & self._mask]
        if entry is None or entry[0] != seq:
            return None
        return entry[1], entry[2]


class _Trendline:
    """Least-squares slope of smoothed accumulated delay against arrival time."""

    def __init__(self) -> None:
        self._points: deque[tuple[float, float]] = deque(maxlen=TREND_WINDOW)
        self._first_arrival_ms: float | None = None
        self._accumulated = 0.0
        self._smoothed = 0.0
        self.samples = 0
        self.trend = 0.0

    def update(self, delay_delta_ms: float, arrival_ms: float) -> float:
        if self._first_arrival_ms is None:
            self._first_arrival_ms = arrival_ms
        self.samples += 1
        self._accumulated += delay_delta_ms
        self._smoothed = SMOOTHING * self._smoothed + (1 - SMOOTHING) * self._accumulated
        self._points.append((arrival_ms - self._first_arrival_ms, self._smoothed))
        if len(self._points) == TREND_WINDOW:
            xs = [p[0] for p in self._points]
            ys = [p[1] for p in self._points]
            mean_x = sum(xs) / len(xs)
            mean_y = sum(ys) / len(ys)
            denominator = sum((x - mean_x) ** 2 for x in xs)
            if denominator > 0:
                numerator = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
                self.trend = numerator / denominator
        return self.trend


class _OveruseDetector:
    """Compares the scaled trend with a threshold that follows it (slowly up, fast down)."""

    def __init__(self) -> None:
        self.threshold = INITIAL_THRESHOLD_MS
        self._overusing_ms = -1.0
        self._overuse_count = 0
        self._previous_trend = 0.0
        self._last_update_ms: float | None = None
        self.signal = Signal.NORMAL

    def detect(self, trend: float, samples: int, inter_group_ms: float, now_ms: float) -> Signal:
        modified = min(samples, 60) * trend * THRESHOLD_GAIN
        if modified > self.threshold:
            if self._overusing_ms < 0:
                self._overusing_ms = inter_group_ms / 2  # the middle of this interval
            else:
                self._overusing_ms += inter_group_ms
            self._overuse_count += 1
            if (
                self._overusing_ms > OVERUSE_TIME_MS
                and self._overuse_count > 1
                and trend >= self._previous_trend
            ):
                self._overusing_ms = 0.0
                self._overuse_count = 0
                self.signal = Signal.OVERUSE
        elif modified < -self.threshold:
            self._overusing_ms = -1.0
            self._overuse_count = 0
            self.signal = Signal.UNDERUSE
        else:
            self._overusing_ms = -1.0
            self._overuse_count = 0
            self.signal = Signal.NORMAL
        self._previous_trend = trend
        self._adapt(modified, now_ms)
        return self.signal

    def _adapt(self, modified: float, now_ms: float) -> None:
        if self._last_update_ms is None:
            self._last_update_ms = now_ms
        if abs(modified) > self.threshold + 15.0:
            self._last_update_ms = now_ms  # a spike (e.g. a route change): not adapted to
            return
        k = K_DOWN if abs(modified) < self.threshold else K_UP
        elapsed = min(now_ms - self._last_update_ms, 100.0)
        self.threshold += k * (abs(modified) - self.threshold) * elapsed
        self.threshold = min(max(self.threshold, 6.0), 600.0)
        self._last_update_ms = now_ms


class SendSideEstimator:
    """Lifecycle: history.on_sent() per packet sent; on_feedback() per parsed feedback;
    `estimate` (bit/s) is the transport's current estimate."""

    def __init__(self, start_bitrate: int = START_BITRATE) -> None:
        self.history = SentHistory()
        self._trendline = _Trendline()
        self._detector = _OveruseDetector()
        self._delay_rate = float(start_bitrate)
        self._loss_cap: float | None = None
        self._reference_us: int | None = None
        """The last feedback's reference time, unwrapped (24 bits of 64 ms wrap)."""
        self._reported: set[int] = set()
        self._highest_reported = -1
        self._group: tuple[int, int, int] | None = None
        """The open group: (first send µs, last send µs, last arrival µs)."""
        self._previous_group: tuple[int, int, int] | None = None
        self._acked: deque[tuple[int, int]] = deque()
        """(arrival µs, size) of recently acknowledged packets, for the acked rate."""
        self._acked_octets = 0
        self._loss_expected = 0
        self._loss_lost = 0
        self._loss_since_us: int | None = None
        self._last_rate_update_us: int | None = None
        self._capacity_kbps: float | None = None
        self._capacity_var = 0.4
        self.signal = Signal.NORMAL
        self._bound_by_delay = False
        """The rate came down for an overuse and has not grown back to what arrives."""
        self.feedback_count = 0
        self.overuses = 0
        """Decreases made for a detected overuse."""
        self.loss_cuts = 0
        """Decreases made for loss above HIGH_LOSS."""
        self.loss_cuts_held = 0
        """Loss windows above HIGH_LOSS not cut for: the sender had not yet followed a cut."""
        self._last_cut: tuple[int, float] | None = None
        """(when, to what) the last loss cut was made."""
        self.loss_fraction = 0.0

    @property
    def estimate(self) -> int:
        rate = self._delay_rate
        if self._loss_cap is not None:
            rate = min(rate, self._loss_cap)
        return int(min(max(rate, MIN_BITRATE), MAX_BITRATE))

    @property
    def congested(self) -> bool:
        """The estimate is held down by the path (a queue seen growing, or loss), not by
        what the relay sends: only then is it a limit worth passing on."""
        if self._loss_cap is not None and self._loss_cap < self._delay_rate:
            return True
        return self._bound_by_delay

    @property
    def acked_bitrate(self) -> float | None:
        if len(self._acked) < 2:
            return None
        span = self._acked[-1][0] - self._acked[0][0]
        if span < 100_000:
            return None
        return self._acked_octets * 8 * 1e6 / span

    def on_feedback(self, report: FeedbackReport, now_us: int) -> int:
        """Run one feedback through both halves; returns the new estimate (bit/s)."""
        self.feedback_count += 1
        reference = self._unwrap_reference(report.reference_us)
        base = self.history.unwrap(report.base)
        arrivals = {base + index: reference + at for index, at in report.received}
        expected = lost = 0
        packets: list[tuple[int, int, int]] = []  # (send µs, arrival µs, size)
        # Only numbers the relay sent and still remembers: a claimed count of 65535 costs
        # no more than the history, whatever the feedback says.
        first = max(base, self.history.next_seq - HISTORY)
        last = min(base + report.count, self.history.next_seq)
        for seq in range(first, last):
            sent = self.history.lookup(seq)
            if sent is None or (seq <= self._highest_reported and seq in self._reported):
                continue
            arrival = arrivals.get(seq)
            expected += 1
            if arrival is None:
                lost += 1
                continue
            self._reported.add(seq)
            packets.append((sent[0], arrival, sent[1]))
        if arrivals:
            self._highest_reported = max(self._highest_reported, max(arrivals))
            floor = self._highest_reported - HISTORY
            if len(self._reported) > 2 * HISTORY:
                self._reported = {s for s in self._reported if s > floor}
        packets.sort()
        for send_us, arrival_us, size in packets:
            self._on_acked(arrival_us, size)
            self._on_packet(send_us, arrival_us, now_us)
        self._update_loss(expected, lost, now_us)
        self._update_rate(now_us)
        return self.estimate

    def _unwrap_reference(self, reference_us: int) -> int:
        if self._reference_us is None:
            self._reference_us = reference_us
            return reference_us
        low = self._reference_us % _REFERENCE_WRAP_US
        delta = (reference_us - low) % _REFERENCE_WRAP_US
        if delta >= _REFERENCE_WRAP_US // 2:
            delta -= _REFERENCE_WRAP_US
        self._reference_us += delta
        return self._reference_us

    def _on_acked(self, arrival_us: int, size: int) -> None:
        self._acked.append((arrival_us, size))
        self._acked_octets += size
        while self._acked and self._acked[0][0] < arrival_us - ACKED_WINDOW_US:
            self._acked_octets -= self._acked.popleft()[1]

    def _on_packet(self, send_us: int, arrival_us: int, now_us: int) -> None:
        group = self._group
        if group is None:
            self._group = (send_us, send_us, arrival_us)
            return
        if send_us - group[0] <= BURST_US or arrival_us < group[2]:
            self._group = (group[0], max(group[1], send_us), max(group[2], arrival_us))
            return
        previous = self._previous_group
        self._previous_group = group
        self._group = (send_us, send_us, arrival_us)
        if previous is None:
            return
        send_delta_ms = (group[1] - previous[1]) / 1000
        arrival_delta_ms = (group[2] - previous[2]) / 1000
        if send_delta_ms <= 0:
            return
        trend = self._trendline.update(arrival_delta_ms - send_delta_ms, group[2] / 1000)
        self.signal = self._detector.detect(
            trend, self._trendline.samples, send_delta_ms, now_us / 1000
        )

    def _update_rate(self, now_us: int) -> None:
        last = self._last_rate_update_us
        self._last_rate_update_us = now_us
        elapsed_s = 0.0 if last is None else min((now_us - last) / 1e6, 1.0)
        acked = self.acked_bitrate
        if self.signal is Signal.OVERUSE:
            self.overuses += 1
            if acked is not None:
                self._note_capacity(acked)
                target = BETA * acked
                if target < self._delay_rate:
                    self._delay_rate = target
                self._bound_by_delay = True
            self.signal = Signal.NORMAL  # one decrease per overuse detected; then hold
            self._detector.signal = Signal.NORMAL
            return
        if self.signal is Signal.UNDERUSE:
            return  # the queue drains: hold
        current = self._delay_rate
        if acked is not None and self._near_capacity(acked):
            # Additive: about one 1200-byte packet per round trip (taken as 100 ms + 100 ms).
            increased = current + max(1000.0, 1200 * 8 / 0.2 * elapsed_s)
        else:
            increased = current * 1.08**elapsed_s
        if acked is not None:
            # Never grow past 1.5 times what arrives (a dip of it does not lower the rate).
            ceiling = 1.5 * acked + 10_000
            if increased >= ceiling:
                increased = max(current, ceiling)
                self._bound_by_delay = False  # grown back to what arrives: not the path
        self._delay_rate = increased
        self._delay_rate = min(max(self._delay_rate, MIN_BITRATE), MAX_BITRATE)

    def _note_capacity(self, acked_bps: float) -> None:
        kbps = acked_bps / 1000
        if self._capacity_kbps is None:
            self._capacity_kbps = kbps
            return
        if kbps < self._capacity_kbps - 3 * math.sqrt(self._capacity_var * self._capacity_kbps):
            self._capacity_kbps = kbps
            self._capacity_var = 0.4
            return
        self._capacity_kbps = 0.95 * self._capacity_kbps + 0.05 * kbps
        norm = max(self._capacity_kbps, 1.0)
        spread = (kbps - self._capacity_kbps) ** 2 / norm
        self._capacity_var = 0.95 * self._capacity_var + 0.05 * spread
        self._capacity_var = min(max(self._capacity_var, 0.4), 2.5)

    def _near_capacity(self, acked_bps: float) -> bool:
        if self._capacity_kbps is None:
            return False
        deviation = 3 * math.sqrt(self._capacity_var * self._capacity_kbps)
        kbps = acked_bps / 1000
        if kbps > self._capacity_kbps + deviation:
            self._capacity_kbps = None  # above what we knew: multiplicative again
            return False
        return True

    def _update_loss(self, expected: int, lost: int, now_us: int) -> None:
        if self._loss_since_us is None:
            self._loss_since_us = now_us
        self._loss_expected += expected
        self._loss_lost += lost
        if self._loss_expected < LOSS_MIN_PACKETS or now_us - self._loss_since_us < LOSS_MIN_US:
            return
        loss = self._loss_lost / self._loss_expected
        self.loss_fraction = loss
        self._loss_expected = self._loss_lost = 0
        self._loss_since_us = now_us
        current = self.estimate
        if loss > HIGH_LOSS:
            if self._cut_pending(now_us):
                self.loss_cuts_held += 1
                return
            self.loss_cuts += 1
            self._loss_cap = max(current * (1 - 0.5 * loss), MIN_BITRATE)
            self._last_cut = (now_us, self._loss_cap)
        elif loss < LOW_LOSS and self._loss_cap is not None:
            self._loss_cap *= 1.08
            if self._loss_cap >= self._delay_rate:
                self._loss_cap = None

    def _cut_pending(self, now_us: int) -> bool:
        """The last cut is recent and the relay still sends above it."""
        if self._last_cut is None:
            return False
        when, to = self._last_cut
        if now_us - when >= CUT_HOLD_MAX_US:
            return False
        return self.history.sent_bitrate(now_us - LOSS_MIN_US) > ABOVE_CUT * to
