"""The relay's own send-side bandwidth estimate on one subscriber's transport.

When the subscriber negotiated the transport-wide sequence extension and transport-cc
feedback on the m-lines the relay sends on, every packet the relay sends it is numbered
(relay/packet/stream_rewriter.py stamps it, the transport's SentHistory keeps when and how
big), the subscriber's feedback comes through the RtcpTap, and the estimator
(relay/packet/send_side_bwe.py) runs once per feedback packet. The estimate is then shared
among the transport's streams in proportion to what each is sent now (audio takes its
part; a sending video stream counts as at least FLOOR, an idle one gets none), and each
video stream's share goes to its subscription (relay/rtc/subscription.py), which reports
it upstream — with the shares of the same publisher's streams that report nothing (its
audio) added: a browser reads a REMB as the limit of everything it sends and takes its
audio out of it again, so a video share alone left its camera the share less the audio
(a dip's 190 kbit/s estimate reached the publisher as 128 kbit/s for all of it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from relay.metrics import COUNTERS
from relay.packet.feedback_parse import parse_transport_feedback
from relay.packet.retransmit_budget import RetransmitBudget
from relay.packet.send_side_bwe import SendSideEstimator
from relay.rtc.transport_tap import RtcpTap

RATE_WINDOW = 0.5
"""Seconds over which each stream's rate is measured (its part of the estimate)."""
RESEND_SLACK = 0.005
"""Added to the round trip before a packet is resent again (libwebrtc's 5 ms)."""
UNKNOWN_RTT = 0.05
"""The round trip taken before the leg has measured one (its first report echo)."""
FLOOR = 50_000
"""A video stream counts as sending at least this (bit/s) when the estimate is shared."""

EstimateListener = Callable[[int, bool], None]
"""Takes a video stream's share of the transport's estimate (bit/s) and whether the path
holds the estimate down (SendSideEstimator.congested)."""


@dataclass(slots=True)
class _Stream:
    octets: Callable[[], int]
    listener: EstimateListener | None
    publisher: object = None
    """Streams with the same publisher (its transport) are one sender's, audio and video."""
    window: tuple[float, int] | None = None
    rate: float | None = None


class SendSide:
    """Lifecycle: created when the leg learns the extension was negotiated → close().
    Streams join() with a count of the payload octets sent, their publisher and, for
    video, a listener; they leave() when they close."""

    def __init__(
        self,
        rtcp_tap: RtcpTap,
        estimator: SendSideEstimator | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.estimator = estimator or SendSideEstimator()
        self.retransmit_budget = RetransmitBudget(self.estimator)
        """Shared by the leg's down tracks: their retransmissions within the estimate."""
        self._tap = rtcp_tap
        self._clock = clock
        self._streams: dict[object, _Stream] = {}
        self.feedback_received = 0
        self.feedback_rejected = 0
        self._closed = False
        rtcp_tap.set_transport_feedback_handler(self._on_feedback)

    def join(
        self,
        key: object,
        octets: Callable[[], int],
        listener: EstimateListener | None,
        publisher: object = None,
    ) -> None:
        self._streams[key] = _Stream(octets, listener, publisher)

    def leave(self, key: object) -> None:
        self._streams.pop(key, None)

    def resend_interval(self, rtt: float | None) -> float:
        """How long after resending a packet the relay ignores requests for it again.

        While the estimate is held down by this leg (congested), one round trip: a receiver
        asks again after its own idea of the round trip (a receive-only Chromium takes
        100 ms), and on a link whose queue still holds the first resend each repeat only
        deepens it (in a 10 s dip to 300 kbit/s the relay resent 603 to 2,144 packets for
        129 to 418 NACKs, more than the dip's media, and up to half its sending was lost).
        Otherwise none: a repeat is what repairs a lost resend soonest (refusing it always
        doubled the freezes on a 150 ms, 2 % loss downlink; docs/benchmarks.md)."""
        if not self.estimator.congested:
            return 0.0
        return (UNKNOWN_RTT if rtt is None else rtt) + RESEND_SLACK

    def _measure(self, now: float) -> None:
        for stream in self._streams.values():
            octets = stream.octets()
            if stream.window is None:
                stream.window = (now, octets)
            elif now - stream.window[0] >= RATE_WINDOW:
                stream.rate = (octets - stream.window[1]) * 8 / (now - stream.window[0])
                stream.window = (now, octets)

    @staticmethod
    def _weight(stream: _Stream) -> float:
        rate = stream.rate or 0.0
        return max(rate, FLOOR) if stream.listener is not None and rate > 0 else rate

    def _on_feedback(self, packet: bytes, arrived: float) -> None:
        if self._closed:
            return
        report = parse_transport_feedback(packet)
        if report is None:
            self.feedback_rejected += 1
            return
        self.feedback_received += 1
        COUNTERS.transport_feedback_received += 1
        estimator = self.estimator
        overuses, loss_cuts = estimator.overuses, estimator.loss_cuts
        estimate = estimator.on_feedback(report, int(arrived * 1e6))
        COUNTERS.send_side_overuses += estimator.overuses - overuses
        COUNTERS.send_side_loss_cuts += estimator.loss_cuts - loss_cuts
        self._measure(self._clock())
        streams = list(self._streams.values())
        total = sum(self._weight(s) for s in streams)
        unreported: dict[object, float] = {}
        for stream in streams:
            if stream.listener is None:
                unreported[stream.publisher] = unreported.get(stream.publisher, 0.0) + (
                    self._weight(stream)
                )
        congested = self.estimator.congested
        for stream in streams:
            weight = self._weight(stream)
            if stream.listener is not None and weight > 0:  # idle: nothing to limit
                if stream.publisher is not None:
                    weight += unreported.get(stream.publisher, 0.0)
                share = int(estimate * weight / total)
                stream.listener(max(share, 30_000), congested)

    def close(self) -> None:
        """Stop listening; idempotent."""
        if not self._closed:
            self._closed = True
            self._streams.clear()
            self._tap.set_transport_feedback_handler(None)
