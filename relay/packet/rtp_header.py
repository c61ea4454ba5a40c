"""Read and rewrite RTP headers in place, because the hot path must not build packet objects."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

RTP_VERSION = 2
FIXED_HEADER_LENGTH = 12
ONE_BYTE_EXTENSION_PROFILE = 0xBEDE

_FIXED = struct.Struct("!BBHII")
_SEQ_TS_SSRC = struct.Struct("!HII")
_EXT_HEADER = struct.Struct("!HH")


class RtpHeaderError(ValueError):
    """The bytes are not a well-formed RTP packet."""


@dataclass(frozen=True, slots=True)
class RtpHeader:
    """The fixed header fields and the offsets of the blocks that follow them."""

    marker: bool
    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    csrc_end: int
    """Offset just past the CSRC list (where a header-extension block would start)."""
    extension_profile: int | None
    """0xBEDE (one-byte), 0x100x (two-byte) or None when the X bit is clear."""
    payload_offset: int
    """Offset of the first payload byte (past the CSRCs and the extension block)."""
    padding: bool


def parse_header(data: bytes | bytearray | memoryview) -> RtpHeader:
    """Parse the fixed header and locate the extension block and payload without copying."""
    length = len(data)
    if length < FIXED_HEADER_LENGTH:
        raise RtpHeaderError(f"RTP packet too short: {length} bytes")
    first, second, seq, ts, ssrc = _FIXED.unpack_from(data, 0)
    if first >> 6 != RTP_VERSION:
        raise RtpHeaderError(f"RTP version {first >> 6} is not 2")
    offset = FIXED_HEADER_LENGTH + 4 * (first & 0x0F)
    csrc_end = offset
    profile: int | None = None
    if first & 0x10:
        if offset + 4 > length:
            raise RtpHeaderError("RTP header extension truncated")
        profile, words = _EXT_HEADER.unpack_from(data, offset)
        offset += 4 + 4 * words
    if offset > length:
        raise RtpHeaderError("RTP header longer than the packet")
    return RtpHeader(
        marker=bool(second & 0x80),
        payload_type=second & 0x7F,
        sequence_number=seq,
        timestamp=ts,
        ssrc=ssrc,
        csrc_end=csrc_end,
        extension_profile=profile,
        payload_offset=offset,
        padding=bool(first & 0x20),
    )


def rewrite_header(
    buf: bytearray, *, payload_type: int, sequence_number: int, timestamp: int, ssrc: int
) -> None:
    """Overwrite payload type (keeping the marker bit), seq, timestamp and SSRC in place."""
    buf[1] = (buf[1] & 0x80) | payload_type
    _SEQ_TS_SSRC.pack_into(buf, 2, sequence_number, timestamp, ssrc)


def _one_byte_elements(
    data: bytes | bytearray | memoryview, pos: int, end: int
) -> Iterator[tuple[int, int, int]]:
    """(id, value offset, value size) of each element of a one-byte-header block (RFC 8285)
    whose elements run from `pos` to `end`."""
    while pos < end:
        byte = data[pos]
        if byte == 0:  # padding between elements
            pos += 1
            continue
        ext_id, size = byte >> 4, (byte & 0x0F) + 1
        if ext_id == 15:
            return
        yield ext_id, pos + 1, size
        pos += 1 + size


def one_byte_extension_elements(
    data: bytes | bytearray | memoryview, header: RtpHeader
) -> list[tuple[int, bytes]]:
    """List (id, value) of a one-byte-header extension block (RFC 8285), for tests and taps."""
    if header.extension_profile != ONE_BYTE_EXTENSION_PROFILE:
        return []
    elements = _one_byte_elements(data, header.csrc_end + 4, header.payload_offset)
    return [(ext_id, bytes(data[at : at + size])) for ext_id, at, size in elements]


def one_byte_extension_u16(data: bytes | bytearray | memoryview, ext_id: int) -> int | None:
    """The two-byte value of one-byte-header extension `ext_id` (a transport-wide sequence
    number), or None; straight from the bytes, for the per-packet path."""
    length = len(data)
    if length < FIXED_HEADER_LENGTH or not data[0] & 0x10:
        return None
    pos = FIXED_HEADER_LENGTH + 4 * (data[0] & 0x0F)
    if pos + 4 > length or data[pos] != 0xBE or data[pos + 1] != 0xDE:
        return None
    end = min(pos + 4 + 4 * ((data[pos + 2] << 8) | data[pos + 3]), length)
    for found, at, size in _one_byte_elements(data, pos + 4, end):
        if found == ext_id:
            return (data[at] << 8) | data[at + 1] if size == 2 and at + 2 <= end else None
    return None


def build_one_byte_extension_block(elements: list[tuple[int, bytes]]) -> bytes:
    """Encode (id, value) pairs as a padded one-byte-header extension block, or b"" if none."""
    body = bytearray()
    for ext_id, value in elements:
        if not 1 <= ext_id <= 14 or not 1 <= len(value) <= 16:
            raise ValueError(f"one-byte extension id {ext_id} / length {len(value)} invalid")
        body.append((ext_id << 4) | (len(value) - 1))
        body += value
    if not body:
        return b""
    body += b"\x00" * (-len(body) % 4)
    return _EXT_HEADER.pack(ONE_BYTE_EXTENSION_PROFILE, len(body) // 4) + bytes(body)


def replace_extension_block(
    data: bytes | bytearray | memoryview, header: RtpHeader, block: bytes
) -> bytearray:
    """Copy the packet with its extension block replaced by `block` (b"" drops it)."""
    out = bytearray(data[: header.csrc_end])
    if block:
        out[0] |= 0x10
        out += block
    else:
        out[0] &= 0xEF
    out += data[header.payload_offset :]
    return out


def payload_end(data: bytes | bytearray | memoryview, header: RtpHeader) -> int:
    """Offset just past the payload: the packet's end minus its padding (P bit)."""
    end = len(data)
    if header.padding and end > header.payload_offset:
        end -= data[end - 1]
    return end


