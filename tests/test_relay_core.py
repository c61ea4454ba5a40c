"""Relay packet core on real RTP bytes: header parse/rewrite, offsets, history, keyframes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace

import pytest
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_PLI,
    HeaderExtensionsMap,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
    unpack_remb_fci,
)

from relay.packet.codecs import CodecChoice
from relay.packet.keyframe_requests import KeyframeRequester
from relay.packet.packet_history import PacketHistory
from relay.packet.rtp_header import (
    RtpHeader,
    RtpHeaderError,
    build_one_byte_extension_block,
    is_vp8_keyframe_start,
    one_byte_extension_elements,
    parse_header,
    rewrite_header,
)
from relay.packet.stream_rewriter import StreamRewriter, seq_newer
from relay.packet.upstream_repair import UpstreamRepair
from relay.rtc.bandwidth import UNCAPPED, RembAggregator, remb_packet, remb_share
from relay.rtc.down_track import DownTrack, RtxStream
from relay.rtc.forwarder import Forwarder
from relay.rtc.negotiated import ABS_SEND_TIME_URI, MID_URI, NegotiatedStream
from relay.rtc.sender_reports import rewrite_sender_report
from relay.rtc.transport_tap import RtcpTap, SenderReportFilter

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

    def send_rtp(self, packet: bytes) -> None:
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


def abs_send_time_rewriter(now: list[float]) -> tuple[NegotiatedStream, StreamRewriter]:
    """A video stream with MID and abs-send-time negotiated, and its rewriter on `now`'s clock."""
    stream = NegotiatedStream(
        mid="1",
        kind="video",
        mime_type="video/VP8",
        payload_type=96,
        clock_rate=90000,
        rtx_payload_type=None,
        local_ssrc=0xCAFE,
        local_rtx_ssrc=0xCAFF,
        extension_ids={MID_URI: MID_ID, ABS_SEND_TIME_URI: 5},
        codecs=(CodecChoice(96, "video/VP8", 90000, {}, None),),
    )
    extensions = stream.outgoing_extensions()
    rewriter = StreamRewriter(
        out_ssrc=0xCAFE,
        out_payload_type=96,
        clock_rate=90000,
        extension_block=extensions.block,
        abs_send_time_at=extensions.abs_send_time_at,
        clock=lambda: now[0],
    )
    return stream, rewriter


def test_rewriter_stamps_abs_send_time_as_it_sends() -> None:
    now = [10.5]
    stream, rw = abs_send_time_rewriter(now)
    sent = []
    for seq, at in ((1, 10.5), (2, 64.25)):  # 64 s: the 6-bit seconds field wraps
        now[0] = at
        data = rtp(seq, 0)
        sent.append(reparse(bytes(rw.rewrite(data, parse_header(data)))))
    assert [p.extensions.mid for p in sent] == ["1", "1"]  # ours, not the publisher's "0"
    assert [p.extensions.abs_send_time for p in sent] == [int(10.5 * 2**18), int(0.25 * 2**18)]
    no_ast = replace(stream, extension_ids={MID_URI: MID_ID}).outgoing_extensions()
    assert no_ast.abs_send_time_at is None and no_ast.block == build_one_byte_extension_block(
        [(MID_ID, b"1")]
    )


@pytest.mark.parametrize("with_rtx", [False, True])
def test_a_resent_packet_carries_the_time_it_is_resent(with_rtx: bool) -> None:
    """A receiver's delay-based estimator reads the abs-send-time of a retransmission; the
    original's (stale by the NACK round trip) looked like that much queueing, and Chromium
    lowered its REMB on every repaired loss until the publisher was at its floor."""
    now = [10.5]
    _, rw = abs_send_time_rewriter(now)
    rtx = RtxStream(ssrc=0xCAFF, payload_type=97, first_sequence_number=0) if with_rtx else None
    sink = ListSink()
    track = DownTrack(sink, rw, wait_for_keyframe=False, rtx=rtx, history_size=16)
    data = rtp(1, 0)
    track.forward(data, parse_header(data), keyframe_start=False)
    now[0] = 10.75
    sent = reparse(sink.packets[0])
    assert track.handle_nack([sent.sequence_number]) == 1
    resent = reparse(sink.packets[1])
    assert sent.extensions.abs_send_time == int(10.5 * 2**18)
    assert resent.extensions.abs_send_time == int(10.75 * 2**18)
    assert resent.extensions.mid == "1"
    assert resent.ssrc == (0xCAFF if with_rtx else 0xCAFE)


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
    async with asyncio.timeout(2):
        while len(sent) < 2:  # noqa: ASYNC110  (the deferred send runs on a timer)
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # a loaded machine may run the timer late; stay past it
    assert len(sent) == 2  # the suppressed ones became exactly one deferred request
    assert sent[1] - sent[0] >= 0.05
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


