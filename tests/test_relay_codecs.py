"""Codec-aware forwarding on real encoder output: H.264 keyframes, codec matching, RTX;
and the lazy estimator relay workers give aiortc's receivers."""

from __future__ import annotations

import fractions

import pytest
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rate import RemoteBitrateEstimator
from aiortc.rtp import RtpPacket, unwrap_rtx
from av import VideoFrame

from relay.packet.codecs import (
    CodecChoice,
    is_h264_keyframe_start,
    keyframe_detector,
    matching_codec,
)
from relay.packet.rtp_header import is_vp8_keyframe_start, parse_header
from relay.packet.stream_rewriter import StreamRewriter
from relay.rtc.down_track import DownTrack, RtxStream
from relay.rtc.lazy_estimator import LazyRemoteBitrateEstimator


def encoded_frames(encoder: H264Encoder | Vp8Encoder, count: int) -> list[list[bytes]]:
    """Payloads of `count` encoded 320x240 frames (the first is a keyframe)."""
    frames = []
    for index in range(count):
        frame = VideoFrame(320, 240, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([(index * 7 + plane.line_size) % 256]) * plane.buffer_size)
        frame.pts = index * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        payloads, _ = encoder.encode(frame, force_keyframe=False)
        frames.append(payloads)
    return frames


def packet(seq: int, payload: bytes, *, pt: int = 102) -> bytes:
    out = RtpPacket(payload_type=pt, sequence_number=seq, timestamp=seq * 10, ssrc=0x5150)
    out.payload = payload
    return out.serialize()


@pytest.mark.parametrize(
    ("make_encoder", "detect"),
    [(H264Encoder, is_h264_keyframe_start), (Vp8Encoder, is_vp8_keyframe_start)],
)
def test_keyframe_start_is_found_in_real_encoder_output(make_encoder, detect) -> None:  # type: ignore[no-untyped-def]
    frames = encoded_frames(make_encoder(), 4)
    starts = [
        [detect(data, parse_header(data)) for data in (packet(i, p) for i, p in enumerate(f))]
        for f in frames
    ]
    assert starts[0][0] is True, "the first packet of the first (key) frame"
    assert not any(starts[0][1:]), "later packets of the keyframe do not start one"
    assert not any(any(s) for s in starts[1:]), "delta frames"


def test_h264_keyframe_detection_by_packetization() -> None:
    def starts(payload: bytes) -> bool:
        data = packet(1, payload)
        return is_h264_keyframe_start(data, parse_header(data))

    assert starts(bytes([0x67, 0x42]))  # a lone SPS
    assert starts(bytes([0x65, 0x88]))  # a lone IDR slice
    assert not starts(bytes([0x41, 0x9A]))  # a non-IDR slice
    assert not starts(bytes([0x68, 0xCE]))  # a lone PPS
    assert starts(bytes([0x7C, 0x85, 0x88]))  # FU-A, S bit, IDR
    assert not starts(bytes([0x7C, 0x05, 0x88]))  # FU-A continuation of an IDR
    assert not starts(bytes([0x7C, 0x81, 0x9A]))  # FU-A start of a non-IDR slice
    stap = bytes([0x78, 0x00, 0x02, 0x09, 0xF0, 0x00, 0x02, 0x67, 0x42])  # AUD, SPS
    assert starts(stap)
    assert not starts(bytes([0x78, 0x00, 0x02, 0x09, 0xF0]))  # STAP-A with an AUD only
    assert not starts(bytes([0x78, 0x00, 0x09, 0x67]))  # STAP-A size beyond the packet
    assert not starts(b"")


def test_only_forwardable_video_codecs_have_a_keyframe_detector() -> None:
    assert keyframe_detector("video/H264") is is_h264_keyframe_start
    assert keyframe_detector("video/VP8") is is_vp8_keyframe_start
    with pytest.raises(ValueError, match="forwards H264, VP8 video only"):
        keyframe_detector("video/VP9")


