"""Send relay packets through a peer connection's SRTP session and ICE pair, as aiortc would."""

from __future__ import annotations

import logging
from typing import Any

import pylibsrtp
from aiortc import RTCDtlsTransport

logger = logging.getLogger(__name__)

_RTP_COMPONENT = 1


class DtlsRtpSink:
    """An RtpSink over an aiortc RTCDtlsTransport (its _tx_srtp session and ICE pair).

    send_rtp() is synchronous, because it is the hot path: protect, then one sendto() on
    the ICE pair aioice nominated (what aiortc's _send_rtp does through three coroutine
    layers). Sending before DTLS is connected, or after it closed, raises ConnectionError.
    """

    __slots__ = ("_closed", "_dtls", "_ice_send", "_nominated", "protect_errors")

    def __init__(self, dtls_transport: RTCDtlsTransport) -> None:
        self._dtls = dtls_transport
        ice = dtls_transport.transport
        self._ice_send = ice._send
        self._nominated: dict[int, Any] = ice._connection._nominated
        self._closed = False
        self.protect_errors = 0

    def send_rtp(self, packet: bytes) -> None:
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
        pair = self._nominated.get(_RTP_COMPONENT)
        if pair is None or pair.protocol.transport is None:
            raise ConnectionError("no ICE pair is nominated on this transport")
        pair.protocol.transport.sendto(protected, pair.remote_addr)

    async def send_rtcp(self, packet: bytes) -> None:
        srtp = self._dtls._tx_srtp
        if srtp is None or self._closed:
            raise ConnectionError("SRTP is not set up on this transport")
        await self._ice_send(srtp.protect_rtcp(packet))

    def close(self) -> None:
        """Refuse further sends; idempotent (the transport belongs to its peer connection)."""
        self._closed = True