async def test_upstream_repair_nacks_a_gap_once_more_then_gives_up() -> None:
    sent: list[list[int]] = []

    async def send(lost: list[int]) -> None:
        sent.append(lost)

    repair = UpstreamRepair(send, retry_after=0.03, min_interval=0.0)
    for seq in (65533, 65534, 1, 2):  # 65535 and 0 are lost, across the wrap
        repair.on_sequence(seq)
    await asyncio.sleep(0)
    assert sent == [[65535, 0]] and repair.lost == 2
    repair.on_sequence(0)  # one arrives late (retransmitted)
    assert repair.recovered == 1 and repair.missing == {65535}
    await asyncio.sleep(0.05)
    assert sent[-1] == [65535]  # asked once more
    await asyncio.sleep(0.05)
    assert repair.given_up == 1 and not repair.missing and len(sent) == 2
    repair.on_sequence(600)  # a jump: the stream restarted, nothing to ask for
    repair.on_sequence(600)  # a duplicate
    await asyncio.sleep(0)
    assert len(sent) == 2 and repair.lost == 2
    await repair.close()
    await repair.close()


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

    forwarder.on_rtp(rtp(1, 0))  # delta frame: nobody can decode it yet
    forwarder.on_rtp(rtp(2, 3000, payload=VP8_KEY))
    forwarder.on_rtp(rtp(3, 3000, payload=VP8_CONTINUATION, marker=1))
    forwarder.on_rtp(b"\x00garbage")
    assert forwarder.malformed == 1 and len(tapped) == 3
    for sink, ssrc in zip(sinks, (0xA, 0xB), strict=True):
        parsed = [reparse(p) for p in sink.packets]
        assert [p.ssrc for p in parsed] == [ssrc, ssrc]
        assert [p.sequence_number for p in parsed] == [0, 1]
        assert parsed[1].marker == 1
    assert tracks[0].dropped_waiting == 1

    assert tracks[0].handle_nack([1, 0, 999]) == 2
    assert sinks[0].packets[2:] == sinks[0].packets[1::-1]

    # Publisher reconnects with a new SSRC: wait for its keyframe, continue the numbering.
    forwarder.on_rtp(rtp(9000, 50, ssrc=0x999))
    assert all(t.waiting_for_keyframe for t in tracks)
    forwarder.on_rtp(rtp(9001, 60, ssrc=0x999, payload=VP8_KEY))
    assert reparse(sinks[1].packets[-1]).sequence_number == 2

    forwarder.remove_down_track(tracks[1])
    assert tracks[1].closed
    await forwarder.close()
    await forwarder.close()
    assert tracks[0].closed
    forwarder.on_rtp(rtp(9002, 60, ssrc=0x999))
    assert len(sinks[0].packets) == 5


async def test_a_keyframe_asked_for_is_asked_for_again_until_one_comes() -> None:
    """The PLI may be lost on the way (a lossy uplink): every paced interval without a
    keyframe, the forwarder asks again; once one has passed, it stops."""
    now = [100.0]
    requests: list[float] = []

    async def send_pli() -> None:
        requests.append(now[0])

    requester = KeyframeRequester(send_pli, min_interval=0.5, clock=lambda: now[0])
    forwarder = Forwarder(keyframe_requester=requester)
    forwarder.add_down_track(down_track(ListSink(), 0xA))
    await asyncio.sleep(0)
    assert requests == [100.0]
    forwarder.on_rtp(rtp(1, 0))  # a delta frame: still waiting, too soon to ask again
    now[0] += 0.6
    forwarder.on_rtp(rtp(2, 3000))  # still none: asked again
    await asyncio.sleep(0)
    assert requests == [100.0, 100.6]
    forwarder.on_rtp(rtp(3, 6000, payload=VP8_KEY))
    now[0] += 2.0
    forwarder.on_rtp(rtp(4, 9000))
    await asyncio.sleep(0)
    assert requests == [100.0, 100.6]  # the keyframe came: no more requests
    await forwarder.close()


