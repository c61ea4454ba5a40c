"""Encoded frames → a WebM or MP4 file, with PyAV, without decoding.

VP8 goes into WebM, H.264 into MP4 (Chromium plays both: canPlayType says "probably" for
`video/webm; codecs="vp8"` and `video/mp4; codecs="avc1.42e01f"`, and Matroska with
H.264 only "maybe"), Opus into an audio-only WebM. Timestamps are the frames' capture
times, so a gap stays a gap: video holds its last picture, and audio gaps are filled
with 20 ms Opus silence frames (a player's audio clock would otherwise run on).
"""

from __future__ import annotations

import fractions
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import av

from media.recording.depacketize import Frame

MS = fractions.Fraction(1, 1000)
H264_TIME_BASE = fractions.Fraction(1, 90_000)
OPUS_FRAME_MS = 20
OPUS_SILENCE = b"\xfc\xff\xfe"
"""20 ms of digital silence as libopus encodes it (48 kHz, stereo, CELT): three bytes."""
MAX_VIDEO_FRAME_MS = 1000


@dataclass(frozen=True, slots=True)
class Muxed:
    path: Path
    mime: str
    first_wall_us: int
    duration_ms: int
    frames: int
    silence_frames: int = 0


class MuxError(RuntimeError):
    pass


def container_for(mime_type: str) -> tuple[str, str, str]:
    """(ffmpeg format, file suffix, MIME) for a track of this codec."""
    codec = mime_type.lower()
    if codec == "video/vp8":
        return "webm", ".webm", "video/webm"
    if codec == "video/h264":
        return "mp4", ".mp4", "video/mp4"
    if codec == "audio/opus":
        return "webm", ".webm", "audio/webm"
    raise MuxError(f"no container for {mime_type}")


def write_video(
    frames: Iterable[Frame],
    path_stem: Path,
    mime_type: str,
    on_frame: Callable[[], None] | None = None,
) -> Muxed | None:
    """Mux VP8 or H.264 frames (first one a keyframe) into `path_stem` + suffix; None if
    there is no frame."""
    fmt, suffix, mime = container_for(mime_type)
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        return None
    path = path_stem.with_name(path_stem.name + suffix)
    h264 = fmt == "mp4"
    time_base = H264_TIME_BASE if h264 else MS
    ticks_per_ms = 90 if h264 else 1
    options = {"movflags": "+faststart"} if h264 else {}
    container = av.open(str(path), "w", format=fmt, options=options)
    try:
        stream = container.add_mux_stream(
            "h264" if h264 else "vp8", width=first.width or 640, height=first.height or 480
        )
        stream.time_base = time_base
        last_pts = -1
        deltas: list[int] = []
        count = 0
        held: Frame | None = None  # each frame is written once the next one gives its duration
        for frame in _chain(first, iterator):
            pts = (frame.wall_us - first.wall_us) * ticks_per_ms // 1000
            if pts <= last_pts:
                pts = last_pts + 1  # two frames captured in one tick (or a clock step back)
            if held is not None:
                deltas.append(pts - last_pts)
                _mux(
                    container, stream, held.data, last_pts, time_base, held.keyframe, pts - last_pts
                )
            held, last_pts = frame, pts
            count += 1
            if on_frame is not None:
                on_frame()
        interval = sorted(deltas)[len(deltas) // 2] if deltas else 33 * ticks_per_ms
        interval = min(interval, MAX_VIDEO_FRAME_MS * ticks_per_ms)
        if held is not None:
            _mux(container, stream, held.data, last_pts, time_base, held.keyframe, interval)
        end_ms = (last_pts + interval) // ticks_per_ms
    finally:
        container.close()
    return Muxed(path, mime, first.wall_us, end_ms, count)


def write_audio(
    frames: Iterable[Frame], path_stem: Path, on_frame: Callable[[], None] | None = None
) -> Muxed | None:
    """Mux Opus frames into an audio-only WebM on a 20 ms grid, gaps filled with silence."""
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        return None
    path = path_stem.with_name(path_stem.name + ".webm")
    container = av.open(str(path), "w", format="webm")
    silence = count = 0
    try:
        # An encoder stream only for its codec parameters (OpusHead): nothing is encoded.
        stream = container.add_stream("libopus", rate=48_000, layout="stereo")
        stream.time_base = MS
        next_pts = 0
        for frame in _chain(first, iterator):
            pts = (frame.wall_us - first.wall_us) // 1000
            while pts - next_pts >= OPUS_FRAME_MS:  # a lost packet or a gap: silence
                _mux(container, stream, OPUS_SILENCE, next_pts, MS, True, OPUS_FRAME_MS)
                next_pts += OPUS_FRAME_MS
                silence += 1
            pts = max(pts, next_pts)  # never overlap the previous frame
            _mux(container, stream, frame.data, pts, MS, True, OPUS_FRAME_MS)
            next_pts = pts + OPUS_FRAME_MS
            count += 1
            if on_frame is not None:
                on_frame()
    finally:
        container.close()
    return Muxed(path, "audio/webm", first.wall_us, next_pts, count, silence)


def _chain(first: Frame, rest: Iterable[Frame]) -> Iterable[Frame]:
    yield first
    yield from rest


def _mux(
    container: av.container.OutputContainer,
    stream: av.stream.Stream,
    data: bytes,
    pts: int,
    time_base: fractions.Fraction,
    keyframe: bool,
    duration: int,
) -> None:
    packet = av.Packet(data)
    packet.stream = stream
    packet.pts = packet.dts = pts
    packet.duration = duration
    packet.time_base = time_base
    packet.is_keyframe = keyframe
    container.mux(packet)
