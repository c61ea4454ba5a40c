"""One client's transport as the relay sees it: the RTCP it owns on that leg.

Upstream (what the client publishes), the relay sends receiver reports with real report
blocks (relay/packet/receive_statistics.py): the client's sender learns its uplink's loss,
jitter and round trip, which its loss-based bandwidth estimate and RTT need. Downstream (what
the client subscribes to), the client's report blocks about the relay's down tracks give the
leg's round trip (relay/packet/round_trip.py) and the downlink's loss and jitter per stream.
The round trip then paces the relay's upstream NACKs and keyframe requests on this leg.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiortc.rtp import RtcpReceiverInfo, RtcpRrPacket

from relay.metrics import COUNTERS
from relay.packet.round_trip import RoundTrip
from relay.rtc.dtls_sink import DtlsRtpSink
from relay.rtc.periodic import Periodic
from relay.rtc.send_side import SendSide
from relay.rtc.transport_cc import TransportCc
from relay.rtc.transport_tap import RtcpTap, RtpTap

REPORT_INTERVAL = 1.0
"""Mean seconds between receiver reports, varied over [0.5, 1.5] times it (RFC 3550 6.2)."""
MAX_BLOCKS = 31
"""What one RR can carry (a five-bit count)."""


class Reported(Protocol):
    """What the leg reports on: a publication of this client (relay/rtc/publication.py)."""

    @property
    def reporter_ssrc(self) -> int: ...

    @property
    def source_ssrc(self) -> int | None: ...

    def receive_report(self, now: float) -> RtcpReceiverInfo | None: ...

    def set_round_trip(self, rtt: float) -> None: ...


DownlinkListener = Callable[["DownlinkReport"], None]


@dataclass(frozen=True, slots=True)
class DownlinkReport:
    """The client's last report block about one stream the relay sends it."""

    fraction_lost: float
    """Of the client's last interval, 0..1 (noisy: an interval can be a few ms long; see
    relay/packet/loss_window.py for loss over a span)."""
    packets_lost: int
    """Cumulative, as the client counts it."""
    highest_sequence: int
    """Extended highest sequence number received (cycles * 65536 + seq)."""
    jitter_seconds: float
    at: float
    """time.monotonic() when it arrived."""


class Leg:
    """Lifecycle: created with the client's first publication or subscription on a transport;
    report() adds publications (the report task starts with the first), close() ends it."""

    def __init__(
        self,
        dtls_transport: Any,
        rtcp_tap: RtcpTap,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sink = DtlsRtpSink(dtls_transport)
        self._rtcp_tap = rtcp_tap
        self._clock = clock
        self.round_trip = RoundTrip()
        self.downlink: dict[int, DownlinkReport] = {}
        """Relay SSRC → the client's last report block about it."""
        self._down_ssrcs: dict[int, tuple[int, DownlinkListener | None]] = {}
        """Relay SSRC → its RTP clock rate, and who hears of each report about it."""
        self._reported: list[Reported] = []
        self.transport_cc: TransportCc | None = None
        self.send_side: SendSide | None = None
        """The relay's own estimate of this leg's downlink (transport-cc towards the client)."""
        self._timer = Periodic(
            self._send_report, lambda: REPORT_INTERVAL * (0.5 + random.random()), "receiver report"
        )
        self._closed = False
        self.reports_sent = 0
        rtcp_tap.set_report_block_handler(self._on_block)

    @property
    def rtt(self) -> float | None:
        return self.round_trip.rtt

    def report(self, publication: Reported) -> None:
        """Send receiver reports about `publication` to the client from now on."""
        if self._closed or publication in self._reported:
            return
        self._reported.append(publication)
        if self.rtt is not None:
            publication.set_round_trip(self.rtt)
        self._timer.start()

    def enable_transport_cc(self, rtp_tap: RtpTap, ext_id: int) -> None:
        """Feed back every packet's arrival (the client's send-side estimator runs on it)."""
        if self.transport_cc is not None or self._closed:
            return
        self.transport_cc = TransportCc(
            rtp_tap,
            self._sink,
            ext_id,
            sender_ssrc=lambda: self._reported[0].reporter_ssrc if self._reported else 0,
            media_ssrc=lambda: next(
                (p.source_ssrc for p in self._reported if p.source_ssrc is not None), None
            ),
        )
        self.transport_cc.start()

    def enable_send_side(self) -> SendSide | None:
        """Estimate what the client can take from the relay, from its transport-wide
        feedback (it negotiated the extension on what the relay sends it)."""
        if self.send_side is None and not self._closed:
            self.send_side = SendSide(self._rtcp_tap)
        return self.send_side

    def watch(self, ssrc: int, clock_rate: int, listener: DownlinkListener | None = None) -> None:
        """A down track the relay sends on this leg: keep the client's reports about it and
        pass each to `listener` (blocks about any other SSRC are ignored, so a client cannot
        grow this)."""
        self._down_ssrcs[ssrc] = (clock_rate, listener)

    def sent_sender_report(self, ssrc: int, ntp_timestamp: int) -> None:
        """The relay sent the client an SR for `ssrc` (a down track): its echo times the leg."""
        self.round_trip.sent_sender_report(ssrc, ntp_timestamp, self._clock())

    def forget(self, ssrc: int) -> None:
        """A down track of this leg is gone."""
        self._down_ssrcs.pop(ssrc, None)
        self.round_trip.forget(ssrc)
        self.downlink.pop(ssrc, None)

    def _on_block(self, block: RtcpReceiverInfo, arrived: float) -> None:
        watched = self._down_ssrcs.get(block.ssrc)
        if self._closed or watched is None:
            return
        clock_rate, listener = watched
        sample = self.round_trip.on_report_block(block.ssrc, block.lsr, block.dlsr, arrived)
        report = self.downlink[block.ssrc] = DownlinkReport(
            fraction_lost=block.fraction_lost / 256,
            packets_lost=block.packets_lost,
            highest_sequence=block.highest_sequence,
            jitter_seconds=block.jitter / clock_rate,
            at=arrived,
        )
        if listener is not None:
            listener(report)
        rtt = self.round_trip.rtt
        if sample is not None and rtt is not None:
            for publication in self._reported:
                publication.set_round_trip(rtt)

    def report_now(self) -> bytes | None:
        """The receiver report due now (None when nothing has been received yet)."""
        now = self._clock()
        blocks = [b for p in self._reported if (b := p.receive_report(now)) is not None]
        if not blocks:
            return None
        return bytes(
            RtcpRrPacket(ssrc=self._reported[0].reporter_ssrc, reports=blocks[:MAX_BLOCKS])
        )

    async def _send_report(self) -> None:
        packet = self.report_now()
        if packet is not None and await self._sink.send_rtcp_if_up(packet):
            self.reports_sent += 1
            COUNTERS.receiver_reports_sent += 1

    async def close(self) -> None:
        """Stop reporting; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._rtcp_tap.set_report_block_handler(None)
        self._reported.clear()
        if self.transport_cc is not None:
            await self.transport_cc.close()
        if self.send_side is not None:
            self.send_side.close()
        await self._timer.stop()
        self._sink.close()