def reassembled_by_aiortc(packets: list[bytes]) -> list[bytes]:
    """The frames aiortc's receiver would hand its decoder: its own jitter buffer, fed in
    sequence order, each packet's payload as its data (padding-only: b"", as aiortc does)."""
    buffer = JitterBuffer(capacity=128, is_video=True)
    frames = []
    for packet in sorted((reparse(p) for p in packets), key=lambda p: p.sequence_number):
        packet._data = packet.payload  # type: ignore[attr-defined]
        _, frame = buffer.add(packet)
        if frame is not None:
            frames.append(frame.data)
    return frames


async def test_lost_for_good_upstream_is_filled_then_subscribers_restart_at_a_keyframe() -> None:
    """Else a subscriber's reassembly waits on the hole: aiortc's jitter buffer until 128
    packets have passed (seconds), then it asks for a keyframe itself."""
    nacks: list[list[int]] = []
    plis: list[int] = []

    async def send_nack(lost: list[int]) -> None:
        nacks.append(lost)

    async def send_pli() -> None:
        plis.append(1)

    forwarder: Forwarder | None = None

    def unrepairable(lost: list[int]) -> None:
        assert forwarder is not None
        forwarder.restart_at_keyframe(lost)

    repair = UpstreamRepair(
        send_nack, on_unrepairable=unrepairable, retry_after=0.02, min_interval=0.0
    )
    forwarder = Forwarder(
        keyframe_requester=KeyframeRequester(send_pli, min_interval=0.0), repair=repair
    )
    sink = ListSink()
    track = down_track(sink, 0xA)
    forwarder.add_down_track(track)
    forwarder.on_rtp(rtp(100, 0, payload=VP8_KEY))
    forwarder.on_rtp(rtp(101, 3000))
    forwarder.on_rtp(rtp(103, 6000))  # 102 is lost upstream
    forwarder.on_rtp(rtp(104, 9000))
    await asyncio.sleep(0.15)  # asked for twice, then given up
    assert nacks == [[102], [102]] and repair.given_up == 1 and forwarder.restarts == 1
    assert len(plis) == 2  # the joining subscriber's, then the restart's
    # The subscriber's hole (its seq 2) is taken by a padding packet, sent and kept.
    assert [reparse(p).sequence_number for p in sink.packets] == [0, 1, 3, 4, 2]
    fill = reparse(sink.packets[-1])
    assert (fill.ssrc, fill.payload, fill.padding_size) == (0xA, b"", 4)
    # It joins the frame before the hole: aiortc's reassembly makes no empty frame of it
    # (an empty packet ends an FFmpeg decoder for good).
    assert fill.timestamp == 3000
    assert b"" not in reassembled_by_aiortc(sink.packets)
    assert track.filled == 1 and track.handle_nack([2]) == 1
    assert sink.packets[-1] == sink.packets[-2]

    forwarder.on_rtp(rtp(102, 3000))  # its retransmission, too late: not forwarded
    forwarder.on_rtp(rtp(105, 12000))  # a delta: the subscriber waits for a keyframe
    forwarder.on_rtp(rtp(106, 15000, payload=VP8_KEY))
    forwarder.on_rtp(rtp(107, 18000))
    assert repair.stale == 1 and track.dropped_waiting == 1
    # The keyframe lands past any hole the subscriber may still wait on (512 left out).
    assert [reparse(p).sequence_number for p in sink.packets[6:]] == [5 + 512, 6 + 512]
    await forwarder.close()


