"""One publication sent to one subscriber through the relay's sendonly transceiver for it."""

from __future__ import annotations

import random
import time
from typing import Any

from aiortc.rtp import (
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
)

from relay.metrics import COUNTERS
from relay.packet.codecs import matching_codec
from relay.packet.loss_limit import LossLimit
from relay.packet.stream_rewriter import StreamRewriter
from relay.rtc.bandwidth import remb_share
from relay.rtc.down_track import DownTrack, RtxStream
from relay.rtc.dtls_sink import DtlsRtpSink
from relay.rtc.leg import DownlinkReport, Leg
from relay.rtc.negotiated import NegotiatedStream, negotiated_stream
from relay.rtc.publication import Publication
from relay.rtc.send_side import SendSide
from relay.rtc.transport_tap import RtcpTap, SenderReportFilter

CONGESTED_BELOW = 1.2
"""A REMB under this many times the rate the subscriber gets is a sign of congestion."""


class Subscription:
    """Lifecycle: created after negotiation → attached when DTLS connects → closed.

    A later subscription on the same transceiver passes the previous one's `rewriter` and
    `rtx`, so the subscriber sees one continuous stream (a pause, then the next source's
    keyframe). Packets go out under the subscriber's payload type for the publisher's
    codec (VP8 to VP8, H.264 to H.264 of the same profile and packetization mode).

    The transceiver's sender must hold a SilentTrack: aiortc's sender then only sends its
    RTCP, and our packets carry its negotiated SSRC, payload type and MID.
    """

    def __init__(
        self,
        transceiver: Any,
        publication: Publication,
        rtcp_tap: RtcpTap,
        leg: Leg | None = None,
        *,
        rewriter: StreamRewriter | None = None,
        rtx: RtxStream | None = None,
        stream: NegotiatedStream | None = None,
    ) -> None:
        """`stream`: the transceiver's negotiated_stream(), if the caller has read it."""
        self.stream: NegotiatedStream = stream or negotiated_stream(transceiver)
        source = publication.stream.primary
        codec = matching_codec(self.stream.codecs, source)
        if codec is None:
            offered = ", ".join(c.mime_type for c in self.stream.codecs)
            raise ValueError(f"receiver accepts {offered}, not the source's {source.mime_type}")
        self.codec = codec
        self._publication = publication
        self._rtcp_tap = rtcp_tap
        self._leg = leg
        self._dtls = transceiver.sender.transport
        # Only the publisher's SRs, rewritten, may reach the subscriber for this SSRC.
        self._sr_filter = SenderReportFilter(transceiver.sender)
        self._sink = DtlsRtpSink(self._dtls)
        extensions = self.stream.outgoing_extensions()
        self._send_side: SendSide | None = None
        if extensions.transport_seq_at is not None and leg is not None:
            self._send_side = leg.send_side
        if rewriter is None:
            rewriter = StreamRewriter(
                out_ssrc=self.stream.local_ssrc,
                out_payload_type=codec.payload_type,
                clock_rate=self.stream.clock_rate,
                extension_block=extensions.block,
                abs_send_time_at=extensions.abs_send_time_at,
                transport_seq_at=extensions.transport_seq_at,
                sent_history=(
                    self._send_side.estimator.history if self._send_side is not None else None
                ),
                first_sequence_number=random.randrange(0x8000),
                first_timestamp=random.randrange(1 << 32),
            )
        else:
            # The previous subscription's rewriter on this transceiver: the output carries
            # on from its last seq/ts (a new random start could trip SRTP's "index too old").
            if rewriter.out_ssrc != self.stream.local_ssrc:
                raise ValueError("a reused rewriter must belong to the same transceiver")
            rewriter.switch_source()
            rewriter.out_payload_type = codec.payload_type
        self.rewriter = rewriter
        if codec.rtx_payload_type is None:
            rtx = None
        elif rtx is None:
            rtx = RtxStream(
                ssrc=self.stream.local_rtx_ssrc,
                payload_type=codec.rtx_payload_type,
                first_sequence_number=random.randrange(0x8000),
            )
        else:
            rtx.payload_type = codec.rtx_payload_type
        self.rtx = rtx
        self.down_track = DownTrack(
            self._sink,
            rewriter,
            wait_for_keyframe=publication.forwarder.video,
            rtx=rtx,
            # ~4 s of 1 Mbit/s video: a NACK later than that is for a frame long gone.
            history_size=512 if codec.nack else 0,
        )
        self.loss_limit = LossLimit(lambda: self.down_track.sent_octets)
        """Caps this subscriber's bandwidth estimate when its receiver reports loss."""
        self._estimate_limit: int | None = None
        """The relay's own estimate's share, as a limit (when transport-cc runs on this leg)."""
        self._remb_limit: int | None = None
        self._remb_at: tuple[float, int] | None = None
        """When the last REMB came, and the payload octets sent by then."""
        self.keyframe_requests = 0
        self.remb_received = 0
        self.sender_reports_sent = 0
        self._attached = False
        self._listening = False
        self._closed = False
        rtcp_tap.route(self.stream.local_ssrc, self._on_feedback, video=publication.forwarder.video)
        if leg is not None:
            leg.watch(self.stream.local_ssrc, self.stream.clock_rate, self._on_downlink)
        if self._send_side is not None:
            video = publication.forwarder.video
            self._send_side.join(
                self,
                lambda: self.down_track.sent_octets,
                self._on_estimate if video else None,
                publication.upstream,
            )
        publication.add_sender_report_listener(self._on_sender_report)
        if self._dtls.state == "connected":
            self._attach()
        else:
            self._dtls.on("statechange", self._on_dtls_state)
            self._listening = True

    def _on_dtls_state(self) -> None:
        if self._dtls.state == "connected":
            self._attach()

    def _attach(self) -> None:
        if self._attached or self._closed:
            return
        self._attached = True
        self._stop_listening()
        self._publication.forwarder.add_down_track(self.down_track)

    def _stop_listening(self) -> None:
        # Only if registered: pyee raises KeyError for a listener it does not hold (the
        # transport may already have been connected when this subscription was created).
        if self._listening:
            self._listening = False
            self._dtls.remove_listener("statechange", self._on_dtls_state)

    async def _on_feedback(self, packet: RtcpPsfbPacket | RtcpRtpfbPacket) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            self.keyframe_requests += 1
            self._publication.forwarder.request_keyframe()
        elif isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            self._resend(packet.lost)
        elif isinstance(packet, RtcpPsfbPacket) and self._send_side is None:
            share = remb_share(packet, self._rtcp_tap.remb_sharers)
            if share is not None:
                self.remb_received += 1
                self._remb_limit = self._limiting(share[0])
                self._report_estimate()

    def _resend(self, lost: list[int]) -> None:
        """Answer a NACK from the history; with the relay's own estimate of this leg, no
        sooner than SendSide.resend_interval after the same packet's last resend and within
        the leg's retransmission budget."""
        send_side = self._send_side
        if send_side is None:
            self.down_track.handle_nack(lost)
            return
        self.down_track.handle_nack(
            lost,
            now=time.monotonic(),
            resend_interval=send_side.resend_interval(
                self._leg.rtt if self._leg is not None else None
            ),
            budget=send_side.retransmit_budget,
        )

    def _limiting(self, remb: int) -> int | None:
        """The subscriber's REMB as a limit for the publisher, or None if it is none.

        A publisher with its own estimator (transport-cc on its leg) needs a REMB only as a
        sign of congestion downstream: a receiver's estimate below what it now gets. One
        above it only follows the incoming rate (a receiver-side estimate grows to at most
        1.5 times it), and forwarded it would hold a sender whose encoder sends less than it
        may at that rate, so it never recovers from a dip. A publisher without one is told
        every estimate (its encoder's target comes from them)."""
        now = time.monotonic()
        octets = self.down_track.sent_octets
        last, self._remb_at = self._remb_at, (now, octets)
        if not self._publication.own_estimator:
            return remb
        if last is None or now - last[0] <= 0:
            return None
        rate = (octets - last[1]) * 8 / (now - last[0])
        return remb if remb < CONGESTED_BELOW * rate else None

    def _on_estimate(self, share: int, congested: bool) -> None:
        """This stream's share of the relay's own estimate of the subscriber's downlink
        (after each of its transport feedback packets, ~10 a second).

        A publisher without an estimator of its own is told every share (it is its
        encoder's target). One with its own (transport-cc on its leg) is told a share only
        while the estimate is held down by this downlink (a growing queue or loss seen in
        the feedback, until the estimate grows back past what the subscriber gets): the
        slowest such subscriber limits it. Otherwise the relay says nothing and the
        publisher's own estimate speaks; the estimate of a path that is not congested only
        follows what is sent (at most 1.5 times it), and passed on it would hold the
        publisher where it is: the ratchet of the REMB path."""
        if self._closed:
            return
        own = self._publication.own_estimator
        self._estimate_limit = share if congested or not own else None
        if self._estimate_limit is not None:
            COUNTERS.send_side_limits += 1
        self._report_estimate()

    def _report_estimate(self) -> None:
        """What this subscriber asks of the publisher: with the relay's own estimate
        (transport-cc towards it) its share; else the lower of its REMB (as a limit) and
        its loss cap; nothing when none limits it."""
        limits: list[float] = []
        if self._send_side is not None:
            if self._estimate_limit is not None:
                limits.append(self._estimate_limit)
        else:
            limits = [v for v in (self._remb_limit, self.loss_limit.cap) if v is not None]
        if limits:
            self._publication.report_bandwidth(self, int(min(limits)))
        else:
            self._publication.forget_bandwidth(self)

    def _on_downlink(self, report: DownlinkReport) -> None:
        """The subscriber's receiver report about this stream: loss may cap its estimate."""
        if self._closed or not self._publication.forwarder.video or self._send_side is not None:
            return  # with transport-cc the estimator's own loss half caps it
        before = self.loss_limit.cap
        cap = self.loss_limit.on_report(report.highest_sequence, report.packets_lost, report.at)
        if cap is None and before is None:
            return  # no cap, before or now: the REMB alone speaks
        # Reported again with every report while capped: the aggregator forgets an
        # estimate that is not refreshed.
        self._report_estimate()

    async def _on_sender_report(self, report: RtcpSrPacket) -> None:
        if not self._attached or self._closed:
            return
        packet = self.down_track.rewrite_sender_report(report)
        if packet is None:
            return
        try:
            await self._sink.send_rtcp(packet)
        except ConnectionError:
            return
        self.sender_reports_sent += 1
        if self._leg is not None:
            self._leg.sent_sender_report(self.stream.local_ssrc, report.sender_info.ntp_timestamp)

    def close(self) -> None:
        """Stop forwarding to this subscriber; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stop_listening()
        self._rtcp_tap.unroute(self.stream.local_ssrc)
        if self._send_side is not None:
            self._send_side.leave(self)
        if self._leg is not None:
            self._leg.forget(self.stream.local_ssrc)
        self._publication.remove_sender_report_listener(self._on_sender_report)
        self._publication.forget_bandwidth(self)
        self._sr_filter.close()
        self._publication.forwarder.remove_down_track(self.down_track)
        self._sink.close()
