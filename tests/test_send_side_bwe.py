"""Send-side bandwidth estimation (relay/packet/send_side_bwe.py) on synthetic paths: packets
paced at the estimate through a simulated bottleneck (a FIFO queue drained at the link's
rate, a fixed propagation delay, optional random loss), their arrivals fed back by the
relay's own feedback encoder (relay/packet/transport_feedback.py) and read back by the
parser the relay uses on a subscriber's feedback. No mocks: the same bytes as on the wire."""

from __future__ import annotations

import random

from relay.packet.feedback_parse import FeedbackReport, parse_transport_feedback
from relay.packet.send_side_bwe import MIN_BITRATE, SendSideEstimator
from relay.packet.transport_feedback import TransportFeedback

PACKET = 1200


class Path:
    """A bottleneck whose rate can change, then a fixed delay; time in µs."""

    def __init__(self, rate_bps: float, delay_us: int = 40_000, loss: float = 0.0) -> None:
        self.rate_bps = rate_bps
        self.delay_us = delay_us
        self.loss = loss
        self._free_at = 0
        self._random = random.Random(7)

    def arrival(self, sent_us: int, size: int) -> int | None:
        if self.loss and self._random.random() < self.loss:
            return None
        start = max(sent_us, self._free_at)
        self._free_at = start + int(size * 8 * 1e6 / self.rate_bps)
        return self._free_at + self.delay_us


class TailDropPath(Path):
    """A bottleneck with a bounded queue (as tc tbf): a packet that would wait longer than
    `buffer_us` is dropped."""

    def __init__(self, rate_bps: float, delay_us: int = 20_000, buffer_us: int = 200_000) -> None:
        super().__init__(rate_bps, delay_us)
        self.buffer_us = buffer_us

    def arrival(self, sent_us: int, size: int) -> int | None:
        if self._free_at - sent_us > self.buffer_us:
            return None
        return super().arrival(sent_us, size)


def run(
    estimator: SendSideEstimator,
    path: Path,
    seconds: float,
    start_us: int,
    *,
    jitter_us: int = 0,
    lag_us: int = 0,
    told: list[tuple[int, int]] | None = None,
) -> tuple[int, list[int]]:
    """Send at the estimate for `seconds`; returns the end time and the estimate each 100 ms.
    With `lag_us`, the sender follows the estimate of that long ago (a publisher re-targeting
    its encoder after the relay's REMB); `told` keeps (time, estimate) across runs."""
    told = told if told is not None else [(start_us, estimator.estimate)]
    feedback = TransportFeedback(sender_ssrc=1, media_ssrc=2)
    rng = random.Random(11)
    pending: list[tuple[int, int]] = []  # (arrival µs, seq16)
    now = start_us
    next_send = now
    next_feedback = now + 100_000
    estimates: list[int] = []
    end = start_us + int(seconds * 1e6)
    while now < end:
        if next_send <= next_feedback:
            now = next_send
            seq = estimator.history.on_sent(PACKET, now)
            arrival = path.arrival(now, PACKET)
            if arrival is not None:
                pending.append((arrival + (rng.randrange(jitter_us) if jitter_us else 0), seq))
            rate = next((r for at, r in reversed(told) if at <= now - lag_us), told[0][1])
            next_send = now + int(PACKET * 8 * 1e6 / rate)
        else:
            now = next_feedback
            next_feedback += 100_000
            arrived = [p for p in pending if p[0] <= now - path.delay_us]
            pending = [p for p in pending if p[0] > now - path.delay_us]
            for at, seq in sorted(arrived):
                feedback.on_packet(seq, at)
            packet = feedback.build()
            if packet is not None:
                report = parse_transport_feedback(packet)
                assert report is not None
                estimator.on_feedback(report, now)
            estimates.append(estimator.estimate)
            told.append((now, estimator.estimate))
    return now, estimates


def test_steady_link_grows_to_it_and_stays_near_it() -> None:
    estimator = SendSideEstimator(start_bitrate=300_000)
    _end, estimates = run(estimator, Path(2_000_000), 40.0, 1_000_000)
    late = estimates[-100:]  # the last 10 s
    assert min(late) > 1_000_000, late
    assert max(late) < 3_000_000, late


def test_clean_link_with_jitter_keeps_a_high_estimate() -> None:
    # ±15 ms of arrival jitter with no queue: the REMB path's failure (docs/benchmarks.md).
    estimator = SendSideEstimator(start_bitrate=300_000)
    _end, estimates = run(estimator, Path(2_000_000, delay_us=150_000), 40.0, 0, jitter_us=15_000)
    late = estimates[-100:]
    assert sum(late) / len(late) > 1_000_000, late


