"""One downloadable review file: the screen large, the cameras small, both voices.

This is the one step that decodes and encodes (PyAV), so it runs after the call in the
job runner's process, never in a relay worker. Input is convert()'s per-track files,
placed on the recording's timeline by their start offsets; output is WebM (VP8 video,
Opus audio) with two audio streams: the two voices mixed (mono, what a player plays),
and the two voices kept apart (stereo: customer left, agent right).
"""

from __future__ import annotations

import fractions
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from media.recording.convert import OutputFile, Progress, _nothing, convert
from media.recording.decoded import SAMPLE_RATE, audio_chunks, video_frames

WIDTH, HEIGHT, FPS = 1280, 720, 15
HOLD_MS = 3000
"""A source's last picture stays up this long without a new frame (a static shared screen
sends few); after that it is gone (camera off, a reconnect)."""
AUDIO_CHUNK = 960  # 20 ms
MS = fractions.Fraction(1, 1000)
Plane = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Rect:
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each picture goes on the canvas. With a screen: the screen fitted into the
    whole canvas, the cameras small over its bottom-right corner (customer above agent).
    Without one: the cameras side by side (customer left)."""

    canvas: Rect
    pip_width: int

    def screen(self, width: int, height: int) -> Rect:
        return _fit(width, height, self.canvas)

    def pip(self, index: int, width: int, height: int) -> Rect:
        """The index-th small camera (0: customer, 1: agent), stacked up from the corner."""
        w = _even(self.pip_width)
        h = _even(w * height / max(width, 1))
        margin = 16
        x = self.canvas.width - w - margin
        y = self.canvas.height - (h + margin) * (2 - index)
        return Rect(x, max(y, 0), w, h)

    def side_by_side(self, index: int, width: int, height: int) -> Rect:
        half = Rect(index * self.canvas.width // 2, 0, self.canvas.width // 2, self.canvas.height)
        return _fit(width, height, half)


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def _fit(width: int, height: int, area: Rect) -> Rect:
    scale = min(area.width / max(width, 1), area.height / max(height, 1))
    w, h = _even(width * scale), _even(height * scale)
    return Rect(
        _even(area.x + (area.width - w) / 2) if area.x or area.width != w else area.x,
        _even(area.y + (area.height - h) / 2) if area.y or area.height != h else area.y,
        w,
        h,
    )


def default_layout(width: int = WIDTH, height: int = HEIGHT) -> Layout:
    return Layout(Rect(0, 0, width, height), pip_width=width // 4)


class _VideoSource:
    """One per-track video file on the recording's timeline; `at(t)` is its picture then."""

    def __init__(self, output: OutputFile) -> None:
        self.output = output
        self._frames: Iterator[tuple[float, av.VideoFrame]] = video_frames(output.path)
        self._current: tuple[int, av.VideoFrame] | None = None
        self._next: tuple[int, av.VideoFrame] | None = self._read()
        self._scaled: dict[tuple[int, int, int], tuple[Plane, Plane, Plane]] = {}

    def _read(self) -> tuple[int, av.VideoFrame] | None:
        item = next(self._frames, None)
        if item is None:
            return None
        seconds, frame = item
        return self.output.start_offset_ms + round(seconds * 1000), frame

    def at(self, t_ms: int) -> av.VideoFrame | None:
        while self._next is not None and self._next[0] <= t_ms:
            self._current, self._next = self._next, self._read()
            self._scaled.clear()
        if self._current is None or t_ms - self._current[0] > HOLD_MS:
            return None
        return self._current[1]

    def planes(self, frame: av.VideoFrame, rect: Rect) -> tuple[Plane, Plane, Plane]:
        """The frame scaled to `rect` as Y, U, V planes (cached until the next frame)."""
        key = (id(frame), rect.width, rect.height)
        cached = self._scaled.get(key)
        if cached is None:
            scaled = frame.reformat(width=rect.width, height=rect.height, format="yuv420p")
            cached = tuple(  # type: ignore[assignment]
                _plane(scaled, i, rect.width >> (i > 0), rect.height >> (i > 0)) for i in range(3)
            )
            self._scaled[key] = cached  # type: ignore[assignment]
        assert cached is not None
        return cached


def _plane(frame: av.VideoFrame, index: int, width: int, height: int) -> Plane:
    plane = frame.planes[index]
    rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(-1, plane.line_size)
    return rows[:height, :width]


def _paste(canvas: tuple[Plane, Plane, Plane], planes: tuple[Plane, ...], rect: Rect) -> None:
    for i, (target, source) in enumerate(zip(canvas, planes, strict=True)):
        shift = 1 if i else 0
        x, y = rect.x >> shift, rect.y >> shift
        h, w = source.shape
        target[y : y + h, x : x + w] = source


