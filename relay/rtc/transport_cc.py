"""Transport-wide congestion control on a publisher's leg: negotiated from the client's offer,
fed by every RTP packet of the transport, fed back every 100 ms (relay/packet/
transport_feedback.py).

aiortc neither offers nor answers transport-cc, so the relay adds it to its answer itself
for the m-lines it receives on, with the id the client chose. On the m-lines it sends on,
the relay numbers its own packets and runs its own estimator on the client's feedback
(relay/rtc/send_side.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aiortc.rtcrtpparameters import RTCRtcpFeedback, RTCRtpHeaderExtensionParameters

from relay.metrics import COUNTERS
from relay.packet.rtp_header import one_byte_extension_u16
from relay.packet.transport_feedback import TransportFeedback
from relay.rtc import aiortc_compat
from relay.rtc.arrival_clock import ArrivalClock
from relay.rtc.dtls_sink import DtlsRtpSink
from relay.rtc.negotiated import TRANSPORT_CC_URI as TRANSPORT_CC_URI
from relay.rtc.periodic import Periodic
from relay.rtc.transport_tap import RtpTap

FEEDBACK_INTERVAL = 0.1
_EXTMAP = re.compile(r"^a=extmap:(\d+)(?:/\w+)? (\S+)", re.MULTILINE)
_RTCP_FB = re.compile(r"^a=rtcp-fb:(\d+|\*) transport-cc\s*$", re.MULTILINE)


def offered_extension_id(offer_sdp: str) -> int | None:
    """The one-byte id the client gave the transport-wide sequence extension, if it offered it."""
    for ext_id, uri in _EXTMAP.findall(offer_sdp):
        if uri == TRANSPORT_CC_URI and 1 <= int(ext_id) <= 14:
            return int(ext_id)
    return None


def offered_feedback_payload_types(offer_sdp: str) -> set[int] | None:
    """Payload types the client asked transport-cc feedback for (None: all, `*`)."""
    found = _RTCP_FB.findall(offer_sdp)
    if "*" in found:
        return None
    return {int(pt) for pt in found}


def answer_with_transport_cc(transceiver: Any, ext_id: int, payload_types: set[int] | None) -> None:
    """Add the extension and the codecs' transport-cc feedback to this m-line's answer."""
    extensions = aiortc_compat.header_extensions(transceiver)
    if not any(e.uri == TRANSPORT_CC_URI for e in extensions):
        extensions.append(RTCRtpHeaderExtensionParameters(id=ext_id, uri=TRANSPORT_CC_URI))
        aiortc_compat.set_header_extensions(transceiver, extensions)
    for codec in aiortc_compat.negotiated_codecs(transceiver):
        if str(codec.mimeType).lower().endswith("/rtx"):
            continue
        if payload_types is not None and int(codec.payloadType) not in payload_types:
            continue
        if not any(f.type == "transport-cc" for f in codec.rtcpFeedback):
            codec.rtcpFeedback = [*codec.rtcpFeedback, RTCRtcpFeedback(type="transport-cc")]


class TransportCc:
    """Lifecycle: start() → close(). Every RTP packet the tap sees goes to the feedback
    builder (its arrival time read once); a task sends the feedback every 100 ms."""

    def __init__(
        self,
        rtp_tap: RtpTap,
        sink: DtlsRtpSink,
        ext_id: int,
        sender_ssrc: Callable[[], int],
        media_ssrc: Callable[[], int | None],
    ) -> None:
        self._tap = rtp_tap
        self._sink = sink
        self._ext_id = ext_id
        self._sender_ssrc = sender_ssrc
        self._media_ssrc = media_ssrc
        self.feedback = TransportFeedback(sender_ssrc=0)
        self.arrivals = ArrivalClock(sink.receiving_socket)
        self._timer = Periodic(self._send_feedback, FEEDBACK_INTERVAL, "transport feedback")
        self.sent = 0

    def start(self) -> None:
        self._tap.set_packet_observer(self._on_packet)
        self._timer.start()

    def _on_packet(self, data: bytes) -> None:
        seq = one_byte_extension_u16(data, self._ext_id)
        if seq is not None:
            self.feedback.on_packet(seq, self.arrivals.now_us())

    async def _send_feedback(self) -> None:
        self.feedback.sender_ssrc = self._sender_ssrc()
        self.feedback.media_ssrc = self._media_ssrc() or 0
        packet = self.feedback.build()
        if packet is not None and await self._sink.send_rtcp_if_up(packet):
            self.sent += 1
            COUNTERS.transport_feedback_sent += 1

    async def close(self) -> None:
        self._tap.set_packet_observer(None)
        await self._timer.stop()
