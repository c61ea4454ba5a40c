"""Stamped video and the test tone through the real codecs of the call path (aiortc's)."""

from __future__ import annotations

import time
from collections.abc import Callable

import av
import numpy as np
import pytest
from aiortc.codecs.base import Decoder, Encoder
from aiortc.codecs.h264 import H264Decoder, H264Encoder, h264_depayload
from aiortc.codecs.opus import OpusDecoder, OpusEncoder
from aiortc.codecs.vpx import Vp8Decoder, Vp8Encoder, vp8_depayload
from aiortc.jitterbuffer import JitterFrame

from media.stamps import (
    VIDEO_TIME_BASE,
    Stamp,
    StampedVideoTrack,
    StampLayout,
    frame_luma,
    now_ms,
    read_stamp,
    stamp_frame,
)
from media.synthetic import Pattern, camera_luma
from media.tone import (
    SAMPLE_RATE,
    SAMPLES_PER_FRAME,
    ToneAudioTrack,
    dominant_frequency,
    frame_samples,
    tone_frame,
    tone_level_dbfs,
)

T0 = 1_700_000_000_000
Depayload = Callable[[bytes], bytes]


def round_trip(
    encoder: Encoder, decoder: Decoder, depayload: Depayload, frames: list[av.VideoFrame]
) -> list[av.VideoFrame]:
    """Encode, packetise, depacketise and decode, as sender and receiver do in a call."""
    out: list[av.VideoFrame] = []
    for frame in frames:
        payloads, timestamp = encoder.encode(frame)
        if payloads:
            data = b"".join(depayload(p) for p in payloads)
            out += [
                f
                for f in decoder.decode(JitterFrame(data, timestamp))
                if isinstance(f, av.VideoFrame)
            ]
    return out


def stamped(count: int, width: int, height: int, pattern: Pattern) -> list[av.VideoFrame]:
    frames = []
    for n in range(count):
        frame = stamp_frame(n, T0 + n * 33, width, height, pattern)
        frame.pts, frame.time_base = n * 3000, VIDEO_TIME_BASE
        frames.append(frame)
    return frames


SIZES = [
    (640, 480, Pattern.CAMERA),
    (320, 240, Pattern.CAMERA),
    (1280, 720, Pattern.SCREEN),
]


@pytest.mark.parametrize(("width", "height", "pattern"), SIZES)
def test_stamps_survive_vp8(width: int, height: int, pattern: Pattern) -> None:
    decoded = round_trip(
        Vp8Encoder(), Vp8Decoder(), vp8_depayload, stamped(60, width, height, pattern)
    )
    assert [read_stamp(f) for f in decoded] == [Stamp(n, T0 + n * 33) for n in range(60)]


@pytest.mark.skipif("libx264" not in av.codecs_available, reason="PyAV built without libx264")
@pytest.mark.parametrize(("width", "height", "pattern"), SIZES[:2])
def test_stamps_survive_h264(width: int, height: int, pattern: Pattern) -> None:
    decoded = round_trip(
        H264Encoder(), H264Decoder(), h264_depayload, stamped(60, width, height, pattern)
    )
    assert [read_stamp(f) for f in decoded] == [Stamp(n, T0 + n * 33) for n in range(60)]


