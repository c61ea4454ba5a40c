"""Which video codecs the relay can forward, and how one subscriber's m-line maps onto a source's.

The relay never decodes, so forwarding a codec needs only two things: spotting where a
keyframe starts (so a new subscriber starts decodable) and a payload type on the
subscriber's m-line that carries the same bitstream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from relay.packet.rtp_header import RtpHeader, is_vp8_keyframe_start, payload_end

KeyframeDetector = Callable[[bytes, RtpHeader], bool]

_H264_IDR = 5
_H264_SPS = 7
_H264_STAP_A = 24
_H264_FU_A = 28


def is_h264_keyframe_start(data: bytes | bytearray | memoryview, header: RtpHeader) -> bool:
    """True if this packet starts an H.264 keyframe (RFC 6184): an SPS or the first part of
    an IDR slice, alone, aggregated (STAP-A) or fragmented (FU-A)."""
    pos = header.payload_offset
    end = payload_end(data, header)
    if pos >= end:
        return False
    nal_type = data[pos] & 0x1F
    if nal_type in (_H264_IDR, _H264_SPS):
        return True
    if nal_type == _H264_FU_A:
        if pos + 1 >= end:
            return False
        fu_header = data[pos + 1]
        return bool(fu_header & 0x80) and (fu_header & 0x1F) in (_H264_IDR, _H264_SPS)
    if nal_type == _H264_STAP_A:
        pos += 1
        while pos + 2 < end:
            size = (data[pos] << 8) | data[pos + 1]
            if size == 0 or pos + 2 + size > end:
                return False
            if data[pos + 2] & 0x1F in (_H264_IDR, _H264_SPS):
                return True
            pos += 2 + size
    return False


_KEYFRAME_DETECTORS: dict[str, KeyframeDetector] = {
    "video/vp8": is_vp8_keyframe_start,
    "video/h264": is_h264_keyframe_start,
}
FORWARDABLE_VIDEO = frozenset(_KEYFRAME_DETECTORS)


def keyframe_detector(mime_type: str) -> KeyframeDetector:
    """The keyframe test for a video codec; ValueError if the relay cannot forward it."""
    detector = _KEYFRAME_DETECTORS.get(mime_type.lower())
    if detector is None:
        names = ", ".join(sorted(m.split("/")[1].upper() for m in FORWARDABLE_VIDEO))
        raise ValueError(f"{mime_type}: the relay forwards {names} video only")
    return detector


@dataclass(frozen=True, slots=True)
class CodecChoice:
    """One negotiated codec of an m-line (RTX entries are folded into `rtx_payload_type`)."""

    payload_type: int
    mime_type: str
    clock_rate: int
    parameters: Mapping[str, str]
    rtx_payload_type: int | None
    nack: bool = False
    """The receiver asks for retransmissions (a=rtcp-fb nack): only then is history kept."""

    @property
    def h264_mode(self) -> str:
        return str(self.parameters.get("packetization-mode", "0"))

    @property
    def h264_profile(self) -> str:
        """profile_idc as hex (first byte of profile-level-id; 42 = baseline)."""
        return str(self.parameters.get("profile-level-id", "42"))[:2].lower()

    def carries(self, source: CodecChoice) -> bool:
        """Can packets of `source` be sent under this payload type and be decoded?"""
        if self.mime_type.lower() != source.mime_type.lower():
            return False
        if self.clock_rate != source.clock_rate:
            return False
        if self.mime_type.lower() == "video/h264":
            return self.h264_mode == source.h264_mode and self.h264_profile == source.h264_profile
        return True


def matching_codec(candidates: Iterable[CodecChoice], source: CodecChoice) -> CodecChoice | None:
    """The subscriber's codec for `source`: an identical fmtp first, then any compatible one."""
    compatible = [c for c in candidates if c.carries(source)]
    for codec in compatible:
        if dict(codec.parameters) == dict(source.parameters):
            return codec
    return compatible[0] if compatible else None
