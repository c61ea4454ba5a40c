"""Relay packet core on real RTP bytes: header parse/rewrite, offsets, history, keyframes."""

from __future__ import annotations

import asyncio

import pytest
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from relay.down_track import DownTrack
from relay.forwarder import Forwarder
from relay.keyframe_requests import KeyframeRequester
from relay.packet_history import PacketHistory
from relay.rtp_header import (
    RtpHeader,
    RtpHeaderError,
    build_one_byte_extension_block,
    is_vp8_keyframe_start,
    one_byte_extension_elements,
    parse_header,
    rewrite_header,
)
from relay.stream_rewriter import StreamRewriter, seq_newer

MID_ID = 3
EXT_MAP = HeaderExtensionsMap()
EXT_MAP.configure(
    RTCRtpParameters(
        headerExtensions=[
            RTCRtpHeaderExtensionParameters(id=MID_ID, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
            RTCRtpHeaderExtensionParameters(
                id=5, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
            ),
        ]
    )
)
# VP8 descriptor X=1,S=1,PID=0; I=1 with a 15-bit picture id; then a keyframe header (P=0).
VP8_KEY = bytes([0x90, 0x80, 0x81, 0x23, 0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A])
VP8_DELTA = bytes([0x90, 0x80, 0x81, 0x24, 0x31, 0x02, 0x00])
VP8_CONTINUATION = bytes([0x80, 0x80, 0x81, 0x23, 0xAA, 0xBB])


def rtp(
    seq: int,
    ts: int,
    *,
    ssrc: int = 0x11223344,
    pt: int = 96,
    payload: bytes = VP8_DELTA,
    marker: int = 0,
    mid: str | None = "0",
) -> bytes:
    packet = RtpPacket(payload_type=pt, sequence_number=seq, timestamp=ts, ssrc=ssrc)
    packet.marker = marker
    packet.payload = payload
    packet.extensions.mid = mid
    packet.extensions.abs_send_time = 0x123456
    return packet.serialize(EXT_MAP)


def reparse(data: bytes) -> RtpPacket:
    return RtpPacket.parse(data, EXT_MAP)


class ListSink:
    def __init__(self) -> None:
        self.packets: list[bytes] = []

    async def send_rtp(self, packet: bytes) -> None:
        self.packets.append(packet)


# --- rtp_header ---------------------------------------------------------------------------


def test_parse_header_matches_aiortc() -> None:
    data = rtp(65535, 0xFFFFFFF0, marker=1, pt=100)
    header = parse_header(data)
    ref = reparse(data)
    assert (header.marker, header.payload_type) == (True, 100)
    assert (header.sequence_number, header.timestamp, header.ssrc) == (65535, 0xFFFFFFF0, ref.ssrc)
    assert header.extension_profile == 0xBEDE
    assert data[header.payload_offset :] == ref.payload == VP8_DELTA
    assert dict(one_byte_extension_elements(data, header)) == {MID_ID: b"0", 5: b"\x12\x34\x56"}


def test_parse_header_without_extension_and_with_csrcs() -> None:
    packet = RtpPacket(payload_type=111, sequence_number=7, timestamp=9, ssrc=1)
    packet.csrc = [5, 6]
    packet.payload = b"opus"
    data = packet.serialize()
    header = parse_header(data)
    assert header.extension_profile is None
    assert header.csrc_end == 20 == header.payload_offset
    assert data[header.payload_offset :] == b"opus"


@pytest.mark.parametrize(
    "data", [b"", b"\x80" * 11, bytes([0x40]) + b"\x00" * 11, bytes([0x90]) + b"\x00" * 13]
)
def test_parse_header_rejects_malformed(data: bytes) -> None:
    with pytest.raises(RtpHeaderError):
        parse_header(data)


def test_rewrite_header_in_place_keeps_marker_and_payload() -> None:
    buf = bytearray(rtp(10, 1000, marker=1))
    rewrite_header(buf, payload_type=97, sequence_number=65000, timestamp=2**32 - 1, ssrc=0xABC)
    ref = reparse(bytes(buf))
    assert (ref.payload_type, ref.sequence_number, ref.timestamp, ref.ssrc) == (
        97,
        65000,
        2**32 - 1,
        0xABC,
    )
    assert ref.marker == 1 and ref.payload == VP8_DELTA and ref.extensions.mid == "0"


def test_vp8_keyframe_detection() -> None:
    key = rtp(1, 0, payload=VP8_KEY)
    assert is_vp8_keyframe_start(key, parse_header(key))
    delta = rtp(2, 0)
    assert not is_vp8_keyframe_start(delta, parse_header(delta))
    cont = rtp(3, 0, payload=VP8_CONTINUATION)
    assert not is_vp8_keyframe_start(cont, parse_header(cont))
    # Without the extended control byte (X=0): S=1, PID=0, then the frame header.
    short = rtp(4, 0, payload=bytes([0x10, 0x10, 0x02]))
    assert is_vp8_keyframe_start(short, parse_header(short))
    empty = rtp(5, 0, payload=b"")
    assert not is_vp8_keyframe_start(empty, parse_header(empty))


# --- stream_rewriter ----------------------------------------------------------------------


def rewriter(now: list[float], **kw: int) -> StreamRewriter:
    block = build_one_byte_extension_block([(9, b"v1")])
    return StreamRewriter(
        out_ssrc=0xCAFE,
        out_payload_type=98,
        clock_rate=90000,
        extension_block=block,
        first_sequence_number=kw.get("seq", 100),
        first_timestamp=kw.get("ts", 5000),
        clock=lambda: now[0],
    )


def test_rewriter_maps_ssrc_pt_and_replaces_extensions() -> None:
    now = [0.0]
    rw = rewriter(now)
    data = rtp(40000, 777, marker=1)
    out = reparse(bytes(rw.rewrite(data, parse_header(data))))
    assert (out.ssrc, out.payload_type, out.sequence_number, out.timestamp) == (
        0xCAFE,
        98,
        100,
        5000,
    )
    assert out.marker == 1 and out.payload == VP8_DELTA
    # The publisher's MID (and abs-send-time) are replaced by our own block.
    header = parse_header(rw.rewrite(data, parse_header(data)))
    assert one_byte_extension_elements(rw.rewrite(data, parse_header(data)), header) == [(9, b"v1")]


def test_rewriter_keeps_continuity_across_wrap_and_source_switch() -> None:
    now = [0.0]
    rw = rewriter(now, seq=65534, ts=2**32 - 100)
    seqs, stamps = [], []
    for i in range(4):  # source A: seq 10.., ts += 3000 per packet
        data = rtp(10 + i, 1000 + 3000 * i, ssrc=1)
        out = reparse(bytes(rw.rewrite(data, parse_header(data))))
        seqs.append(out.sequence_number)
        stamps.append(out.timestamp)
        now[0] += 1 / 30
    assert seqs == [65534, 65535, 0, 1]
    assert stamps[1] == (stamps[0] + 3000) % 2**32
    # Source B (a reconnect with a new SSRC and random seq/ts) 0.5 s later.
    now[0] += 0.5 - 1 / 30
    data = rtp(30000, 123456789, ssrc=2)
    out = reparse(bytes(rw.rewrite(data, parse_header(data))))
    assert out.sequence_number == 2
    assert out.timestamp == (stamps[-1] + 45000) % 2**32
    assert seq_newer(out.sequence_number, seqs[-1])
    # A late packet of B keeps its place relative to B.
    late = rtp(29999, 123456789 - 3000, ssrc=2)
    assert reparse(bytes(rw.rewrite(late, parse_header(late)))).sequence_number == 1


def test_rewriter_switch_source_same_ssrc() -> None:
    now = [0.0]
    rw = rewriter(now)
    data = rtp(500, 0, ssrc=1)
    rw.rewrite(data, parse_header(data))
    rw.switch_source()
    now[0] = 1.0
    again = rtp(3, 0, ssrc=1)
    out = reparse(bytes(rw.rewrite(again, parse_header(again))))
    assert (out.sequence_number, out.timestamp) == (101, 5000 + 90000)


# --- packet_history -----------------------------------------------------------------------


def test_history_ring_overwrites_and_checks_seq() -> None:
    history = PacketHistory(4)
    for seq in range(65533, 65536):
        history.put(seq, bytes([seq & 0xFF]))
    history.put(0, b"zero")
    history.put(1, b"one")  # evicts 65533
    assert history.get(65533) is None
    assert history.get(65534) == b"\xfe"
    assert history.get(1) == b"one"
    assert history.get(5) is None
    history.close()
    history.close()
    assert history.get(1) is None
    with pytest.raises(ValueError):
        PacketHistory(1000)


# --- keyframe_requests --------------------------------------------------------------------


async def test_keyframe_requests_are_rate_limited_and_deferred() -> None:
    sent: list[float] = []
    loop = asyncio.get_running_loop()

    async def send() -> None:
        sent.append(loop.time())

    requester = KeyframeRequester(send, min_interval=0.05)
    assert requester.request() is True
    assert requester.request() is False
    assert requester.request() is False
    await asyncio.sleep(0)
    assert len(sent) == 1
    await asyncio.sleep(0.1)
    assert len(sent) == 2  # the suppressed ones became exactly one deferred request
    assert requester.suppressed == 2
    assert requester.request() is True
    await requester.close()
    await requester.close()
    assert requester.request() is False


async def test_keyframe_close_cancels_deferred() -> None:
    sent: list[int] = []

    async def send() -> None:
        sent.append(1)

    requester = KeyframeRequester(send, min_interval=0.05)
    requester.request()
    requester.request()
    await requester.close()
    await asyncio.sleep(0.08)
    assert len(sent) <= 1


# --- down_track + forwarder ---------------------------------------------------------------


def down_track(sink: ListSink, ssrc: int, *, video: bool = True) -> DownTrack:
    rw = StreamRewriter(out_ssrc=ssrc, out_payload_type=96, clock_rate=90000)
    return DownTrack(sink, rw, wait_for_keyframe=video, history_size=64)


async def test_forwarder_fans_out_after_keyframe_and_answers_nacks() -> None:
    requests: list[int] = []

    async def send_pli() -> None:
        requests.append(1)

    requester = KeyframeRequester(send_pli, min_interval=10)
    forwarder = Forwarder(keyframe_requester=requester)
    sinks = [ListSink(), ListSink()]
    tracks = [down_track(sinks[0], 0xA), down_track(sinks[1], 0xB)]
    for track in tracks:
        forwarder.add_down_track(track)
    tapped: list[tuple[bytes, RtpHeader]] = []
    forwarder.add_tap(lambda data, header: tapped.append((data, header)))
    await asyncio.sleep(0)
    assert requests == [1]  # joining subscribers asked for a keyframe once

    await forwarder.on_rtp(rtp(1, 0))  # delta frame: nobody can decode it yet
    await forwarder.on_rtp(rtp(2, 3000, payload=VP8_KEY))
    await forwarder.on_rtp(rtp(3, 3000, payload=VP8_CONTINUATION, marker=1))
    await forwarder.on_rtp(b"\x00garbage")
    assert forwarder.malformed == 1 and len(tapped) == 3
    for sink, ssrc in zip(sinks, (0xA, 0xB), strict=True):
        parsed = [reparse(p) for p in sink.packets]
        assert [p.ssrc for p in parsed] == [ssrc, ssrc]
        assert [p.sequence_number for p in parsed] == [0, 1]
        assert parsed[1].marker == 1
    assert tracks[0].dropped_waiting == 1

    assert await tracks[0].handle_nack([1, 0, 999]) == 2
    assert sinks[0].packets[2:] == sinks[0].packets[1::-1]

    # Publisher reconnects with a new SSRC: wait for its keyframe, continue the numbering.
    await forwarder.on_rtp(rtp(9000, 50, ssrc=0x999))
    assert all(t.waiting_for_keyframe for t in tracks)
    await forwarder.on_rtp(rtp(9001, 60, ssrc=0x999, payload=VP8_KEY))
    assert reparse(sinks[1].packets[-1]).sequence_number == 2

    forwarder.remove_down_track(tracks[1])
    assert tracks[1].closed
    await forwarder.close()
    await forwarder.close()
    assert tracks[0].closed
    await forwarder.on_rtp(rtp(9002, 60, ssrc=0x999))
    assert len(sinks[0].packets) == 5


async def test_audio_forwarder_needs_no_keyframe() -> None:
    forwarder = Forwarder(keyframe_requester=None, keyframe_detector=None)
    sink = ListSink()
    forwarder.add_down_track(down_track(sink, 0xA, video=False))
    await forwarder.on_rtp(rtp(1, 0, pt=111, payload=b"opus"))
    assert reparse(sink.packets[0]).payload == b"opus"
    await forwarder.close()
