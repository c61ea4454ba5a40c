"""Video frames around a paused span (media/recording/depacketize.py: video_frames).

The recorder takes nothing while paused, so a frame captured inside the span reached the
file only because its sender ran late and delivered it after the resume. The keyframe asked
for at the resume is often such a frame. Leaving it out lost every frame after it until the
sender's next keyframe (CI, 2026-12-01: a screen share's recording had nothing after a
resume). It is placed at the span's end instead."""

from __future__ import annotations

from media.recording.depacketize import FrameStats, video_frames
from media.recording.timeline import RtpPacket

PAUSE = (1_000_000, 3_000_000)  # µs on the relay's clock
KEYFRAME = b"\x00\x00\x00\x9d\x01\x2a" + (320).to_bytes(2, "little") + (240).to_bytes(2, "little")
DELTA = b"\x01\x00\x00"


def packet(seq: int, wall_ms: int, frame: bytes) -> RtpPacket:
    """One whole VP8 frame in one packet (descriptor: start of partition 0)."""
    return RtpPacket(
        ssrc=7,
        seq=seq,
        timestamp=wall_ms * 90,
        marker=True,
        payload=b"\x10" + frame + bytes(20),
        arrival_us=wall_ms * 1000,
        wall_us=wall_ms * 1000,
    )


def test_a_late_keyframe_from_inside_a_pause_starts_the_video_again_at_its_end() -> None:
    packets = [
        packet(1, 500, KEYFRAME),
        packet(2, 600, DELTA),
        # paused: nothing recorded (sequence numbers 3-9 never reached the file)
        packet(10, 2900, DELTA),  # captured inside, refers to frames never recorded
        packet(11, 2950, KEYFRAME),  # the keyframe asked for at the resume, captured late
        packet(12, 2990, DELTA),
        packet(13, 3100, DELTA),
    ]
    stats = FrameStats()
    frames = list(video_frames(packets, "video/VP8", stats, [PAUSE]))
    placed = [(frame.wall_us // 1000, frame.keyframe) for frame in frames]
    assert placed == [(500, True), (600, False), (3000, True), (3000, False), (3100, False)]
    assert stats.skipped == 1 and stats.frames == 5


def test_without_a_keyframe_nothing_after_a_pause_is_placed() -> None:
    packets = [packet(1, 500, KEYFRAME), packet(10, 2900, DELTA), packet(11, 3100, DELTA)]
    stats = FrameStats()
    frames = list(video_frames(packets, "video/VP8", stats, [PAUSE]))
    assert [frame.wall_us // 1000 for frame in frames] == [500]
    assert stats.skipped == 2
