"""Relay worker processes only: aiortc's per-receiver bandwidth estimator, built on first use.

aiortc gives every video RTCRtpReceiver a RemoteBitrateEstimator whose rate counter holds
1,000 bucket objects, built at once: 18 % of the CPU of a relay join and ~150 KiB per
receiver (two per participant). The relay's receivers never see the packets it forwards
(the RtpTap takes them first), so the estimator is wanted only for the odd packet handed
back to aiortc (an RTX probe, an unrouted payload type): it is built then.
"""

from __future__ import annotations

from aiortc.rate import RemoteBitrateEstimator

from relay.rtc import aiortc_compat


class LazyRemoteBitrateEstimator:
    """Stands in for RemoteBitrateEstimator; the real one is made by the first add()."""

    __slots__ = ("_real",)

    def __init__(self) -> None:
        self._real: RemoteBitrateEstimator | None = None

    def add(
        self, arrival_time_ms: int, abs_send_time: int, payload_size: int, ssrc: int
    ) -> tuple[int, list[int]] | None:
        if self._real is None:
            self._real = RemoteBitrateEstimator()
        return self._real.add(arrival_time_ms, abs_send_time, payload_size, ssrc)


def install() -> None:
    """Make aiortc's receivers in this process use the lazy estimator (the worker calls it
    at start; never in a process that also runs client peer connections' receivers for
    real, though even there it only delays the allocation)."""
    aiortc_compat.install_remote_bitrate_estimator(LazyRemoteBitrateEstimator)