async def test_a_keyframe_whose_first_packet_came_late_reaches_the_subscriber_whole() -> None:
    """Its first packet lost and repaired upstream, the rest of the keyframe arrives first,
    while the down track still waits for a keyframe start. Those packets were held back and
    follow the retransmitted start in order; dropped, they left a hole no NACK could fill
    (the subscriber asks for numbers the relay never sent) and aiortc's reassembly stalled
    on it until 512 packets had passed (seen under a UDP flood, tests/test_relay_flood.py)."""
    nacks: list[list[int]] = []

    async def send_nack(lost: list[int]) -> None:
        nacks.append(lost)

    async def send_pli() -> None:
        pass

    repair = UpstreamRepair(send_nack, retry_after=1.0, min_interval=0.0)
    forwarder = Forwarder(
        keyframe_requester=KeyframeRequester(send_pli, min_interval=0.0), repair=repair
    )
    sink = ListSink()
    track = down_track(sink, 0xA)
    forwarder.add_down_track(track)
    forwarder.on_rtp(rtp(200, 0))  # a delta frame: not decodable, dropped
    # 201, the keyframe's first packet, is lost on the way in.
    forwarder.on_rtp(rtp(202, 3000, payload=VP8_CONTINUATION))
    forwarder.on_rtp(rtp(203, 3000, payload=VP8_CONTINUATION, marker=1))
    await asyncio.sleep(0)
    assert nacks == [[201]] and sink.packets == []
    forwarder.on_rtp(rtp(201, 3000, payload=VP8_KEY))  # its retransmission
    forwarder.on_rtp(rtp(204, 6000))
    sent = [reparse(p) for p in sink.packets]
    assert [p.sequence_number for p in sent] == [0, 1, 2, 3]
    assert [p.payload for p in sent[:3]] == [VP8_KEY, VP8_CONTINUATION, VP8_CONTINUATION]
    assert reassembled_by_aiortc(sink.packets) == [VP8_KEY + VP8_CONTINUATION * 2]
    assert track.dropped_waiting == 1 and track.sent == 4  # only the delta frame before it

    # Held packets of an older source never follow a new source's keyframe.
    track.source_changed(wait_for_keyframe=True)
    forwarder.on_rtp(rtp(205, 9000))
    forwarder.on_rtp(rtp(7, 12000, ssrc=0x999, payload=VP8_KEY))
    assert [reparse(p).ssrc for p in sink.packets[4:]] == [0xA]
    assert reparse(sink.packets[-1]).payload == VP8_KEY
    await forwarder.close()


async def test_audio_forwarder_needs_no_keyframe() -> None:
    forwarder = Forwarder(keyframe_requester=None, keyframe_detector=None)
    sink = ListSink()
    forwarder.add_down_track(down_track(sink, 0xA, video=False))
    forwarder.on_rtp(rtp(1, 0, pt=111, payload=b"opus"))
    assert reparse(sink.packets[0]).payload == b"opus"
    await forwarder.close()


# --- bandwidth feedback (REMB) ------------------------------------------------------------


def remb_bytes(bitrate: int, ssrcs: list[int], *, sender: int = 0x5EED) -> bytes:
    return bytes(
        RtcpPsfbPacket(
            fmt=RTCP_PSFB_APP, ssrc=sender, media_ssrc=0, fci=pack_remb_fci(bitrate, ssrcs)
        )
    )


def test_remb_packet_and_share_on_real_bytes() -> None:
    (packet,) = RtcpPacket.parse(remb_packet(sender_ssrc=7, media_ssrcs=[0xABC], bitrate=640_000))
    assert isinstance(packet, RtcpPsfbPacket)
    assert (packet.fmt, packet.ssrc, packet.media_ssrc) == (RTCP_PSFB_APP, 7, 0)
    bitrate, ssrcs = unpack_remb_fci(packet.fci)
    assert ssrcs == [0xABC] and abs(bitrate - 640_000) <= 640_000 >> 17  # mantissa rounding

    # A browser's REMB covers every stream it receives on the transport: equal shares among
    # the video streams the relay sends it, not every listed SSRC (an RTX or audio one).
    (two,) = RtcpPacket.parse(remb_bytes(1_000_000, [0xA, 0xB, 0xC]))
    assert isinstance(two, RtcpPsfbPacket)
    tap = RtcpTap(FakeTransport())
    tap.route(0xA, _ignore)
    tap.route(0xB, _ignore)
    tap.route(0xD, _ignore, video=False)
    assert remb_share(two, tap.remb_sharers) == (500_000, [0xA, 0xB, 0xC])
    tap.unroute(0xB)
    assert remb_share(two, tap.remb_sharers) == (1_000_000, [0xA, 0xB, 0xC])
    pli = RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1, media_ssrc=0xA)
    assert remb_share(pli, tap.remb_sharers) is None
    junk = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=b"XXXX")
    assert remb_share(junk, tap.remb_sharers) is None
    tap.close()