def is_vp8_keyframe_start(data: bytes | bytearray | memoryview, header: RtpHeader) -> bool:
    """True if this packet starts a VP8 keyframe (RFC 7741 payload descriptor + header)."""
    pos = header.payload_offset
    end = payload_end(data, header)
    if pos >= end:
        return False
    first = data[pos]
    # S bit set and partition index 0: this is the first packet of a frame.
    if not first & 0x10 or first & 0x07:
        return False
    pos += 1
    if first & 0x80:  # X: extended control bits present
        if pos >= end:
            return False
        ext = data[pos]
        pos += 1
        if ext & 0x80:  # I: picture ID, 7 or 15 bits
            if pos >= end:
                return False
            pos += 2 if data[pos] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            pos += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX
            pos += 1
    if pos >= end:
        return False
    # VP8 payload header: P bit (bit 0) is 0 for a keyframe.
    return not data[pos] & 0x01


def padding_packet(*, payload_type: int, sequence_number: int, timestamp: int, ssrc: int) -> bytes:
    """A payload-less RTP packet (P bit, 4 bytes of padding): it takes a sequence number
    whose packet is lost for good, so the receiver's reassembly does not wait for it."""
    header = _FIXED.pack(0xA0, payload_type & 0x7F, sequence_number, timestamp, ssrc)
    return header + b"\x00\x00\x00\x04"


def rtx_packet(
    packet: bytes, header: RtpHeader, *, payload_type: int, sequence_number: int, ssrc: int
) -> bytes:
    """Wrap a sent packet as its RFC 4588 retransmission: the RTX stream's PT, seq and SSRC,
    and the original sequence number (OSN) in front of the payload."""
    out = bytearray(packet[: header.payload_offset])
    out += packet[2:4]  # OSN: the original packet's sequence number
    out += packet[header.payload_offset :]
    rewrite_header(
        out,
        payload_type=payload_type,
        sequence_number=sequence_number,
        timestamp=header.timestamp,
        ssrc=ssrc,
    )
    return bytes(out)


def rtx_original(data: bytes, header: RtpHeader, *, payload_type: int, ssrc: int) -> bytes | None:
    """The packet an RFC 4588 retransmission carries (its seq from the OSN, the media
    stream's PT and SSRC), or None for a padding-only RTX packet (bandwidth probing)."""
    end = payload_end(data, header)
    if end - header.payload_offset < 2:
        return None
    osn = (data[header.payload_offset] << 8) | data[header.payload_offset + 1]
    out = bytearray(data[: header.payload_offset])
    out[0] &= 0xDF  # the padding (if any) is not carried over
    out += data[header.payload_offset + 2 : end]
    rewrite_header(
        out, payload_type=payload_type, sequence_number=osn, timestamp=header.timestamp, ssrc=ssrc
    )
    return bytes(out)