def composite(
    source: Sequence[OutputFile] | Path,
    out_path: Path,
    progress: Progress = _nothing,
    *,
    layout: Layout | None = None,
    fps: int = FPS,
) -> OutputFile:
    """The review file (WebM) from convert()'s outputs, or from a raw recording directory
    (converted into a temporary directory first)."""
    return composite_timed(source, out_path, progress, layout=layout, fps=fps)[0]


def composite_timed(
    source: Sequence[OutputFile] | Path,
    out_path: Path,
    progress: Progress = _nothing,
    *,
    layout: Layout | None = None,
    fps: int = FPS,
) -> tuple[OutputFile, CompositeStats]:
    """composite(), and how fast it went (the benchmark reports it)."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(source, Path):
        with tempfile.TemporaryDirectory(dir=out_path.parent) as scratch:
            outputs = convert(source, Path(scratch), lambda f: progress(f * 0.3))
            return _composite(outputs, out_path, lambda f: progress(0.3 + f * 0.7), layout, fps)
    return _composite(list(source), out_path, progress, layout, fps)


@dataclass(frozen=True, slots=True)
class CompositeStats:
    media_seconds: float
    cpu_seconds: float
    wall_seconds: float

    @property
    def speed(self) -> float:
        """Media seconds made per second of wall time (x real time)."""
        return self.media_seconds / self.wall_seconds if self.wall_seconds else 0.0


def _composite(
    outputs: list[OutputFile],
    out_path: Path,
    progress: Progress,
    layout: Layout | None,
    fps: int,
) -> tuple[OutputFile, CompositeStats]:
    started, cpu_started = time.monotonic(), time.process_time()
    layout = layout or default_layout()
    if not outputs:
        raise ValueError("nothing to composite: the recording has no track")
    start = min(o.start_offset_ms for o in outputs)
    end = max(o.start_offset_ms + o.duration_ms for o in outputs)
    screens = {o.participant: _VideoSource(o) for o in outputs if o.role == "screen"}
    cameras = {o.participant: _VideoSource(o) for o in outputs if o.role == "camera"}
    voices = {o.participant: o for o in outputs if o.role == "audio"}
    canvas_rect = layout.canvas
    container = av.open(str(out_path), "w", format="webm")
    try:
        video = container.add_stream("libvpx", rate=fps)
        video.width, video.height, video.pix_fmt = canvas_rect.width, canvas_rect.height, "yuv420p"
        video.bit_rate = 2_500_000
        # libvpx's fastest real-time settings; one thread: on a shared 2-core machine its
        # worker threads cost 5x more CPU per frame than they save (measured).
        video.options = {"deadline": "realtime", "cpu-used": "16", "lag-in-frames": "0"}
        video.thread_count = 1
        video.time_base = MS
        mix = container.add_stream("libopus", rate=SAMPLE_RATE, layout="mono")
        mix.metadata["title"] = "both voices"
        mix.time_base = fractions.Fraction(1, SAMPLE_RATE)
        apart = container.add_stream("libopus", rate=SAMPLE_RATE, layout="stereo")
        apart.metadata["title"] = "customer left, agent right"
        apart.time_base = fractions.Fraction(1, SAMPLE_RATE)
        streams = [
            _VoiceStream(voices[name], start) if name in voices else None
            for name in ("customer", "agent")
        ]
        length = (end - start) * SAMPLE_RATE // 1000
        frames = (end - start) * fps // 1000 + 1
        audio_at = 0
        for k in range(frames):
            t = start + k * 1000 // fps
            picture = _draw(layout, t, screens, cameras)
            picture.pts = t - start
            picture.time_base = MS
            container.mux(video.encode(picture))
            # Audio up to this picture's time, in 20 ms chunks.
            while audio_at * 1000 // SAMPLE_RATE <= t - start and audio_at < length:
                chunk = _voices_at(streams, audio_at)
                _encode_audio(container, mix, apart, chunk, audio_at)
                audio_at += AUDIO_CHUNK
            if k % fps == 0:
                progress(k / frames)
        while audio_at < length:
            _encode_audio(container, mix, apart, _voices_at(streams, audio_at), audio_at)
            audio_at += AUDIO_CHUNK
        container.mux(video.encode(None))
        container.mux(mix.encode(None))
        container.mux(apart.encode(None))
    finally:
        container.close()
    progress(1.0)
    stats = CompositeStats(
        (end - start) / 1000, time.process_time() - cpu_started, time.monotonic() - started
    )
    output = OutputFile(
        path=out_path,
        participant="both",
        role="all",
        kind="composite",
        mime="video/webm",
        duration_ms=end - start,
        start_offset_ms=start,
        bytes=out_path.stat().st_size,
    )
    return output, stats


def _draw(
    layout: Layout,
    t: int,
    screens: dict[str, _VideoSource],
    cameras: dict[str, _VideoSource],
) -> av.VideoFrame:
    rect = layout.canvas
    y = np.full((rect.height, rect.width), 16, dtype=np.uint8)
    u = np.full((rect.height // 2, rect.width // 2), 128, dtype=np.uint8)
    v = np.full((rect.height // 2, rect.width // 2), 128, dtype=np.uint8)
    canvas = (y, u, v)
    # The customer's screen first: what support is usually about.
    screen = next(
        (
            (s, f)
            for name in ("customer", "agent", *screens)
            if (s := screens.get(name)) is not None and (f := s.at(t)) is not None
        ),
        None,
    )
    order = ["customer", "agent", *[n for n in cameras if n not in ("customer", "agent")]]
    live = [(cameras[n], f) for n in order if n in cameras and (f := cameras[n].at(t)) is not None]
    for source in screens.values():
        source.at(t)  # keep every source's position current
    if screen is not None:
        source, frame = screen
        box = layout.screen(frame.width, frame.height)
        _paste(canvas, source.planes(frame, box), box)
        for index, (camera, frame) in enumerate(live[:2]):
            box = layout.pip(index, frame.width, frame.height)
            _paste(canvas, camera.planes(frame, box), box)
    else:
        for index, (camera, frame) in enumerate(live[:2]):
            box = layout.side_by_side(index, frame.width, frame.height)
            _paste(canvas, camera.planes(frame, box), box)
    out = av.VideoFrame(rect.width, rect.height, "yuv420p")
    for i, plane in enumerate(canvas):
        _copy_into(out, i, plane)
    return out


def _copy_into(frame: av.VideoFrame, index: int, data: Plane) -> None:
    plane = frame.planes[index]
    rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(-1, plane.line_size)
    rows[: data.shape[0], : data.shape[1]] = data


class _VoiceStream:
    """One voice file decoded as it is needed: samples of the composite's timeline come out
    in order, so only a few frames are ever held (an hour of both voices would be 1.4 GB
    as float32)."""

    def __init__(self, output: OutputFile, start_ms: int) -> None:
        self._origin = (output.start_offset_ms - start_ms) * SAMPLE_RATE // 1000
        self._chunks = audio_chunks(output.path)
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_at = 0
        """Timeline sample where the buffer starts."""
        self._done = False

    def take(self, at: int, count: int) -> npt.NDArray[np.float32]:
        """Samples [at, at + count) of the timeline (silence where the voice has none);
        `at` never goes back."""
        while not self._done and self._buffer_at + self._buffer.size < at + count:
            chunk = next(self._chunks, None)
            if chunk is None:
                self._done = True
                break
            first, samples = chunk
            position = self._origin + first
            end = self._buffer_at + self._buffer.size
            if not self._buffer.size:
                self._buffer_at = position
            elif position > end:  # a gap in the file: silence
                self._buffer = np.concatenate([self._buffer, np.zeros(position - end, np.float32)])
            elif position < end:  # overlap (rounding): keep what is there
                samples = samples[end - position :]
            self._buffer = np.concatenate([self._buffer, samples])
        out = np.zeros(count, dtype=np.float32)
        lo, hi = max(at, self._buffer_at), min(at + count, self._buffer_at + self._buffer.size)
        if hi > lo:
            out[lo - at : hi - at] = self._buffer[lo - self._buffer_at : hi - self._buffer_at]
        drop = max(0, at + count - self._buffer_at)
        self._buffer, self._buffer_at = self._buffer[drop:], self._buffer_at + drop
        return out


def _voices_at(streams: list[_VoiceStream | None], at: int) -> npt.NDArray[np.float32]:
    """(2, 960) float32: the customer's voice, the agent's, at timeline sample `at`."""
    rows = [
        s.take(at, AUDIO_CHUNK) if s is not None else np.zeros(AUDIO_CHUNK, np.float32)
        for s in streams
    ]
    return np.stack(rows)


def _encode_audio(
    container: av.container.OutputContainer,
    mix: av.stream.Stream,
    apart: av.stream.Stream,
    chunk: npt.NDArray[np.float32],
    pts: int,
) -> None:
    if chunk.shape[1] < AUDIO_CHUNK:
        chunk = np.pad(chunk, ((0, 0), (0, AUDIO_CHUNK - chunk.shape[1])))
    mono = np.clip(chunk.sum(axis=0), -1.0, 1.0).reshape(1, -1).astype(np.float32)
    for stream, data, layout in ((mix, mono, "mono"), (apart, chunk, "stereo")):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format="fltp", layout=layout)
        frame.sample_rate = SAMPLE_RATE
        frame.pts = pts
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        container.mux(stream.encode(frame))  # type: ignore[attr-defined]