async def _ignore(packet: object) -> None:
    pass


async def test_remb_forwards_minimum_rate_limited() -> None:
    sent: list[int] = []

    async def send(bitrate: int) -> None:
        sent.append(bitrate)

    agg = RembAggregator(send, min_interval=0.05)
    assert agg.report("a", 900_000) is True
    assert agg.report("b", 300_000) is False
    assert agg.report("a", 800_000) is False
    await asyncio.sleep(0)
    assert sent == [900_000]
    await asyncio.sleep(0.1)
    assert sent == [900_000, 300_000]  # one deferred REMB carrying the minimum
    agg.remove("b")
    await asyncio.sleep(0.06)  # a full interval after the deferred one, however late it ran
    assert agg.report("a", 850_000) is True
    await asyncio.sleep(0)
    assert sent[-1] == 850_000 and agg.sent == 3
    await agg.close()
    await agg.close()
    assert agg.report("a", 1) is False


async def test_remb_estimates_go_stale() -> None:
    now = [0.0]
    sent: list[int] = []

    async def send(bitrate: int) -> None:
        sent.append(bitrate)

    agg = RembAggregator(send, min_interval=0.2, stale_after=5.0, clock=lambda: now[0])
    agg.report("slow", 100_000)
    now[0] = 4.0
    agg.report("fast", 2_000_000)  # sent now, but the minimum is still "slow"'s
    assert agg.current() == 100_000
    now[0] = 6.0  # "slow" stopped reporting 6 s ago
    assert agg.current() == 2_000_000
    await asyncio.sleep(0)
    assert sent == [100_000, 100_000]
    await agg.close()


async def test_a_stale_estimate_is_replaced_at_the_publisher_without_another_report() -> None:
    """A subscriber that stops reporting must not hold the publisher at its figure: when the
    estimate goes stale the next minimum is sent, or UNCAPPED when none is left."""
    sent: list[int] = []

    async def send(bitrate: int) -> None:
        sent.append(bitrate)

    agg = RembAggregator(send, min_interval=0.01, stale_after=0.15)
    agg.report("slow", 100_000)
    await asyncio.sleep(0.05)
    agg.report("fast", 2_000_000)
    await asyncio.sleep(0.05)
    assert sent == [100_000, 100_000]
    await asyncio.sleep(0.1)  # "slow" is stale; nobody reported since
    assert sent[-1] == 2_000_000
    await asyncio.sleep(0.15)  # and then "fast" too
    assert sent[-1] == UNCAPPED and agg.current() is None
    await agg.close()


class FakeTransport:
    def __init__(self) -> None:
        self.seen: list[bytes] = []

    async def _handle_rtcp_data(self, data: bytes) -> None:
        self.seen.append(data)


async def test_rtcp_tap_routes_remb_by_fci_ssrcs_and_sender_reports() -> None:
    transport = FakeTransport()
    tap = RtcpTap(transport)
    got: dict[str, list[object]] = {"a": [], "b": [], "sr": []}

    def collect(key: str) -> Callable[[object], Awaitable[None]]:
        async def handler(packet: object) -> None:
            got[key].append(packet)

        return handler

    tap.route(0xA, collect("a"))
    tap.route(0xB, collect("b"))
    tap.route(0xD, collect("audio"), video=False)
    got["audio"] = []
    tap.add_sender_report_handler(collect("sr"))
    sr = RtcpSrPacket(ssrc=0x77, sender_info=RtcpSenderInfo(1 << 40, 1234, 5, 600))
    compound = bytes(sr) + remb_bytes(400_000, [0xA, 0xC, 0xA, 0xD])
    await tap._handle_rtcp_data(compound)
    assert len(got["a"]) == 1 and got["b"] == []  # listed once per routed SSRC, 0xC unrouted
    assert got["audio"] == []  # a REMB is for video streams
    assert isinstance(got["sr"][0], RtcpSrPacket) and got["sr"][0].ssrc == 0x77
    assert transport.seen == [compound]  # aiortc still sees everything
    tap.close()
    assert "_handle_rtcp_data" not in vars(transport)


