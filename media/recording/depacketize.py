"""RTP payloads → encoded frames (VP8, H.264, Opus), without decoding anything.

A video frame is the packets of one RTP timestamp, from the packet that starts it to the
one with the marker bit, with no sequence number missing in between. An incomplete frame
is left out, and so is every frame after it up to the next keyframe: a decoder given a
frame whose reference is missing shows garbage, a player given nothing holds the last
picture. Opus: one packet is one frame.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from media.recording.timeline import RtpPacket

ANNEX_B = b"\x00\x00\x00\x01"
_H264_IDR, _H264_SPS, _H264_PPS = 5, 7, 8
_H264_STAP_A, _H264_FU_A = 24, 28


@dataclass(frozen=True, slots=True)
class Frame:
    data: bytes
    wall_us: int
    """Capture time on the relay's clock."""
    keyframe: bool
    width: int = 0
    height: int = 0
    """From a keyframe's header (0 if not a keyframe or unknown)."""


@dataclass(slots=True)
class FrameStats:
    frames: int = 0
    incomplete: int = 0
    """Frames left out because a packet of theirs was never recorded."""
    skipped: int = 0
    """Whole frames left out while waiting for a keyframe."""


def _groups(packets: list[RtpPacket]) -> Iterator[list[RtpPacket]]:
    """Packets of one RTP timestamp (and one SSRC), in sequence order."""
    group: list[RtpPacket] = []
    for packet in packets:
        if group and (packet.timestamp != group[0].timestamp or packet.ssrc != group[0].ssrc):
            yield group
            group = []
        group.append(packet)
    if group:
        yield group


def _contiguous(group: list[RtpPacket]) -> bool:
    return all(b.seq == a.seq + 1 for a, b in itertools.pairwise(group))


# --- VP8 (RFC 7741) ---------------------------------------------------------------------


def vp8_descriptor_length(payload: bytes) -> int:
    """Bytes of the VP8 payload descriptor in front of the VP8 data (0 if malformed)."""
    if not payload:
        return 0
    pos = 1
    if payload[0] & 0x80:  # X
        if len(payload) < 2:
            return 0
        ext = payload[1]
        pos = 2
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            if pos >= len(payload):
                return 0
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:  # L
            pos += 1
        if ext & 0x30:  # T or K
            pos += 1
    return pos if pos <= len(payload) else 0


def vp8_frame(group: list[RtpPacket]) -> bytes | None:
    """The VP8 frame the group carries, or None if it is incomplete."""
    first = group[0].payload
    if not first or not first[0] & 0x10 or first[0] & 0x07:  # S=1 and partition 0
        return None
    if not group[-1].marker or not _contiguous(group):
        return None
    parts = []
    for packet in group:
        skip = vp8_descriptor_length(packet.payload)
        if skip == 0:
            return None
        parts.append(packet.payload[skip:])
    return b"".join(parts)


def vp8_keyframe_size(frame: bytes) -> tuple[int, int] | None:
    """(width, height) if the frame is a keyframe (RFC 6386 §9.1)."""
    if len(frame) < 10 or frame[0] & 0x01 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(frame[6:8], "little") & 0x3FFF
    height = int.from_bytes(frame[8:10], "little") & 0x3FFF
    return width, height


# --- H.264 (RFC 6184, packetization-mode 1) ------------------------------------------


def h264_nal_units(group: list[RtpPacket]) -> list[bytes] | None:
    """The NAL units of one access unit, or None if a packet or fragment is missing."""
    if not group[-1].marker or not _contiguous(group):
        return None
    units: list[bytes] = []
    fragment: bytearray | None = None
    for packet in group:
        payload = packet.payload
        if not payload:
            continue
        kind = payload[0] & 0x1F
        if kind == _H264_STAP_A:
            pos = 1
            while pos + 2 <= len(payload):
                size = int.from_bytes(payload[pos : pos + 2], "big")
                pos += 2
                if size == 0 or pos + size > len(payload):
                    return None
                units.append(payload[pos : pos + size])
                pos += size
        elif kind == _H264_FU_A:
            if len(payload) < 2:
                return None
            start, end = payload[1] & 0x80, payload[1] & 0x40
            if start:
                fragment = bytearray([(payload[0] & 0xE0) | (payload[1] & 0x1F)])
            elif fragment is None:
                return None  # its start was lost
            fragment += payload[2:]
            if end:
                units.append(bytes(fragment))
                fragment = None
        elif 1 <= kind <= 23:
            units.append(payload)
    return units if units and fragment is None else None


class _Bits:
    """Exp-Golomb reader over an RBSP (emulation prevention bytes removed)."""

    def __init__(self, data: bytes) -> None:
        self.data = data.replace(b"\x00\x00\x03", b"\x00\x00")
        self.pos = 0

    def bit(self) -> int:
        byte = self.data[self.pos >> 3] if self.pos >> 3 < len(self.data) else 0
        self.pos += 1
        return (byte >> (7 - ((self.pos - 1) & 7))) & 1

    def bits(self, n: int) -> int:
        value = 0
        for _ in range(n):
            value = (value << 1) | self.bit()
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0 and zeros < 32:
            zeros += 1
        return (1 << zeros) - 1 + self.bits(zeros)

    def se(self) -> int:
        value = self.ue()
        return (value + 1) // 2 if value & 1 else -(value // 2)


