"""Hooks on an aiortc RTCDtlsTransport: decrypted RTP/RTCP go to the relay, not the jitter buffer.

This is the only module (with dtls_sink.py) that relies on aiortc internals:
RTCDtlsTransport._recv_next() unprotects SRTP and then awaits
self._handle_rtp_data(data, arrival_time_ms=...) / self._handle_rtcp_data(data).
We shadow those two bound methods on the instance; aiortc keeps doing ICE, DTLS, SRTP
keys and SDP. close() removes the shadowing, restoring aiortc's own routing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from aiortc.rtp import AnyRtcpPacket, RtcpPacket

RtpHandler = Callable[[bytes], Awaitable[None]]
RtcpHandler = Callable[[list[AnyRtcpPacket]], Awaitable[None]]


class RtpTap:
    """Takes a publisher's RTP with the given payload types before aiortc parses it.

    Packets of other payload types (e.g. RTX, unless tapped) still go to aiortc's receiver.
    """

    def __init__(
        self, dtls_transport: Any, payload_types: Collection[int], handler: RtpHandler
    ) -> None:
        if "_handle_rtp_data" in vars(dtls_transport):
            raise RuntimeError("this transport already has an RTP tap")
        self._transport = dtls_transport
        self._original: Callable[..., Awaitable[None]] = dtls_transport._handle_rtp_data
        self._payload_types = frozenset(payload_types)
        self._handler = handler
        self._closed = False
        dtls_transport._handle_rtp_data = self._handle_rtp_data

    async def _handle_rtp_data(self, data: bytes, arrival_time_ms: int) -> None:
        if len(data) >= 12 and (data[1] & 0x7F) in self._payload_types:
            await self._handler(data)
        else:
            await self._original(data, arrival_time_ms=arrival_time_ms)

    def close(self) -> None:
        """Give the transport back to aiortc's own handler; idempotent."""
        if not self._closed:
            self._closed = True
            vars(self._transport).pop("_handle_rtp_data", None)


class RtcpTap:
    """Shows every decrypted RTCP compound packet to the relay, then to aiortc as before.

    aiortc keeps its RTT/loss statistics from receiver reports; the relay acts on
    PLI/FIR/NACK (and later REMB/transport-cc) for the SSRCs it sends.
    """

    def __init__(self, dtls_transport: Any, handler: RtcpHandler) -> None:
        if "_handle_rtcp_data" in vars(dtls_transport):
            raise RuntimeError("this transport already has an RTCP tap")
        self._transport = dtls_transport
        self._original: Callable[[bytes], Awaitable[None]] = dtls_transport._handle_rtcp_data
        self._handler = handler
        self._closed = False
        dtls_transport._handle_rtcp_data = self._handle_rtcp_data

    async def _handle_rtcp_data(self, data: bytes) -> None:
        try:
            packets = RtcpPacket.parse(data)
        except ValueError:
            packets = []
        if packets:
            await self._handler(packets)
        await self._original(data)

    def close(self) -> None:
        """Give the transport back to aiortc's own handler; idempotent."""
        if not self._closed:
            self._closed = True
            vars(self._transport).pop("_handle_rtcp_data", None)
