"""What SDP negotiation settled for one transceiver, read once so the hot path needs no lookups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relay.rtp_header import build_one_byte_extension_block

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"


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
    extension_ids: dict[str, int]
    """Header-extension URI → negotiated one-byte id."""

    def mid_extension_block(self) -> bytes:
        """The extension block a forwarded packet carries: our MID only, if negotiated."""
        ext_id = self.extension_ids.get(MID_URI)
        if ext_id is None:
            return b""
        return build_one_byte_extension_block([(ext_id, self.mid.encode())])


def negotiated_stream(transceiver: Any) -> NegotiatedStream:
    """Read a transceiver after setLocalDescription/setRemoteDescription have both run."""
    codecs = list(transceiver._codecs)
    if not codecs or transceiver.mid is None:
        raise ValueError("transceiver is not negotiated yet")
    primary = codecs[0]
    rtx = next(
        (
            c.payloadType
            for c in codecs
            if c.mimeType.lower().endswith("/rtx")
            and str(c.parameters.get("apt")) == str(primary.payloadType)
        ),
        None,
    )
    return NegotiatedStream(
        mid=str(transceiver.mid),
        kind=str(transceiver.kind),
        mime_type=str(primary.mimeType),
        payload_type=int(primary.payloadType),
        clock_rate=int(primary.clockRate),
        rtx_payload_type=rtx,
        local_ssrc=int(transceiver.sender._ssrc),
        extension_ids={str(e.uri): int(e.id) for e in transceiver._headerExtensions},
    )