def h264_sps_size(sps: bytes) -> tuple[int, int] | None:
    """(width, height) from a sequence parameter set NAL unit (ITU-T H.264 §7.3.2.1)."""
    try:
        bits = _Bits(sps[1:])
        profile = bits.bits(8)
        bits.bits(16)  # constraint flags, level
        bits.ue()  # sps id
        chroma_format = 1
        if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
            chroma_format = bits.ue()
            if chroma_format == 3:
                bits.bit()
            bits.ue()
            bits.ue()
            bits.bit()
            if bits.bit():  # scaling matrices present
                for i in range(8 if chroma_format != 3 else 12):
                    if bits.bit():
                        last = following = 8
                        for _ in range(16 if i < 6 else 64):
                            if following:
                                following = (last + bits.se() + 256) % 256
                            last = following or last
        bits.ue()  # log2_max_frame_num
        poc_type = bits.ue()
        if poc_type == 0:
            bits.ue()
        elif poc_type == 1:
            bits.bit()
            bits.se()
            bits.se()
            for _ in range(bits.ue()):
                bits.se()
        bits.ue()  # max_num_ref_frames
        bits.bit()
        width_mbs = bits.ue() + 1
        height_units = bits.ue() + 1
        frame_mbs_only = bits.bit()
        if not frame_mbs_only:
            bits.bit()
        bits.bit()  # direct_8x8_inference
        crop = [0, 0, 0, 0]
        if bits.bit():
            crop = [bits.ue() for _ in range(4)]
        crop_x = 2 if chroma_format in (1, 2) else 1
        crop_y = (2 if chroma_format == 1 else 1) * (2 - frame_mbs_only)
        width = width_mbs * 16 - crop_x * (crop[0] + crop[1])
        height = height_units * 16 * (2 - frame_mbs_only) - crop_y * (crop[2] + crop[3])
    except IndexError:
        return None
    return (width, height) if width > 0 and height > 0 else None


# --- frames ------------------------------------------------------------------------------


def _span_end(wall_us: int, spans: Sequence[tuple[int, int]]) -> int | None:
    """The end of the span `wall_us` falls in, or None."""
    return next((end for start, end in spans if start <= wall_us < end), None)


def video_frames(
    packets: list[RtpPacket],
    mime_type: str,
    stats: FrameStats,
    exclude: Sequence[tuple[int, int]] = (),
) -> Iterator[Frame]:
    """Complete, decodable frames of one track in sequence order (VP8 or H.264), none
    placed inside an `exclude` span (µs, relay clock).

    A frame captured inside a span was recorded after it (the recorder takes nothing while
    paused): a sender running late. It is placed at the span's end, not left out: the
    keyframe asked for at the resume is often such a frame, and without it nothing could be
    decoded until the sender's next keyframe (a screen share may send none for minutes)."""
    h264 = mime_type.lower() == "video/h264"
    need_keyframe = True
    last_seq: int | None = None
    last_ssrc: int | None = None
    sps: bytes | None = None
    pps: bytes | None = None
    for group in _groups(packets):
        head = group[0]
        if last_seq is not None and (head.ssrc != last_ssrc or head.seq != last_seq + 1):
            need_keyframe = True  # a whole frame may be missing: references are broken
        last_seq, last_ssrc = group[-1].seq, head.ssrc
        size: tuple[int, int] | None = None
        if h264:
            units = h264_nal_units(group)
            if units is None:
                stats.incomplete += 1
                need_keyframe = True
                continue
            kinds = {u[0] & 0x1F for u in units}
            for unit in units:
                if unit[0] & 0x1F == _H264_SPS:
                    sps = unit
                elif unit[0] & 0x1F == _H264_PPS:
                    pps = unit
            keyframe = _H264_IDR in kinds
            if keyframe:
                if _H264_SPS not in kinds and sps is not None and pps is not None:
                    units = [sps, pps, *units]  # every keyframe decodable on its own
                size = h264_sps_size(sps) if sps is not None else None
                if size is None:
                    keyframe = False  # not decodable without its parameter sets
            data = b"".join(ANNEX_B + unit for unit in units)
        else:
            frame = vp8_frame(group)
            if frame is None:
                stats.incomplete += 1
                need_keyframe = True
                continue
            size = vp8_keyframe_size(frame)
            keyframe = size is not None
            data = frame
        if need_keyframe and not keyframe:
            stats.skipped += 1
            continue
        need_keyframe = False
        stats.frames += 1
        width, height = size if size is not None else (0, 0)
        wall_us = head.wall_us
        if exclude:
            wall_us = _span_end(wall_us, exclude) or wall_us
        yield Frame(data, wall_us, keyframe, width, height)


def opus_frames(
    packets: list[RtpPacket], stats: FrameStats, exclude: Sequence[tuple[int, int]] = ()
) -> Iterator[Frame]:
    for packet in packets:
        if exclude and _span_end(packet.wall_us, exclude) is not None:
            stats.skipped += 1
        elif packet.payload:
            stats.frames += 1
            yield Frame(packet.payload, packet.wall_us, True)
