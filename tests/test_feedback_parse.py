"""Parsing a subscriber's transport-wide feedback (relay/packet/feedback_parse.py): what the
relay's own encoder writes reads back exactly; run-length and one-bit chunks (which the
relay never writes but Chromium does) decode by the draft; hostile bytes are refused whole
and never raise, and a huge claimed count costs nothing."""

from __future__ import annotations

import random
import struct

from relay.packet.feedback_parse import parse_transport_feedback, split_compound
from relay.packet.transport_feedback import TransportFeedback


def packet(base: int, count: int, reference: int, chunks: bytes, deltas: bytes) -> bytes:
    body = struct.pack("!IIHHI", 1, 2, base, count, (reference << 8) | 5) + chunks + deltas
    padding = -len(body) % 4
    if padding:
        body += b"\x00" * (padding - 1) + bytes([padding])
    first = 0x80 | (0x20 if padding else 0) | 15
    return struct.pack("!BBH", first, 205, len(body) // 4) + body


def test_the_relays_own_encoding_reads_back() -> None:
    feedback = TransportFeedback(sender_ssrc=1, media_ssrc=2)
    start = 5_000_000_000
    arrived = {65534: start, 65535: start + 1_000, 1: start + 90_000, 0: start + 90_500}
    for seq, at in arrived.items():
        feedback.on_packet(seq, at)
    built = feedback.build()
    assert built is not None
    report = parse_transport_feedback(built)
    assert report is not None
    assert (report.base, report.count) == (65534, 4)
    reference = report.reference_us
    got = {(report.base + index) % 65536: reference + at for index, at in report.received}
    # 250 µs resolution, never drifting: each within one tick of the truth.
    assert got.keys() == arrived.keys()
    for seq, at in arrived.items():
        assert abs(got[seq] - at) < 250 + 1, (seq, got[seq], at)


def test_run_length_and_one_bit_chunks() -> None:
    # 3 received (small), 4 lost (run), then a one-bit vector: received, lost, received...
    run_received = 0x2000 | 3  # symbol 1, length 3
    run_lost = 0x0000 | 4
    one_bit = 0x8000 | (0b10100000000000)  # 14 symbols: 1,0,1,0,...
    chunks = struct.pack("!HHH", run_received, run_lost, one_bit)
    deltas = bytes([4, 4, 4, 8, 8])
    report = parse_transport_feedback(packet(100, 3 + 4 + 3, 10, chunks, deltas))
    assert report is not None
    assert report.count == 10
    assert [i for i, _at in report.received] == [0, 1, 2, 7, 9]
    assert [at for _i, at in report.received] == [1000, 2000, 3000, 5000, 7000]
    assert report.reference_us == 10 * 64_000
    assert report.feedback_count == 5


def test_a_large_negative_delta_is_read_signed() -> None:
    chunks = struct.pack("!H", 0xC000 | (2 << 12) | (2 << 10))
    report = parse_transport_feedback(packet(7, 2, 3, chunks, struct.pack("!hh", 400, -100)))
    assert report is not None
    assert [at for _i, at in report.received] == [100_000, 75_000]


def test_malformed_is_refused() -> None:
    good = packet(1, 2, 0, struct.pack("!H", 0x2000 | 2), bytes([1, 1]))
    assert parse_transport_feedback(good) is not None
    assert parse_transport_feedback(good[:-4]) is None  # truncated
    assert parse_transport_feedback(b"") is None
    assert parse_transport_feedback(b"\x8f\xcd\x00\x01") is None  # too short for its body
    # Claims 8191 received packets with two delta bytes: refused without walking them.
    huge = packet(1, 0xFFFF, 0, struct.pack("!H", 0x2000 | 0x1FFF) * 8, bytes([1, 1]))
    assert parse_transport_feedback(huge) is None
    # 65535 lost: accepted, nothing listed, nothing expanded.
    lost = parse_transport_feedback(packet(1, 0xFFFF, 0, struct.pack("!H", 0x1FFF) * 9, b""))
    assert lost is not None and lost.received == ()
    # Reserved symbol 3, a zero-length run, zero count, padding larger than the packet.
    assert parse_transport_feedback(packet(1, 2, 0, struct.pack("!H", 0x6002), b"\x01\x01")) is None
    assert parse_transport_feedback(packet(1, 2, 0, struct.pack("!H", 0x2000), b"\x01\x01")) is None
    assert parse_transport_feedback(packet(1, 0, 0, b"", b"")) is None
    bad_padding = bytearray(good)
    bad_padding[0] |= 0x20
    bad_padding[-1] = 200
    assert parse_transport_feedback(bytes(bad_padding)) is None
    # Not fmt 15 / not RTPFB.
    assert parse_transport_feedback(bytes([0x81]) + good[1:]) is None
    assert parse_transport_feedback(good[:1] + bytes([206]) + good[2:]) is None


def test_random_bytes_never_raise() -> None:
    rng = random.Random(13)
    good = packet(1, 9, 3, struct.pack("!HH", 0x2000 | 5, 0xC000 | 0x1400), bytes(range(7)))
    for _ in range(20_000):
        data = bytearray(good)
        for _flip in range(rng.randrange(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data) + 1)]
        parse_transport_feedback(bytes(data))
        split_compound(bytes(data))
    for _ in range(5_000):
        parse_transport_feedback(bytes(rng.randrange(256) for _ in range(rng.randrange(64))))


def test_compound_split_finds_the_feedback_between_others() -> None:
    feedback = packet(1, 2, 0, struct.pack("!H", 0x2000 | 2), bytes([1, 1]))
    receiver_report = struct.pack("!BBHI", 0x80, 201, 1, 9)
    assert split_compound(receiver_report + feedback + receiver_report) == [feedback]
    assert split_compound(receiver_report + feedback[:-1]) == []
