"""Send relay packets through a peer connection's SRTP session and ICE pair, as aiortc would."""

from __future__ import annotations

import logging

import pylibsrtp
from aiortc import RTCDtlsTransport

logger = logging.getLogger(__name__)


class DtlsRtpSink:
    """An RtpSink over an aiortc RTCDtlsTransport (its _tx_srtp session and ICE transport).

    Same steps as RTCDtlsTransport._send_rtp minus the per-packet RTCP check and counters.
    Sending before DTLS is connected, or after it closed, raises ConnectionError.
    """

    __slots__ = ("_closed", "_dtls", "_ice_send", "protect_errors")

    def __init__(self, dtls_transport: RTCDtlsTransport) -> None:
        self._dtls = dtls_transport
        self._ice_send = dtls_transport.transport._send
        self._closed = False
        self.protect_errors = 0

    async def send_rtp(self, packet: bytes) -> None:
        srtp = self._dtls._tx_srtp
        if srtp is None or self._closed:
            raise ConnectionError("SRTP is not set up on this transport")
        try:
            protected = srtp.protect(packet)
        except pylibsrtp.Error as exc:
            # e.g. "index too old": a sequence number far behind what this SSRC already sent.
            self.protect_errors += 1
            logger.debug("SRTP protect failed: %s", exc)
            return
        await self._ice_send(protected)

    async def send_rtcp(self, packet: bytes) -> None:
        srtp = self._dtls._tx_srtp
        if srtp is None or self._closed:
            raise ConnectionError("SRTP is not set up on this transport")
        await self._ice_send(srtp.protect_rtcp(packet))

    def close(self) -> None:
        """Refuse further sends; idempotent (the transport belongs to its peer connection)."""
        self._closed = True
