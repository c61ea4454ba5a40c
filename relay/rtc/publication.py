"""A publisher's m-line on the relay's peer connection, tapped into a Forwarder."""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from aiortc.rtp import (
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRtpfbPacket,
    RtcpSrPacket,
)

from relay.metrics import COUNTERS
from relay.packet.codecs import keyframe_detector
from relay.packet.keyframe_requests import KeyframeRequester
from relay.packet.receive_statistics import ReceiveStatistics
from relay.packet.rtp_header import RtpHeaderError, parse_header, rtx_original
from relay.packet.upstream_repair import UpstreamRepair
from relay.rtc.bandwidth import RembAggregator, remb_packet
from relay.rtc.dtls_sink import DtlsRtpSink
from relay.rtc.forwarder import Forwarder
from relay.rtc.negotiated import MID_URI, NegotiatedStream, negotiated_stream
from relay.rtc.transport_cc import TRANSPORT_CC_URI
from relay.rtc.transport_tap import RtcpTap, RtpTap

logger = logging.getLogger(__name__)

SenderReportListener = Callable[[RtcpSrPacket], Awaitable[None]]
_SEQ_TS_SSRC = struct.Struct("!HII")  # at offset 2 of every RTP header


class Publication:
    """Lifecycle: created after negotiation (recvonly transceiver on the relay side) → closed.

    The publisher's packets of the negotiated payload type go from the RtpTap straight to
    the Forwarder; aiortc's receiver and jitter buffer never see them. Keyframe requests
    go back as PLI over the same transport, and subscribers' bandwidth estimates as one
    REMB (their minimum, at most one per `remb_interval`). With an RtcpTap on the
    publisher's transport, its sender reports for this stream go to every listener
    (each Subscription rewrites them for its subscriber). When the publisher takes NACKs,
    packets lost on its way here are asked for again (UpstreamRepair), and its RTX
    retransmissions are unwrapped and forwarded like the originals.
    """

    def __init__(
        self,
        transceiver: Any,
        rtp_tap: RtpTap,
        rtcp_tap: RtcpTap | None = None,
        *,
        keyframe_interval: float = 0.5,
        remb_interval: float = 0.2,
    ) -> None:
        self.stream: NegotiatedStream = negotiated_stream(transceiver)
        self._rtp_tap = rtp_tap
        self.upstream: object = transceiver.receiver.transport
        """The publisher's transport: publications sharing it are one publisher's."""
        self._sink = DtlsRtpSink(transceiver.receiver.transport)
        video = self.stream.kind == "video"
        self.repair = (
            UpstreamRepair(self._send_nack, on_unrepairable=self._on_unrepairable)
            if self.stream.primary.nack
            else None
        )
        self.rtx_received = 0
        self.receive = ReceiveStatistics(self.stream.clock_rate)
        """What arrived of the publisher's original packets (retransmissions not counted:
        the loss its receiver reports show is the leg's, before repair)."""
        self._receive_ssrc: int | None = None
        self.forwarder = Forwarder(
            keyframe_requester=KeyframeRequester(self._send_pli, min_interval=keyframe_interval)
            if video
            else None,
            keyframe_detector=keyframe_detector(self.stream.mime_type) if video else None,
            repair=self.repair,
        )
        self.bandwidth = RembAggregator(self._send_remb, min_interval=remb_interval)
        self.pli_sent = 0
        self.remb_sent = 0
        self.sender_reports = 0
        self._sr_listeners: list[SenderReportListener] = []
        self._rtcp_tap = rtcp_tap
        self._closed = False
        rtp_tap.route(
            self.stream.payload_type,
            self._on_media,
            mid=self.stream.mid,
            receiver=transceiver.receiver,
            mid_extension_id=self.stream.extension_ids.get(MID_URI),
        )
        if self.stream.rtx_payload_type is not None:
            rtp_tap.route(
                self.stream.rtx_payload_type,
                self._on_rtx,
                mid=self.stream.mid,
                receiver=transceiver.receiver,
                mid_extension_id=self.stream.extension_ids.get(MID_URI),
            )
        if rtcp_tap is not None:
            rtcp_tap.add_sender_report_handler(self._on_sender_report)

    @property
    def reporter_ssrc(self) -> int:
        """The SSRC the relay's receiver reports to this publisher are sent from."""
        return self.stream.local_ssrc

    @property
    def own_estimator(self) -> bool:
        """The publisher runs its own bandwidth estimator on this leg (transport-cc)."""
        return TRANSPORT_CC_URI in self.stream.extension_ids

    @property
    def source_ssrc(self) -> int | None:
        """The publisher's current SSRC, once a packet has arrived."""
        return self.forwarder.source_ssrc

    def _on_media(self, data: bytes) -> None:
        """One original packet from the publisher (the RtpTap checked it has a header)."""
        seq, timestamp, ssrc = _SEQ_TS_SSRC.unpack_from(data, 2)
        if ssrc != self._receive_ssrc:
            self._receive_ssrc = ssrc
            self.receive = ReceiveStatistics(self.stream.clock_rate)
        self.receive.on_packet(seq, timestamp, time.monotonic())
        self.forwarder.on_rtp(data)

    def receive_report(self, now: float) -> RtcpReceiverInfo | None:
        """The report block about this stream for the next receiver report to the publisher."""
        if self._closed or self._receive_ssrc is None:
            return None
        return self.receive.report_block(self._receive_ssrc, now)

    def set_round_trip(self, rtt: float) -> None:
        """The leg's measured round trip paces upstream NACKs and keyframe requests."""
        if self.repair is not None:
            self.repair.set_round_trip(rtt)
        requester = self.forwarder.keyframe_requester
        if requester is not None:
            requester.set_round_trip(rtt)

    def _on_unrepairable(self, lost: list[int]) -> None:
        self.forwarder.restart_at_keyframe(lost)

    def _on_rtx(self, data: bytes) -> None:
        """A retransmission from the publisher: forward the packet it carries."""
        source_ssrc = self.forwarder.source_ssrc
        if source_ssrc is None:
            return
        try:
            original = rtx_original(
                data,
                parse_header(data),
                payload_type=self.stream.payload_type,
                ssrc=source_ssrc,
            )
        except RtpHeaderError:
            return
        if original is not None:  # None: padding only (the publisher probing bandwidth)
            if self.repair is not None:
                self.repair.retransmitted(_SEQ_TS_SSRC.unpack_from(original, 2)[0])
            self.rtx_received += 1
            COUNTERS.rtx_received += 1
            self.forwarder.on_rtp(original)

    def report_bandwidth(self, subscriber: Hashable, bitrate: int) -> None:
        """One subscriber's estimate for this stream (bits per second)."""
        self.bandwidth.report(subscriber, bitrate)

    def forget_bandwidth(self, subscriber: Hashable) -> None:
        self.bandwidth.remove(subscriber)

    def add_sender_report_listener(self, listener: SenderReportListener) -> None:
        self._sr_listeners.append(listener)

    def remove_sender_report_listener(self, listener: SenderReportListener) -> None:
        if listener in self._sr_listeners:
            self._sr_listeners.remove(listener)

    async def _on_sender_report(self, report: RtcpSrPacket) -> None:
        if self._closed or report.ssrc != self.forwarder.source_ssrc:
            return
        self.sender_reports += 1
        if report.ssrc == self._receive_ssrc:
            self.receive.on_sender_report(report.sender_info.ntp_timestamp, time.monotonic())
        for listener in list(self._sr_listeners):
            try:
                await listener(report)
            except Exception:
                logger.exception("sender report listener failed")

    async def _send_remb(self, bitrate: int) -> None:
        media_ssrc = self.forwarder.source_ssrc
        if media_ssrc is None:
            return
        await self._sink.send_rtcp(
            remb_packet(
                sender_ssrc=self.stream.local_ssrc, media_ssrcs=[media_ssrc], bitrate=bitrate
            )
        )
        self.remb_sent += 1

    async def _send_nack(self, lost: list[int]) -> None:
        media_ssrc = self.forwarder.source_ssrc
        if media_ssrc is None:
            return
        nack = RtcpRtpfbPacket(
            fmt=RTCP_RTPFB_NACK, ssrc=self.stream.local_ssrc, media_ssrc=media_ssrc
        )
        nack.lost = sorted(lost)
        await self._sink.send_rtcp(bytes(nack))
        COUNTERS.nacks_sent += 1

    async def _send_pli(self) -> None:
        media_ssrc = self.forwarder.source_ssrc
        if media_ssrc is None:
            return  # nothing received yet: the publisher's first frame is a keyframe anyway
        pli = RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=self.stream.local_ssrc, media_ssrc=media_ssrc)
        await self._sink.send_rtcp(bytes(pli))
        self.pli_sent += 1
        COUNTERS.plis_sent += 1

    async def close(self) -> None:
        """Stop tapping and close the forwarder and its down tracks; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._rtp_tap.unroute(self.stream.payload_type, self.stream.mid)
        if self.stream.rtx_payload_type is not None:
            self._rtp_tap.unroute(self.stream.rtx_payload_type, self.stream.mid)
        if self._rtcp_tap is not None:
            self._rtcp_tap.remove_sender_report_handler(self._on_sender_report)
        self._sr_listeners.clear()
        await self.bandwidth.close()
        self._sink.close()
        await self.forwarder.close()
