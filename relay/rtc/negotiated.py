"""What SDP negotiation settled for one transceiver, read once so the hot path needs no lookups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relay.packet.codecs import CodecChoice
from relay.packet.rtp_header import build_one_byte_extension_block
from relay.rtc import aiortc_compat

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
TRANSPORT_CC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"


@dataclass(frozen=True, slots=True)
class OutgoingExtensions:
    """The header-extension block every forwarded packet carries on one m-line."""

    block: bytes
    abs_send_time_at: int | None
    """Offset of the 3-byte abs-send-time value within `block`, stamped at each send."""
    transport_seq_at: int | None = None
    """Offset of the 2-byte transport-wide sequence number within `block` (when negotiated
    towards this subscriber: the relay's send-side estimator, relay/rtc/send_side.py)."""


@dataclass(frozen=True, slots=True)
class NegotiatedStream:
    """Codec and identifiers of one m-line after negotiation (from aiortc's transceiver)."""

    mid: str
    kind: str
    mime_type: str
    payload_type: int
    clock_rate: int
    rtx_payload_type: int | None
    local_ssrc: int
    """The SSRC our side sends with (for a recvonly m-line: the RTCP sender SSRC)."""
    local_rtx_ssrc: int
    """Our SSRC for retransmissions (RFC 4588), announced in the SDP when RTX is negotiated."""
    extension_ids: dict[str, int]
    """Header-extension URI → negotiated one-byte id."""
    codecs: tuple[CodecChoice, ...]
    """Every negotiated media codec, preferred first (the first is the one we send/receive)."""

    @property
    def primary(self) -> CodecChoice:
        return self.codecs[0]

    def outgoing_extensions(self) -> OutgoingExtensions:
        """Our MID (browsers demultiplex by it) and, when negotiated, an abs-send-time the
        relay stamps as it sends, so the subscriber's delay-based bandwidth estimate (its
        REMB) measures the relay→subscriber path. The publisher's own values describe
        another peer connection and are dropped."""
        elements: list[tuple[int, bytes]] = []
        mid_id = self.extension_ids.get(MID_URI)
        if mid_id is not None:
            elements.append((mid_id, self.mid.encode()))
        ast_id = self.extension_ids.get(ABS_SEND_TIME_URI)
        abs_send_time_at = None
        if ast_id is not None:
            # 4 bytes of block header, the elements before it, then its own id/length byte.
            abs_send_time_at = 4 + sum(1 + len(value) for _id, value in elements) + 1
            elements.append((ast_id, b"\x00\x00\x00"))
        tcc_id = self.extension_ids.get(TRANSPORT_CC_URI)
        transport_seq_at = None
        if tcc_id is not None:
            transport_seq_at = 4 + sum(1 + len(value) for _id, value in elements) + 1
            elements.append((tcc_id, b"\x00\x00"))
        return OutgoingExtensions(
            build_one_byte_extension_block(elements), abs_send_time_at, transport_seq_at
        )


def negotiated_stream(transceiver: Any) -> NegotiatedStream:
    """Read a transceiver after setLocalDescription/setRemoteDescription have both run."""
    raw = aiortc_compat.negotiated_codecs(transceiver)
    if not raw or transceiver.mid is None:
        raise ValueError("transceiver is not negotiated yet")
    codecs = codec_choices(raw)
    if not codecs:
        raise ValueError("transceiver negotiated no media codec")
    primary = codecs[0]
    local_ssrc, local_rtx_ssrc = aiortc_compat.sender_ssrcs(transceiver.sender)
    return NegotiatedStream(
        mid=str(transceiver.mid),
        kind=str(transceiver.kind),
        mime_type=primary.mime_type,
        payload_type=primary.payload_type,
        clock_rate=primary.clock_rate,
        rtx_payload_type=primary.rtx_payload_type,
        local_ssrc=local_ssrc,
        local_rtx_ssrc=local_rtx_ssrc,
        extension_ids={str(e.uri): int(e.id) for e in aiortc_compat.header_extensions(transceiver)},
        codecs=codecs,
    )


def codec_choices(raw: list[Any]) -> tuple[CodecChoice, ...]:
    """aiortc's negotiated codec list (RTCRtpCodecParameters) → media codecs with their RTX.

    One pass for the RTX entries, then one per codec (a join reads a dozen such lists)."""
    rtx_of: dict[str, int] = {}
    for codec in raw:
        if _is_rtx(codec):
            rtx_of.setdefault(str(codec.parameters.get("apt")), int(codec.payloadType))
    return tuple(
        CodecChoice(
            payload_type=int(c.payloadType),
            mime_type=str(c.mimeType),
            clock_rate=int(c.clockRate),
            parameters={str(k): str(v) for k, v in (c.parameters or {}).items()},
            rtx_payload_type=rtx_of.get(str(c.payloadType)),
            nack=any(f.type == "nack" and not f.parameter for f in c.rtcpFeedback or ()),
        )
        for c in raw
        if not _is_rtx(c)
    )


def _is_rtx(codec: Any) -> bool:
    return str(codec.mimeType).lower().endswith("/rtx")
