"""The relay's own send-side bandwidth estimate on one subscriber's transport.

When the subscriber negotiated the transport-wide sequence extension and transport-cc
feedback on the m-lines the relay sends on, every packet the relay sends it is numbered
(relay/packet/stream_rewriter.py stamps it, the transport's SentHistory keeps when and how
big), the subscriber's feedback comes through the RtcpTap, and the estimator
(relay/packet/send_side_bwe.py) runs once per feedback packet. The estimate is then shared
among the transport's video subscriptions, which report their share to the publisher
(relay/rtc/subscription.py).
"""

from __future__ import annotations

from collections.abc import Callable

from relay.metrics import COUNTERS
from relay.packet.feedback_parse import parse_transport_feedback
from relay.packet.send_side_bwe import SendSideEstimator
from relay.rtc.transport_tap import RtcpTap

AUDIO_ALLOWANCE = 40_000
"""Bit/s kept out of the estimate per audio stream on the transport before video shares it."""

EstimateListener = Callable[[int], None]
"""Takes this subscription's share of the transport's estimate (bit/s)."""


class SendSide:
    """Lifecycle: created when the leg learns the extension was negotiated → close().
    Subscriptions join() with a listener and leave() when they close."""

    def __init__(self, rtcp_tap: RtcpTap, estimator: SendSideEstimator | None = None) -> None:
        self.estimator = estimator or SendSideEstimator()
        self._tap = rtcp_tap
        self._video: dict[object, EstimateListener] = {}
        self._audio: set[object] = set()
        self.feedback_received = 0
        self.feedback_rejected = 0
        self._closed = False
        rtcp_tap.set_transport_feedback_handler(self._on_feedback)

    def join(self, key: object, listener: EstimateListener | None) -> None:
        """A stream sent on this transport: video ones (with a listener) share the estimate."""
        if listener is None:
            self._audio.add(key)
        else:
            self._video[key] = listener

    def leave(self, key: object) -> None:
        self._video.pop(key, None)
        self._audio.discard(key)

    def share(self) -> int:
        """One video stream's share of the estimate (bit/s)."""
        available = self.estimator.estimate - AUDIO_ALLOWANCE * len(self._audio)
        return max(int(available / max(1, len(self._video))), 30_000)

    def _on_feedback(self, packet: bytes, arrived: float) -> None:
        if self._closed:
            return
        report = parse_transport_feedback(packet)
        if report is None:
            self.feedback_rejected += 1
            return
        self.feedback_received += 1
        COUNTERS.transport_feedback_received += 1
        self.estimator.on_feedback(report, int(arrived * 1e6))
        share = self.share()
        for listener in list(self._video.values()):
            listener(share)

    def close(self) -> None:
        """Stop listening; idempotent."""
        if not self._closed:
            self._closed = True
            self._video.clear()
            self._audio.clear()
            self._tap.set_transport_feedback_handler(None)
