"""Decoding the converted files (for the composite, and for checking them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 48_000
Samples = npt.NDArray[np.float32]


def audio_samples(path: Path, channels: int = 1, stream: int = 0) -> tuple[Samples, float]:
    """One audio stream of the file (the first by default) as float32 in [-1, 1] at 48 kHz,
    shape (channels, n), and the time (s) of its first sample. Gaps are silence."""
    layout = "mono" if channels == 1 else "stereo"
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=SAMPLE_RATE)
    chunks: list[tuple[int, Samples]] = []
    with av.open(str(path)) as container:
        for frame in container.decode(container.streams.audio[stream]):
            for out in resampler.resample(frame):
                start = round(float(out.time or 0) * SAMPLE_RATE)
                chunks.append((start, out.to_ndarray().astype(np.float32)))
        for out in resampler.resample(None):
            start = round(float(out.time or 0) * SAMPLE_RATE)
            chunks.append((start, out.to_ndarray().astype(np.float32)))
    if not chunks:
        return np.zeros((channels, 0), dtype=np.float32), 0.0
    first = chunks[0][0]
    end = max(start + data.shape[1] for start, data in chunks)
    samples = np.zeros((channels, end - first), dtype=np.float32)
    for start, data in chunks:
        samples[:, start - first : start - first + data.shape[1]] = data
    return samples, first / SAMPLE_RATE


def audio_chunks(path: Path) -> Iterator[tuple[int, Samples]]:
    """(first sample, mono float32 samples) of the file's first audio stream at 48 kHz, in
    order, decoded as they are asked for; `first` counts from the file's time 0."""
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=SAMPLE_RATE)
    with av.open(str(path)) as container:
        for frame in container.decode(container.streams.audio[0]):
            for out in resampler.resample(frame):
                first = round(float(out.time or 0) * SAMPLE_RATE)
                yield first, out.to_ndarray()[0].astype(np.float32)
        for out in resampler.resample(None):
            first = round(float(out.time or 0) * SAMPLE_RATE)
            yield first, out.to_ndarray()[0].astype(np.float32)


def video_frames(path: Path) -> Iterator[tuple[float, av.VideoFrame]]:
    """(time s, frame) of the file's first video stream, in presentation order."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            yield float(frame.time or 0.0), frame
