"""Transport-wide CC feedback the relay sends a publisher, decoded here by the draft's rules
(draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1), independently of the encoder."""

from __future__ import annotations

import struct

from relay.packet.rtp_header import build_one_byte_extension_block, one_byte_extension_u16
from relay.packet.transport_feedback import MAX_PER_FEEDBACK, TransportFeedback


def decode(packet: bytes) -> tuple[int, list[int | None], int]:
    """(base sequence, per packet its arrival in µs from the reference or None, fb count)."""
    first, packet_type, length = struct.unpack_from("!BBH", packet)
    assert first >> 6 == 2 and first & 0x1F == 15 and packet_type == 205
    assert len(packet) == 4 * (length + 1)
    end = len(packet) - (packet[-1] if first & 0x20 else 0)
    _sender, _media, base, count, word = struct.unpack_from("!IIHHI", packet, 4)
    reference, fb_count = word >> 8, word & 0xFF
    offset = 20
    statuses: list[int] = []
    while len(statuses) < count:
        (chunk,) = struct.unpack_from("!H", packet, offset)
        offset += 2
        if chunk >> 15 == 0:  # run length
            statuses += [(chunk >> 13) & 0x3] * (chunk & 0x1FFF)
        elif chunk & 0x4000:  # two-bit vector
            statuses += [(chunk >> (12 - 2 * i)) & 0x3 for i in range(7)]
        else:  # one-bit vector
            statuses += [(chunk >> (13 - i)) & 0x1 for i in range(14)]
    statuses = statuses[:count]
    at = reference * 64_000
    arrivals: list[int | None] = []
    for status in statuses:
        if status == 0:
            arrivals.append(None)
            continue
        if status == 1:
            ticks = packet[offset]
            offset += 1
        else:
            (ticks,) = struct.unpack_from("!h", packet, offset)
            offset += 2
        at += ticks * 250
        arrivals.append(at)
    assert offset <= end
    return base, arrivals, fb_count


def test_arrivals_losses_wrap_and_reordering_decode_as_sent() -> None:
    feedback = TransportFeedback(sender_ssrc=1, media_ssrc=2)
    assert feedback.build() is None
    start = 1_000_123_456
    arrived = {
        65533: start,
        65534: start + 1_000,
        # 65535 lost
        0: start + 3_250,  # the numbers wrap
        2: start + 95_000,  # a 90 ms stall: a large delta
        1: start + 95_500,  # reordered: arrives after 2
        3: start + 95_600,
    }
    for seq, at in arrived.items():
        feedback.on_packet(seq, at)
    packet = feedback.build()
    assert packet is not None and len(packet) % 4 == 0
    base, arrivals, fb_count = decode(packet)
    assert base == 65533 and fb_count == 0
    expected = [65533, 65534, 65535, 0, 1, 2, 3]
    assert len(arrivals) == len(expected)
    for seq, got in zip(expected, arrivals, strict=True):
        if seq not in arrived:
            assert got is None
            continue
        assert got is not None
        # Reconstructed from the reference time: each arrival within one 250 µs tick.
        assert abs(got - arrived[seq]) < 250, (seq, got, arrived[seq])
    # Nothing new: no feedback; the next covers only what came after, with the next count.
    assert feedback.build() is None
    feedback.on_packet(1, start + 96_000)  # too late: already reported
    feedback.on_packet(4, start + 97_000)
    base, arrivals, fb_count = decode(feedback.build() or b"")
    assert base == 4 and len(arrivals) == 1 and fb_count == 1


def test_a_long_run_is_split_and_a_restart_starts_over() -> None:
    feedback = TransportFeedback(sender_ssrc=1)
    for seq in range(1500):
        feedback.on_packet(seq, 10_000_000 + seq * 1000)
    base, arrivals, _ = decode(feedback.build() or b"")
    assert base == 0 and len(arrivals) == MAX_PER_FEEDBACK and None not in arrivals
    base, arrivals, _ = decode(feedback.build() or b"")
    assert base == MAX_PER_FEEDBACK and len(arrivals) == 500
    feedback.on_packet(20_000, 20_000_000)  # far ahead: the sender restarted
    base, arrivals, _ = decode(feedback.build() or b"")
    assert base == 20_000 and len(arrivals) == 1


def test_the_transport_wide_number_is_read_from_a_packets_extension_block() -> None:
    block = build_one_byte_extension_block([(1, b"0"), (5, b"\x12\x34")])
    packet = bytes([0x90, 96]) + struct.pack("!HII", 1, 2, 3) + block + b"payload"
    assert one_byte_extension_u16(packet, 5) == 0x1234
    assert one_byte_extension_u16(packet, 3) is None  # not in the packet
    assert one_byte_extension_u16(packet, 1) is None  # there, but one byte long
    assert one_byte_extension_u16(packet[:14], 5) is None  # cut short
    assert one_byte_extension_u16(bytes([0x80, 96]) + packet[2:12] + b"x" * 8, 5) is None
