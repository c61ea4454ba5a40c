"""A publisher's m-line on the relay's peer connection, tapped into a Forwarder."""

from __future__ import annotations

from typing import Any

from aiortc.rtp import RTCP_PSFB_PLI, RtcpPsfbPacket

from relay.dtls_sink import DtlsRtpSink
from relay.forwarder import Forwarder
from relay.keyframe_requests import KeyframeRequester
from relay.negotiated import NegotiatedStream, negotiated_stream
from relay.rtp_header import is_vp8_keyframe_start
from relay.transport_tap import RtpTap


class Publication:
    """Lifecycle: created after negotiation (recvonly transceiver on the relay side) → closed.

    The publisher's packets of the negotiated payload type go from the RtpTap straight to
    the Forwarder; aiortc's receiver and jitter buffer never see them. Keyframe requests
    go back as PLI over the same transport.
    """

    def __init__(
        self, transceiver: Any, rtp_tap: RtpTap, *, keyframe_interval: float = 0.5
    ) -> None:
        self.stream: NegotiatedStream = negotiated_stream(transceiver)
        self._rtp_tap = rtp_tap
        self._sink = DtlsRtpSink(transceiver.receiver.transport)
        video = self.stream.kind == "video"
        if video and self.stream.mime_type.lower() != "video/vp8":
            raise ValueError(f"{self.stream.mime_type}: only VP8 keyframes are recognised yet")
        self.forwarder = Forwarder(
            keyframe_requester=KeyframeRequester(self._send_pli, min_interval=keyframe_interval)
            if video
            else None,
            keyframe_detector=is_vp8_keyframe_start if video else None,
        )
        self.pli_sent = 0
        self._closed = False
        rtp_tap.route(self.stream.payload_type, self.forwarder.on_rtp)

    async def _send_pli(self) -> None:
        media_ssrc = self.forwarder.source_ssrc
        if media_ssrc is None:
            return  # nothing received yet: the publisher's first frame is a keyframe anyway
        pli = RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=self.stream.local_ssrc, media_ssrc=media_ssrc)
        await self._sink.send_rtcp(bytes(pli))
        self.pli_sent += 1

    async def close(self) -> None:
        """Stop tapping and close the forwarder and its down tracks; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._rtp_tap.unroute(self.stream.payload_type)
        self._sink.close()
        await self.forwarder.close()
