"""Send relay packets through a peer connection's SRTP session and ICE pair, as aiortc would."""

from __future__ import annotations

import logging
from typing import Any

import pylibsrtp
from aiortc import RTCDtlsTransport

from relay.rtc import aiortc_compat

logger = logging.getLogger(__name__)

_RTP_COMPONENT = 1


class DtlsRtpSink:
    """An RtpSink over an aiortc RTCDtlsTransport (its outgoing SRTP session and ICE pair).

    send_rtp() is synchronous, because it is the hot path: protect, then one sendto() on
    the ICE pair aioice nominated (what aiortc's _send_rtp does through three coroutine
    layers). Sending before DTLS is connected, or after it closed, raises ConnectionError.
    The SRTP session is looked up until DTLS has set it, then kept (aiortc never replaces it).
    """

    __slots__ = ("_closed", "_dtls", "_ice_send", "_nominated", "_srtp", "protect_errors")

    def __init__(self, dtls_transport: RTCDtlsTransport) -> None:
        self._dtls = dtls_transport
        ice = dtls_transport.transport
        self._ice_send = aiortc_compat.ice_send(ice)
        self._nominated: dict[int, Any] = aiortc_compat.nominated_pairs(
            aiortc_compat.ice_connection(ice)
        )
        self._srtp: Any = None
        self._closed = False
        self.protect_errors = 0

    def receiving_socket(self) -> int | None:
        """The file descriptor of the nominated pair's local socket (None before ICE chose):
        the relay's packets from this client arrive there (relay/rtc/arrival_clock.py)."""
        pair = self._nominated.get(1)
        transport = getattr(getattr(pair, "protocol", None), "transport", None)
        sock = None if transport is None else transport.get_extra_info("socket")
        return None if sock is None else int(sock.fileno())

    def _session(self) -> Any:
        """The outgoing SRTP session once DTLS is connected (ConnectionError before)."""
        srtp = self._srtp = aiortc_compat.tx_srtp(self._dtls)
        if srtp is None:
            raise ConnectionError("SRTP is not set up on this transport")
        return srtp

    def send_rtp(self, packet: bytes) -> None:
        if self._closed:
            raise ConnectionError("SRTP is not set up on this transport")
        srtp = self._srtp
        if srtp is None:
            srtp = self._session()
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
        if self._closed:
            raise ConnectionError("SRTP is not set up on this transport")
        srtp = self._srtp
        if srtp is None:
            srtp = self._session()
        await self._ice_send(srtp.protect_rtcp(packet))

    async def send_rtcp_if_up(self, packet: bytes) -> bool:
        """send_rtcp(), False instead of ConnectionError when the transport is not up: for
        the relay's own periodic RTCP, which simply tries again next time."""
        try:
            await self.send_rtcp(packet)
        except ConnectionError:
            return False
        return True

    def close(self) -> None:
        """Refuse further sends; idempotent (the transport belongs to its peer connection)."""
        self._closed = True
