"""A sine-tone audio source and the measurements that tell whether it arrived.

Silence proves nothing about an audio path; a known tone does. After Opus encode/decode
(or a full call) the receiver checks that the dominant frequency is still the one sent and
that its level has not collapsed.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time

import av
import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

SAMPLE_RATE = 48_000
PTIME = 0.020  # 20 ms, the WebRTC/Opus packetisation time
SAMPLES_PER_FRAME = int(SAMPLE_RATE * PTIME)
FULL_SCALE = 32768.0

Samples = npt.NDArray[np.float64]


class ToneAudioTrack(MediaStreamTrack):
    """Live 48 kHz s16 audio of a continuous sine, paced in real time like AudioStreamTrack.

    amplitude is relative to full scale (1.0 = 0 dBFS peak); the phase runs on across frames
    so the tone has no clicks that would spread energy over the spectrum.
    """

    kind = "audio"

    def __init__(self, frequency: float = 440.0, amplitude: float = 0.5, channels: int = 1) -> None:
        super().__init__()
        if not 0 < frequency < SAMPLE_RATE / 2:
            raise ValueError(f"frequency must be in (0, {SAMPLE_RATE // 2}) Hz, got {frequency}")
        if not 0 <= amplitude <= 1:
            raise ValueError(f"amplitude must be in [0, 1], got {amplitude}")
        if channels not in (1, 2):
            raise ValueError(f"channels must be 1 or 2, got {channels}")
        self.frequency = frequency
        self.amplitude = amplitude
        self.channels = channels
        self._timestamp = 0
        self._start: float | None = None

    @property
    def samples_sent(self) -> int:
        """Samples recv() has returned so far."""
        return self._timestamp

    async def recv(self) -> av.AudioFrame:
        """The next 20 ms frame, no earlier than its slot in real time."""
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            await asyncio.sleep(self._start + self._timestamp / SAMPLE_RATE - time.time())
        frame = tone_frame(self._timestamp, self.frequency, self.amplitude, self.channels)
        self._timestamp += SAMPLES_PER_FRAME
        return frame


class ToneBurstTrack(ToneAudioTrack):
    """The sine in bursts: `burst` seconds on at the start of every `period`, silence
    between. Burst k starts at sample k x period x 48,000, i.e. at `started_at` + k x
    period on the sender's wall clock: a receiver that finds the onsets can tell how far
    its audio is from where it should be (sync against video stamps, media/stamps.py)."""

    def __init__(
        self,
        frequency: float = 440.0,
        amplitude: float = 0.5,
        period: float = 1.0,
        burst: float = 0.2,
    ) -> None:
        super().__init__(frequency, amplitude)
        if not 0 < burst < period:
            raise ValueError(f"burst must be in (0, period), got {burst} of {period}")
        self.period = period
        self.burst = burst

    @property
    def started_at(self) -> float | None:
        """Wall time (Unix s) of sample 0, once recv() has been called."""
        return self._start

    async def recv(self) -> av.AudioFrame:
        frame = await super().recv()
        first = int(frame.pts or 0)
        index = first + np.arange(SAMPLES_PER_FRAME)
        on = (index % round(self.period * SAMPLE_RATE)) < round(self.burst * SAMPLE_RATE)
        if not on.all():
            data = frame.to_ndarray().reshape(-1, self.channels)
            data[~on] = 0
            frame = av.AudioFrame.from_ndarray(data.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            frame.pts = first
            frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        return frame


def burst_onsets(
    samples: npt.NDArray[np.generic], sample_rate: int, threshold: float = 0.1, gap: float = 0.1
) -> list[float]:
    """Times (s from the first sample) where the level rises above `threshold` after at
    least `gap` s below it: the starts of tone bursts."""
    x = np.abs(_as_float(samples))
    window = max(1, sample_rate // 1000)  # 1 ms peak envelope
    usable = x.size - x.size % window
    envelope = x[:usable].reshape(-1, window).max(axis=1)
    loud = envelope > threshold
    onsets: list[float] = []
    quiet_for = gap * 1000
    for i, is_loud in enumerate(loud):
        if is_loud and quiet_for >= gap * 1000:
            onsets.append(i * window / sample_rate)
        quiet_for = 0 if is_loud else quiet_for + 1
    return onsets


def tone_frame(
    first_sample: int, frequency: float, amplitude: float = 0.5, channels: int = 1
) -> av.AudioFrame:
    """One 20 ms s16 frame of the sine, starting at sample index `first_sample` (also its pts)."""
    t = (first_sample + np.arange(SAMPLES_PER_FRAME)) / SAMPLE_RATE
    wave = np.round(amplitude * (FULL_SCALE - 1) * np.sin(2 * math.pi * frequency * t))
    # Packed s16: one row, channels interleaved.
    data = np.repeat(wave.astype(np.int16), channels).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(
        data, format="s16", layout="stereo" if channels == 2 else "mono"
    )
    frame.sample_rate = SAMPLE_RATE
    frame.pts = first_sample
    frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
    return frame


def frame_samples(frame: av.AudioFrame) -> Samples:
    """A frame's audio as mono floats in [-1, 1] (channels averaged), whatever its s16 layout."""
    if frame.format.name not in ("s16", "s16p"):
        raise ValueError(f"expected s16 audio, got {frame.format.name}")
    data = frame.to_ndarray().astype(np.float64) / FULL_SCALE
    channels = len(frame.layout.channels)
    if frame.format.is_planar:
        return np.asarray(data.mean(axis=0), dtype=np.float64)
    return np.asarray(data.reshape(-1, channels).mean(axis=1), dtype=np.float64)


def _as_float(samples: npt.NDArray[np.generic]) -> Samples:
    array = np.asarray(samples)
    if array.ndim != 1 or array.size < 2:
        raise ValueError("expected a 1-D array of at least two mono samples")
    if np.issubdtype(array.dtype, np.integer):
        return array.astype(np.float64) / FULL_SCALE
    return array.astype(np.float64)


def dominant_frequency(samples: npt.NDArray[np.generic], sample_rate: int) -> float:
    """The strongest frequency in mono samples, in Hz (Hann window, parabolic peak fit).

    Integer samples are read as s16; floats as [-1, 1]. The DC bin is ignored.
    """
    x = _as_float(samples)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    spectrum[0] = 0.0
    k = int(np.argmax(spectrum))
    offset = 0.0
    if 0 < k < spectrum.size - 1:
        a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-12)
        denominator = a - 2 * b + c
        offset = 0.5 * (a - c) / denominator if denominator else 0.0
    return float((k + offset) * sample_rate / x.size)


def tone_level_dbfs(
    samples: npt.NDArray[np.generic], sample_rate: int, frequency: float, band_hz: float = 25.0
) -> float:
    """RMS level, in dBFS, of the part of the signal within band_hz of frequency.

    Measured on the spectrum (Parseval) so noise elsewhere does not count; a full-scale sine
    reads -3.0 dBFS. Returns -inf for silence.
    """
    x = _as_float(samples)
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / sample_rate)
    in_band = np.abs(freqs - frequency) <= band_hz
    # One-sided spectrum: double every bin except DC (and Nyquist for even sizes).
    weights = np.full(power.size, 2.0)
    weights[0] = 1.0
    if x.size % 2 == 0:
        weights[-1] = 1.0
    mean_square = float((power * weights)[in_band].sum()) / x.size**2
    return 10 * math.log10(mean_square) if mean_square > 0 else -math.inf