def h264(pt: int, profile: str, mode: str = "1", rtx: int | None = None) -> CodecChoice:
    params = {"packetization-mode": mode, "profile-level-id": profile}
    return CodecChoice(pt, "video/H264", 90000, params, rtx)


def test_subscriber_codec_matches_the_source_bitstream() -> None:
    vp8 = CodecChoice(96, "video/VP8", 90000, {}, 97)
    source = h264(100, "42e01f")
    # An identical fmtp wins over an earlier compatible one.
    assert matching_codec([vp8, h264(102, "42001f"), h264(104, "42e01f")], source) == h264(
        104, "42e01f"
    )
    assert matching_codec([vp8, h264(102, "42001f")], source) == h264(102, "42001f")
    # Another packetization mode or profile is another bitstream format: no match.
    assert matching_codec([vp8, h264(102, "42e01f", mode="0")], source) is None
    assert matching_codec([h264(102, "640032")], source) is None
    assert matching_codec([vp8], CodecChoice(120, "video/VP8", 90000, {}, None)) == vp8


class ListSink:
    def __init__(self) -> None:
        self.packets: list[bytes] = []

    def send_rtp(self, data: bytes) -> None:
        self.packets.append(data)


async def test_nacked_packets_go_out_as_rtx_when_negotiated() -> None:
    sink = ListSink()
    rewriter = StreamRewriter(out_ssrc=0xAAAA, out_payload_type=96, clock_rate=90000)
    rtx = RtxStream(ssrc=0xBBBB, payload_type=97, first_sequence_number=65535)
    track = DownTrack(sink, rewriter, wait_for_keyframe=False, rtx=rtx)
    originals = [packet(seq, bytes([0x10, seq, 0xEE])) for seq in (7, 8, 9)]
    for data in originals:
        track.forward(data, parse_header(data), keyframe_start=False)
    sent = [RtpPacket.parse(p) for p in sink.packets]
    assert track.handle_nack([sent[0].sequence_number, sent[2].sequence_number, 4]) == 2
    resent = [RtpPacket.parse(p) for p in sink.packets[3:]]
    assert [(p.ssrc, p.payload_type) for p in resent] == [(0xBBBB, 97)] * 2
    assert [p.sequence_number for p in resent] == [65535, 0]  # its own numbering, wrapping
    for rtx_packet, original in zip(resent, (sent[0], sent[2]), strict=True):
        recovered = unwrap_rtx(rtx_packet, payload_type=96, ssrc=0xAAAA)
        assert recovered.sequence_number == original.sequence_number
        assert recovered.timestamp == original.timestamp
        assert recovered.payload == original.payload
    assert track.retransmitted == 2 and track.sent == 3


def test_no_history_is_kept_for_a_receiver_that_never_nacks() -> None:
    sink = ListSink()
    rewriter = StreamRewriter(out_ssrc=0xAAAA, out_payload_type=111, clock_rate=48000)
    track = DownTrack(sink, rewriter, wait_for_keyframe=False, history_size=0)
    data = packet(1, b"opus", pt=111)
    track.forward(data, parse_header(data), keyframe_start=False)
    sent = RtpPacket.parse(sink.packets[0])
    assert track.handle_nack([sent.sequence_number]) == 0 and len(sink.packets) == 1
    track.close()


def test_lazy_estimator_builds_the_real_one_only_when_a_packet_comes() -> None:
    lazy = LazyRemoteBitrateEstimator()
    real = RemoteBitrateEstimator()
    assert lazy._real is None  # nothing allocated for a receiver the relay bypasses
    for i in range(60):  # the same packets give the same estimates as aiortc's own
        args = {"arrival_time_ms": 1000 + i * 33, "abs_send_time": (i * 33 << 18) // 1000}
        assert lazy.add(**args, payload_size=1200, ssrc=7) == real.add(
            **args, payload_size=1200, ssrc=7
        )
    assert lazy._real is not None
    now_ms = 1000 + 59 * 33
    assert lazy._real.incoming_bitrate.rate(now_ms) == real.incoming_bitrate.rate(now_ms) > 0