def test_a_narrowing_link_is_seen_as_overuse_and_the_estimate_falls_then_recovers() -> None:
    estimator = SendSideEstimator(start_bitrate=300_000)
    path = Path(2_000_000)
    now, before = run(estimator, path, 30.0, 0)
    assert min(before[-50:]) > 1_000_000
    path.rate_bps = 300_000  # a downlink dip
    now, during = run(estimator, path, 10.0, now)
    assert estimator.feedback_count > 0
    first_under = next(i for i, e in enumerate(during) if e < 450_000)
    assert first_under <= 30, during  # under 1.5x the link within 3 s
    assert max(during[-30:]) < 600_000, during
    path.rate_bps = 2_000_000
    _now, after = run(estimator, path, 30.0, now)
    assert max(after) > 1_000_000, after  # back up
    assert min(after[-50:]) > 700_000, after


def test_growing_queue_is_detected_as_overuse_and_the_rate_decreases() -> None:
    estimator = SendSideEstimator(start_bitrate=1_500_000)
    _end, estimates = run(estimator, Path(500_000), 3.0, 0)  # 3x the link: the queue grows
    assert estimator.overuses >= 1
    assert estimates[-1] < 700_000, estimates
    assert min(estimates) >= MIN_BITRATE


def test_heavy_loss_caps_the_estimate_and_clean_windows_lift_it() -> None:
    estimator = SendSideEstimator(start_bitrate=1_000_000)
    path = Path(5_000_000, loss=0.2)
    now, lossy = run(estimator, path, 10.0, 0)
    assert estimator.loss_fraction > 0.1
    assert lossy[-1] < 700_000, lossy
    assert estimator.loss_cuts >= 1 and estimator.overuses == 0  # which half cut it, counted
    path.loss = 0.0
    _now, clean = run(estimator, path, 30.0, now)
    assert clean[-1] > 1_000_000, clean


def test_a_dip_under_a_slow_sender_is_cut_for_once_and_recovered_from() -> None:
    """Through the relay the sender is the publisher, following the estimate a second late:
    the loss of a 10 s dip to 300 kbit/s goes on until it has, and cutting again for each
    window of it drove the estimate to the floor and kept it there after the dip."""
    estimator = SendSideEstimator(start_bitrate=600_000)
    path, told = TailDropPath(1_000_000), [(0, 600_000)]
    now, _before = run(estimator, path, 20.0, 0, lag_us=1_000_000, told=told)
    path.rate_bps = 300_000
    now, during = run(estimator, path, 10.0, now, lag_us=1_000_000, told=told)
    assert estimator.loss_cuts >= 1 and estimator.loss_cuts_held >= 1
    assert min(during) > 150_000, during  # was 72 kbit/s: four cuts before the sender followed
    path.rate_bps = 1_000_000
    _now, after = run(estimator, path, 10.0, now, lag_us=1_000_000, told=told)
    assert after[50] > 600_000, after  # 5 s after the dip (was 0.11 Mbit/s)


def test_a_sender_that_never_slows_down_is_cut_again() -> None:
    estimator = SendSideEstimator(start_bitrate=1_000_000)
    path, told = TailDropPath(300_000), [(0, 1_000_000)]
    run(estimator, path, 10.0, 0, lag_us=60_000_000, told=told)  # never follows
    assert estimator.loss_cuts >= 3, (estimator.loss_cuts, estimator.loss_cuts_held)


def test_hostile_feedback_never_breaks_the_estimator() -> None:
    """Any well-formed feedback a client can send (numbers never sent, repeats, arrival
    times far apart or backwards, reference times jumping): no exception, bounded work,
    an estimate within [MIN_BITRATE, 20 Mbit/s]."""
    rng = random.Random(5)
    estimator = SendSideEstimator()
    for i in range(3000):
        estimator.history.on_sent(PACKET, i * 1000)
    for n in range(3000):
        base = rng.randrange(65536)
        count = rng.randrange(1, 65536)
        received = tuple(
            sorted((rng.randrange(count), rng.randrange(-(10**9), 10**9)) for _ in range(20))
        )
        report = FeedbackReport(
            base=base,
            count=count,
            feedback_count=n & 0xFF,
            reference_us=rng.randrange(1 << 24) * 64_000,
            received=received,
        )
        estimate = estimator.on_feedback(report, 3_000_000 + n * 100_000)
        assert MIN_BITRATE <= estimate <= 20_000_000
