"""Hooks on an aiortc RTCDtlsTransport: decrypted RTP/RTCP go to the relay, not the jitter buffer.

This module and dtls_sink.py hold the hooks into aiortc internals (negotiated.py only reads),
each named once in relay/rtc/aiortc_compat.py: RTCDtlsTransport._recv_next() unprotects SRTP
and then awaits self._handle_rtp_data(data, arrival_time_ms=...) or
self._handle_rtcp_data(data).
We shadow those two bound methods on the instance (and RTCRtpSender._send_rtcp, see
SenderReportFilter); aiortc keeps doing ICE, DTLS, SRTP keys and SDP. close() removes
the shadowing, giving routing back to aiortc.

RTP takes a shorter way still: aioice's Connection.data_received() (every datagram that
is not STUN) is shadowed too, so an SRTP packet is unprotected and forwarded right there,
synchronously, instead of being queued for _recv_next()'s task (a queue, a future and a
task switch per packet). RTCP, DTLS and anything we do not route go the usual way.
An exception escaping into _recv_next() would end the transport's receive loop, so
handlers' errors are logged here and never propagate.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pylibsrtp
from aiortc import clock
from aiortc.rtp import (
    RTCP_PSFB_APP,
    AnyRtcpPacket,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    is_rtcp,
)

from relay.packet.feedback_parse import split_compound
from relay.packet.rtp_header import RtpHeaderError, one_byte_extension_elements, parse_header
from relay.packet.transport_feedback import FMT_TRANSPORT_CC
from relay.rtc import aiortc_compat
from relay.rtc.bandwidth import parse_remb
from relay.rtc.ice_guard import DropCounters

logger = logging.getLogger(__name__)
_SSRC = struct.Struct("!I")  # at offset 8 of every RTP header; read without slicing

RtpHandler = Callable[[bytes], None]
"""Takes one decrypted RTP packet; synchronous (it runs inside the datagram callback)."""
FeedbackHandler = Callable[[RtcpPsfbPacket | RtcpRtpfbPacket], Awaitable[None]]
SenderReportHandler = Callable[[RtcpSrPacket], Awaitable[None]]
ReportBlockHandler = Callable[[RtcpReceiverInfo, float], None]
"""Takes one report block the remote sent (in an SR or an RR) and when it arrived."""
TransportFeedbackHandler = Callable[[bytes, float], None]
"""Takes one transport-wide feedback packet (RTPFB fmt 15, raw) and when it arrived."""


class RtpTap:
    """Takes a transport's RTP before aiortc parses it (one tap per transport).

    With BUNDLE several m-lines share one transport and often one payload type (a camera
    and a screen, both VP8), so a packet is routed by its SSRC once that is known. An
    unknown SSRC is resolved once: by the packet's MID header extension (RFC 8843; browsers
    and aiortc send it), else by the SSRCs the remote SDP announced for each m-line
    (aiortc's router table), else — when only one m-line uses that payload type — to that
    one. Packets of unrouted payload types (e.g. RTX) still go to aiortc's receiver.
    """

    def __init__(self, dtls_transport: Any, drops: DropCounters | None = None) -> None:
        try:
            self._shadow = aiortc_compat.shadow_handle_rtp_data(
                dtls_transport, self._handle_rtp_data
            )
        except aiortc_compat.AlreadyShadowed:
            raise RuntimeError("this transport already has an RTP tap") from None
        self._transport = dtls_transport
        self._drops = drops
        self._original: Callable[..., Awaitable[None]] = self._shadow.original
        self._rx_srtp: Any = None
        """The incoming SRTP session, kept once DTLS has set it (aiortc never replaces it)."""
        self._by_ssrc: dict[int, RtpHandler] = {}
        self._by_pt: dict[int, list[_Route]] = {}
        self._mid_ext_id: int | None = None
        self._observer: RtpHandler | None = None
        self._closed = False
        self._handed_back: set[asyncio.Task[None]] = set()
        self.unprotect_failed = 0
        # The ICE connection under the DTLS transport (absent in tests without ICE).
        self._ice_shadow: aiortc_compat.Shadow[Callable[[bytes, int], None]] | None = None
        self._ice_data_received: Callable[[bytes, int], None] | None = None
        ice = aiortc_compat.ice_connection_of(dtls_transport)
        if ice is not None:
            try:
                self._ice_shadow = aiortc_compat.shadow_data_received(ice, self._datagram)
            except aiortc_compat.AlreadyShadowed:
                pass
            else:
                self._ice_data_received = self._ice_shadow.original

    def route(
        self,
        payload_type: int,
        handler: RtpHandler,
        *,
        mid: str | None = None,
        receiver: Any = None,
        mid_extension_id: int | None = None,
    ) -> None:
        """Send packets of `payload_type` for m-line `mid` to `handler`.

        `receiver` is aiortc's RTCRtpReceiver of that m-line (its announced SSRCs);
        `mid_extension_id` the negotiated one-byte id of the MID header extension.
        """
        routes = self._by_pt.setdefault(payload_type, [])
        if any(r.mid == mid for r in routes):
            raise ValueError(f"payload type {payload_type} of mid {mid} is already routed")
        routes.append(_Route(mid, handler, receiver))
        if mid_extension_id is not None:
            self._mid_ext_id = mid_extension_id

    def unroute(self, payload_type: int, mid: str | None = None) -> None:
        routes = self._by_pt.get(payload_type, [])
        gone = [r for r in routes if r.mid == mid]
        self._by_pt[payload_type] = [r for r in routes if r.mid != mid]
        for route in gone:
            for ssrc in [s for s, h in self._by_ssrc.items() if h is route.handler]:
                del self._by_ssrc[ssrc]

    def set_packet_observer(self, observer: RtpHandler | None) -> None:
        """`observer` sees every decrypted RTP packet of the transport first, routed or not
        (RTX and padding probes included): transport-wide congestion control counts them all."""
        self._observer = observer

    def dispatch(self, data: bytes) -> bool:
        """Hand one decrypted RTP packet to its route; False if it has none (aiortc's then)."""
        if len(data) < 12 or self._closed:
            return False
        if self._observer is not None:
            try:
                self._observer(data)
            except Exception:
                logger.exception("relay RTP observer failed")
        handler = self._by_ssrc.get(_SSRC.unpack_from(data, 8)[0])
        if handler is None:
            handler = self._resolve(data)
            if handler is None:
                return False
        try:
            handler(data)
        except Exception:
            logger.exception("relay RTP handler failed")
        return True

    async def _handle_rtp_data(self, data: bytes, arrival_time_ms: int) -> None:
        """What aiortc's _recv_next() calls for RTP it unprotected itself."""
        if len(data) < 12:
            return
        if not self.dispatch(data):
            await self._original(data, arrival_time_ms=arrival_time_ms)

    def _datagram(self, data: bytes, component: int) -> None:
        """aioice hands us each non-STUN datagram: SRTP is unprotected and forwarded here."""
        srtp = self._rx_srtp
        if srtp is None:
            srtp = self._rx_srtp = aiortc_compat.rx_srtp(self._transport)
        if (
            srtp is None
            or self._closed
            or len(data) < 12
            or not 127 < data[0] < 192
            or is_rtcp(data)
        ):
            assert self._ice_data_received is not None
            self._ice_data_received(data, component)
            return
        try:
            plain = srtp.unprotect(data)
        except pylibsrtp.Error:
            # Forged, replayed or corrupt: counted, never logged (a flood would fill the log).
            self.unprotect_failed += 1
            if self._drops is not None:
                self._drops.srtp_auth += 1
            return
        if not self.dispatch(plain):
            # Already unprotected (a second unprotect would be a replay): aiortc's receiver
            # gets it through the handler _recv_next() would have called.
            task = asyncio.ensure_future(self._original(plain, arrival_time_ms=clock.current_ms()))
            self._handed_back.add(task)
            task.add_done_callback(self._handed_back.discard)

    def _resolve(self, data: bytes) -> RtpHandler | None:
        """First packet of a new SSRC: find its m-line and remember it."""
        routes = self._by_pt.get(data[1] & 0x7F)
        if not routes:
            return None
        ssrc: int = _SSRC.unpack_from(data, 8)[0]
        chosen = None
        mid = self._packet_mid(data)
        if mid is not None:
            chosen = next((r for r in routes if r.mid == mid), None)
        if chosen is None:
            receiver = aiortc_compat.ssrc_table(self._transport).get(ssrc)
            chosen = next(
                (r for r in routes if r.receiver is not None and r.receiver is receiver), None
            )
        if chosen is None and len(routes) == 1:
            chosen = routes[0]
        if chosen is None:
            return None  # ambiguous and unlabelled: aiortc's router decides (or drops) it
        self._by_ssrc[ssrc] = chosen.handler
        return chosen.handler

    def _packet_mid(self, data: bytes) -> str | None:
        if self._mid_ext_id is None:
            return None
        try:
            header = parse_header(data)
        except RtpHeaderError:
            return None
        for ext_id, value in one_byte_extension_elements(data, header):
            if ext_id == self._mid_ext_id:
                return value.decode("ascii", "replace")
        return None

    def close(self) -> None:
        """Give the transport back to aiortc's own handler; idempotent."""
        if not self._closed:
            self._closed = True
            self._by_ssrc.clear()
            self._by_pt.clear()
            self._shadow.restore()
            if self._ice_shadow is not None:
                self._ice_shadow.restore()


@dataclass(frozen=True, slots=True)
class _Route:
    mid: str | None
    handler: RtpHandler
    receiver: Any


class RtcpTap:
    """Routes feedback (PLI/FIR/NACK/REMB...) about the SSRCs the relay sends, and the remote's
    sender reports, then lets aiortc see the compound packet as before (it keeps RTT/loss
    statistics from receiver reports).

    Feedback is routed by `media_ssrc`, except REMB (PSFB fmt 15): its media_ssrc is 0 and
    the SSRCs it is about are in the FCI, so it goes once to each routed video SSRC listed
    there (a REMB says nothing an audio stream could act on).
    """

    def __init__(self, dtls_transport: Any, drops: DropCounters | None = None) -> None:
        try:
            self._shadow = aiortc_compat.shadow_handle_rtcp_data(
                dtls_transport, self._handle_rtcp_data
            )
        except aiortc_compat.AlreadyShadowed:
            raise RuntimeError("this transport already has an RTCP tap") from None
        self._transport = dtls_transport
        self._drops = drops
        self.rejected = 0
        """Compounds aiortc's own handler raised on (dropped, counted, not logged)."""
        self._original: Callable[[bytes], Awaitable[None]] = self._shadow.original
        self._routes: dict[int, FeedbackHandler] = {}
        self._video: set[int] = set()
        """Routed SSRCs that are video: those that share a REMB."""
        self._sr_handlers: list[SenderReportHandler] = []
        self._block_handler: ReportBlockHandler | None = None
        self._tcc_handler: TransportFeedbackHandler | None = None
        self._closed = False

    def route(self, media_ssrc: int, handler: FeedbackHandler, *, video: bool = True) -> None:
        self._routes[media_ssrc] = handler
        if video:
            self._video.add(media_ssrc)
        else:
            self._video.discard(media_ssrc)

    def unroute(self, media_ssrc: int) -> None:
        self._routes.pop(media_ssrc, None)
        self._video.discard(media_ssrc)

    def remb_sharers(self, ssrcs: list[int]) -> int:
        """How many of a REMB's listed SSRCs are video streams routed here (at least 1)."""
        return max(1, len(self._video.intersection(ssrcs)))

    def add_sender_report_handler(self, handler: SenderReportHandler) -> None:
        """Every SR the remote sends (any SSRC) goes to `handler`; it filters by `packet.ssrc`."""
        self._sr_handlers.append(handler)

    def remove_sender_report_handler(self, handler: SenderReportHandler) -> None:
        if handler in self._sr_handlers:
            self._sr_handlers.remove(handler)

    def set_report_block_handler(self, handler: ReportBlockHandler | None) -> None:
        """Every report block the remote sends (about the SSRCs the relay sends it) goes to
        `handler`, synchronously: the leg's round trip and downlink loss (relay/rtc/leg.py)."""
        self._block_handler = handler

    def set_transport_feedback_handler(self, handler: TransportFeedbackHandler | None) -> None:
        """Every transport-wide feedback packet the remote sends goes to `handler` raw,
        synchronously (aiortc's parser reads fmt 15 as a NACK list: it is not routed)."""
        self._tcc_handler = handler

    async def _handle_rtcp_data(self, data: bytes) -> None:
        tcc_handler = self._tcc_handler
        if tcc_handler is not None:
            arrived = time.monotonic()
            try:
                for feedback in split_compound(data):
                    tcc_handler(feedback, arrived)
            except Exception:  # never: parser and estimator are fuzzed; but never fatal
                logger.exception("transport feedback handler failed")
                self.rejected += 1
        if self._routes or self._sr_handlers or self._block_handler is not None:
            try:
                packets: list[AnyRtcpPacket] = RtcpPacket.parse(data)
            except ValueError:
                packets = []
            arrived = time.monotonic()
            for packet in packets:
                if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == FMT_TRANSPORT_CC:
                    continue  # not a NACK, whatever aiortc made of it
                if isinstance(packet, RtcpPsfbPacket | RtcpRtpfbPacket):
                    for handler in self._feedback_handlers(packet):
                        await self._call(handler, packet)
                elif isinstance(packet, RtcpSrPacket | RtcpRrPacket):
                    if self._block_handler is not None and packet.reports:
                        self._report_blocks(packet.reports, arrived)
                    if isinstance(packet, RtcpSrPacket):
                        for sr_handler in list(self._sr_handlers):
                            await self._call(sr_handler, packet)
        try:
            await self._original(data)
        except ConnectionError:
            raise  # aiortc's own way of saying the transport is gone
        except Exception:
            # e.g. struct.error from aiortc's REMB parsing (its router unpacks the FCI):
            # escaping, it would end _recv_next() and all RTCP of this transport with it.
            self.rejected += 1
            if self._drops is not None:
                self._drops.bad_rtcp += 1

    def _feedback_handlers(self, packet: RtcpPsfbPacket | RtcpRtpfbPacket) -> list[FeedbackHandler]:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            remb = parse_remb(packet.fci)
            if remb is None:
                return []
            listed = dict.fromkeys(s for s in remb[1] if s in self._video)
            return [self._routes[ssrc] for ssrc in listed]
        handler = self._routes.get(packet.media_ssrc)
        return [] if handler is None else [handler]

    def _report_blocks(self, blocks: list[RtcpReceiverInfo], arrived: float) -> None:
        handler = self._block_handler
        for block in blocks:
            if handler is None:
                return
            try:
                handler(block, arrived)
            except Exception:
                logger.exception("relay report block handler failed")

    @staticmethod
    async def _call(handler: Callable[[Any], Awaitable[None]], packet: object) -> None:
        try:
            await handler(packet)
        except Exception:
            logger.exception("relay RTCP handler failed")

    def close(self) -> None:
        """Give the transport back to aiortc's own handler; idempotent."""
        if not self._closed:
            self._closed = True
            self._routes.clear()
            self._sr_handlers.clear()
            self._block_handler = None
            self._tcc_handler = None
            self._shadow.restore()


class SenderReportFilter:
    """Stops a silent aiortc sender's own SRs: the relay sends the publisher's, rewritten.

    RTCRtpSender._run_rtcp() sends SR (NTP 0, RTP 0, counts 0 when its track never yields)
    + SDES every 0.5 to 1.5 s through self._send_rtcp(packets). We shadow that bound method on
    the sender *instance* and turn each SR into an RR from the same SSRC with the same report
    blocks, so the compound stays valid (RR + SDES, BYE at the end) and the subscriber's
    only SRs for this SSRC are ours. close() gives the sender its own method back.
    """

    def __init__(self, sender: Any) -> None:
        try:
            self._shadow = aiortc_compat.shadow_send_rtcp(sender, self._send_rtcp)
        except aiortc_compat.AlreadyShadowed:
            raise RuntimeError("this sender already has an RTCP filter") from None
        self._original: Callable[[list[AnyRtcpPacket]], Awaitable[None]] = self._shadow.original
        self._closed = False
        self.replaced = 0

    async def _send_rtcp(self, packets: list[AnyRtcpPacket]) -> None:
        out: list[AnyRtcpPacket] = []
        for packet in packets:
            if isinstance(packet, RtcpSrPacket):
                self.replaced += 1
                out.append(RtcpRrPacket(ssrc=packet.ssrc, reports=packet.reports))
            else:
                out.append(packet)
        await self._original(out)

    def close(self) -> None:
        """Give the sender its own _send_rtcp back; idempotent."""
        if not self._closed:
            self._closed = True
            self._shadow.restore()