def yuv_frame(luma: np.ndarray) -> av.VideoFrame:
    height, width = luma.shape
    chroma = np.full((height // 2, width), 128, dtype=np.uint8)
    return av.VideoFrame.from_ndarray(np.vstack([luma, chroma]), format="yuv420p")


@pytest.mark.parametrize("value", [0, 16, 126, 235, 255])
def test_blank_frame_reads_none(value: int) -> None:
    assert read_stamp(yuv_frame(np.full((480, 640), value, dtype=np.uint8))) is None


def test_unstamped_picture_reads_none() -> None:
    assert read_stamp(yuv_frame(camera_luma(5, 640, 480))) is None


def test_one_flipped_block_reads_none_not_a_wrong_number() -> None:
    frame = stamp_frame(123_456, T0, 640, 480)
    luma = frame_luma(frame)
    assert read_stamp(yuv_frame(luma)) == Stamp(123_456, T0)
    block = StampLayout.for_size(640, 480).block
    for col in (0, 17, 39):
        damaged = luma.copy()
        cell = damaged[:block, col * block : (col + 1) * block]
        cell[...] = 251 - cell  # black <-> white
        assert read_stamp(yuv_frame(damaged)) is None


def test_half_grey_block_is_refused() -> None:
    luma = frame_luma(stamp_frame(7, T0, 320, 240))
    luma[16:32, 16:32] = 126
    assert read_stamp(yuv_frame(luma)) is None


def test_full_range_values_and_custom_background() -> None:
    background = np.zeros((240, 320), dtype=np.uint8)
    frame = stamp_frame(2**32 - 1, 2**48 - 1, 320, 240, background)
    assert read_stamp(frame) == Stamp(2**32 - 1, 2**48 - 1)
    assert frame.format.name == "yuv420p"


def test_invalid_stamps_and_sizes() -> None:
    with pytest.raises(ValueError, match="32 bits"):
        Stamp(2**32, 0)
    with pytest.raises(ValueError, match="48 bits"):
        Stamp(0, -1)
    with pytest.raises(ValueError, match="too small"):
        stamp_frame(0, 0, 160, 120)
    assert read_stamp(av.VideoFrame(160, 120, "yuv420p")) is None


async def test_track_stamps_numbers_pts_and_wall_time() -> None:
    track = StampedVideoTrack(width=320, height=240, fps=50)
    before = now_ms()
    started = time.monotonic()
    frames = [await track.recv() for _ in range(4)]
    elapsed = time.monotonic() - started
    stamps = [read_stamp(f) for f in frames]
    assert [s.number if s else None for s in stamps] == [0, 1, 2, 3]
    assert all(s and before <= s.sent_at_ms <= now_ms() for s in stamps)
    assert [f.pts for f in frames] == [0, 1800, 3600, 5400]
    assert all(f.time_base == VIDEO_TIME_BASE for f in frames)
    assert elapsed >= 3 / 50 - 0.005  # paced: frame 3 is due 60 ms after frame 0
    track.stop()


async def test_screen_track() -> None:
    track = StampedVideoTrack(width=1280, height=720, fps=5, pattern="screen")
    frame = await track.recv()
    assert (frame.width, frame.height) == (1280, 720)
    stamp = read_stamp(frame)
    assert stamp is not None and stamp.number == 0
    track.stop()


# The test tone ------------------------------------------------------------------------


def test_tone_survives_opus() -> None:
    encoder, decoder = OpusEncoder(), OpusDecoder()
    received = []
    for i in range(50):  # one second
        payloads, timestamp = encoder.encode(tone_frame(i * SAMPLES_PER_FRAME, 440.0, 0.5))
        for payload in payloads:
            for frame in decoder.decode(JitterFrame(payload, timestamp)):
                assert isinstance(frame, av.AudioFrame)
                received.append(frame_samples(frame))
    samples = np.concatenate(received)[SAMPLE_RATE // 10 :]  # skip the codec's warm-up
    assert dominant_frequency(samples, SAMPLE_RATE) == pytest.approx(440.0, abs=2.0)
    sent_level = 20 * np.log10(0.5) - 3.01  # RMS of a half-scale sine
    # aiortc upmixes mono to stereo at -3 dB before Opus; allow that and codec loss.
    assert tone_level_dbfs(samples, SAMPLE_RATE, 440.0) > sent_level - 6
    assert tone_level_dbfs(samples, SAMPLE_RATE, 1000.0) < sent_level - 30


async def test_tone_track_frames() -> None:
    track = ToneAudioTrack(frequency=1000.0, channels=2)
    frames = [await track.recv() for _ in range(3)]
    assert [f.pts for f in frames] == [0, 960, 1920]
    assert all(f.samples == SAMPLES_PER_FRAME and f.layout.name == "stereo" for f in frames)
    assert all(f.sample_rate == SAMPLE_RATE for f in frames)
    samples = np.concatenate([frame_samples(f) for f in frames])
    assert dominant_frequency(samples, SAMPLE_RATE) == pytest.approx(1000.0, abs=1.0)
    assert tone_level_dbfs(samples, SAMPLE_RATE, 1000.0) == pytest.approx(-9.03, abs=0.1)
    track.stop()


def test_tone_measurements_on_plain_arrays() -> None:
    t = np.arange(4800) / SAMPLE_RATE
    ints = np.round(16384 * np.sin(2 * np.pi * 697.0 * t)).astype(np.int16)
    assert dominant_frequency(ints, SAMPLE_RATE) == pytest.approx(697.0, abs=1.0)
    assert tone_level_dbfs(np.zeros(4800), SAMPLE_RATE, 440.0) == float("-inf")
    with pytest.raises(ValueError):
        ToneAudioTrack(frequency=30_000.0)
    with pytest.raises(ValueError):
        dominant_frequency(np.zeros((2, 10)), SAMPLE_RATE)
