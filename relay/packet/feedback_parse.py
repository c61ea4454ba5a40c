"""Reading a subscriber's transport-wide feedback (RTCP RTPFB fmt 15, draft-holmer-rmcat-
transport-wide-cc-extensions-01 §3.1): which of the packets the relay numbered arrived, and
when, relative to the feedback's reference time.

The input is hostile by assumption (docs/security.md): every length is checked against the
bytes present, a packet that does not add up is refused whole (None), and the work done is
bounded by the packet's length, not by the counts it claims. Runs of "not received" are
never expanded: only received packets are listed (each costs at least one delta byte).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from relay.packet.transport_feedback import DELTA_US, FMT_TRANSPORT_CC, REFERENCE_US, RTPFB

_HEADER = struct.Struct("!BBH")
_BODY = struct.Struct("!IIHHI")
_MIN_LENGTH = _HEADER.size + _BODY.size


@dataclass(frozen=True, slots=True)
class FeedbackReport:
    base: int
    """The 16-bit transport-wide sequence number of the first packet covered."""
    count: int
    """How many consecutive numbers from `base` this feedback covers."""
    feedback_count: int
    """The receiver's 8-bit counter of feedback packets (to spot lost feedback)."""
    reference_us: int
    """The 24-bit reference time in µs (multiples of 64 ms; wraps every ~17.9 minutes)."""
    received: tuple[tuple[int, int], ...]
    """(offset from `base`, arrival in µs after the reference time) per received packet."""


def parse_transport_feedback(packet: bytes) -> FeedbackReport | None:
    """One RTCP packet (header included, as found in a compound packet) or None if it is
    not a well-formed transport-wide feedback."""
    if len(packet) < _MIN_LENGTH:
        return None
    first, packet_type, length = _HEADER.unpack_from(packet)
    if first >> 6 != 2 or first & 0x1F != FMT_TRANSPORT_CC or packet_type != RTPFB:
        return None
    size = 4 * (length + 1)
    if size > len(packet) or size < _MIN_LENGTH:
        return None
    end = size
    if first & 0x20:
        padding = packet[size - 1]
        if padding == 0 or padding > size - _MIN_LENGTH:
            return None
        end -= padding
    _sender, _media, base, count, word = _BODY.unpack_from(packet, _HEADER.size)
    if count == 0:
        return None
    offset = _MIN_LENGTH
    runs: list[tuple[int, int, int]] = []  # (start, length, symbol) of received runs
    covered = 0
    while covered < count:
        if offset + 2 > end:
            return None
        (chunk,) = struct.unpack_from("!H", packet, offset)
        offset += 2
        if chunk >> 15 == 0:  # run length: symbol, 13-bit length
            symbol, run = (chunk >> 13) & 0x3, min(chunk & 0x1FFF, count - covered)
            if run == 0:
                return None
            if symbol == 3:
                return None  # reserved
            if symbol:
                runs.append((covered, run, symbol))
            covered += run
        elif chunk & 0x4000:  # seven two-bit symbols
            for i in range(min(7, count - covered)):
                symbol = (chunk >> (12 - 2 * i)) & 0x3
                if symbol == 3:
                    return None
                if symbol:
                    runs.append((covered + i, 1, symbol))
            covered += min(7, count - covered)
        else:  # fourteen one-bit symbols (received = small delta)
            for i in range(min(14, count - covered)):
                if (chunk >> (13 - i)) & 0x1:
                    runs.append((covered + i, 1, 1))
            covered += min(14, count - covered)
    # Every received packet needs at least one delta byte: bound the work by the bytes left.
    if sum(run for _start, run, _symbol in runs) > end - offset:
        return None
    received: list[tuple[int, int]] = []
    at = 0
    for start, run, symbol in runs:
        for index in range(start, start + run):
            if symbol == 1:
                if offset + 1 > end:
                    return None
                ticks = packet[offset]
                offset += 1
            else:
                if offset + 2 > end:
                    return None
                (ticks,) = struct.unpack_from("!h", packet, offset)
                offset += 2
            at += ticks * DELTA_US
            received.append((index, at))
    reference = word >> 8
    return FeedbackReport(
        base=base,
        count=count,
        feedback_count=word & 0xFF,
        reference_us=reference * REFERENCE_US,
        received=tuple(received),
    )


def split_compound(data: bytes) -> list[bytes]:
    """The transport-wide feedback packets in a compound RTCP datagram (others skipped);
    stops at the first header that does not fit."""
    found: list[bytes] = []
    offset = 0
    while offset + 4 <= len(data):
        first, packet_type, length = _HEADER.unpack_from(data, offset)
        size = 4 * (length + 1)
        if first >> 6 != 2 or offset + size > len(data):
            break
        if packet_type == RTPFB and first & 0x1F == FMT_TRANSPORT_CC:
            found.append(data[offset : offset + size])
        offset += size
    return found