# --- sender reports ----------------------------------------------------------------------


def test_rewrite_sender_report_keeps_ntp() -> None:
    block = RtcpReceiverInfo(0x99, 0, 0, 0, 0, 0, 0)
    report = RtcpSrPacket(
        ssrc=0x11, sender_info=RtcpSenderInfo(0xE000000012345678, 1000, 50, 5000), reports=[block]
    )
    (parsed,) = RtcpPacket.parse(
        rewrite_sender_report(
            report, ssrc=0xB0B, rtp_timestamp=(1 << 32) + 7, packet_count=3, octet_count=30
        )
    )
    assert parsed == RtcpSrPacket(
        ssrc=0xB0B, sender_info=RtcpSenderInfo(0xE000000012345678, 7, 3, 30), reports=[]
    )


async def test_down_track_rewrites_publisher_sr_through_its_offsets() -> None:
    sink = ListSink()
    rw = StreamRewriter(
        out_ssrc=0xB0B, out_payload_type=96, clock_rate=90000, first_timestamp=0xFFFFFF00
    )
    track = DownTrack(sink, rw, wait_for_keyframe=True, history_size=64)
    ntp = 0xE1000000_80000000
    sr_bytes = bytes(
        RtcpSrPacket(ssrc=0x11223344, sender_info=RtcpSenderInfo(ntp, 90_500, 99, 99_999))
    )
    (sr,) = RtcpPacket.parse(sr_bytes)
    assert isinstance(sr, RtcpSrPacket)
    assert track.rewrite_sender_report(sr) is None  # nothing forwarded: no offset yet

    key = rtp(10, 90_000, payload=VP8_KEY)
    rest = rtp(11, 90_000, payload=VP8_CONTINUATION, marker=1)
    track.forward(key, parse_header(key), True)
    track.forward(rest, parse_header(rest), False)
    out_ts = reparse(sink.packets[0]).timestamp
    assert out_ts == 0xFFFFFF00

    rewritten = track.rewrite_sender_report(sr)
    assert rewritten is not None
    (parsed,) = RtcpPacket.parse(rewritten)
    assert isinstance(parsed, RtcpSrPacket)
    assert parsed.ssrc == 0xB0B and parsed.reports == []
    assert parsed.sender_info.ntp_timestamp == ntp
    assert parsed.sender_info.rtp_timestamp == (out_ts + 500) & 0xFFFFFFFF  # wraps like RTP
    assert parsed.sender_info.packet_count == 2
    assert parsed.sender_info.octet_count == len(VP8_KEY) + len(VP8_CONTINUATION)

    other = RtcpSrPacket(ssrc=0x999, sender_info=RtcpSenderInfo(ntp, 1, 1, 1))
    assert track.rewrite_sender_report(other) is None  # not the stream we forward
    track.source_changed(wait_for_keyframe=True)
    assert track.rewrite_sender_report(sr) is None  # offsets are rebased at the next keyframe
    track.close()
    assert track.rewrite_sender_report(sr) is None


class FakeSender:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def _send_rtcp(self, packets: list[object]) -> None:
        self.sent.append(b"".join(bytes(p) for p in packets))  # type: ignore[call-overload]


async def test_sender_report_filter_turns_silent_sender_sr_into_rr() -> None:
    sender = FakeSender()
    filt = SenderReportFilter(sender)
    block = RtcpReceiverInfo(0x99, 0, 0, 0, 0, 0, 0)
    sr = RtcpSrPacket(ssrc=0xB0B, sender_info=RtcpSenderInfo(0, 0, 0, 0), reports=[block])
    sdes = RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=0xB0B, items=[(1, b"cname")])])
    await sender._send_rtcp([sr, sdes])
    parsed = RtcpPacket.parse(sender.sent[0])
    assert parsed[0] == RtcpRrPacket(ssrc=0xB0B, reports=[block])
    assert isinstance(parsed[1], RtcpSdesPacket) and filt.replaced == 1
    filt.close()
    filt.close()
    assert "_send_rtcp" not in vars(sender)
    await sender._send_rtcp([sr])
    assert isinstance(RtcpPacket.parse(sender.sent[1])[0], RtcpSrPacket)
