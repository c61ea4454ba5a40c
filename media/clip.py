"""The call load's media, encoded once: a looped VP8 clip of stamped frames (640x480 at 30 fps
unless a profile says otherwise) and Opus.

Encoding 640x480 VP8 costs milliseconds per frame; doing it once per publisher would make
the load generator, not the path under test, the bottleneck on a 2-core machine. So the
clip is encoded once before the run and every publisher sends the same encoded frames
(aiortc packs pre-encoded `av.Packet`s). Frame k carries media/stamps.py's stamp with
number k; a subscriber that does not decode recognises frame k by its first bytes, which
a forwarding path leaves untouched.
"""

from __future__ import annotations

import fractions
import pickle
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from media.stamps import stamp_frame
from media.synthetic import Luma, camera_luma

WIDTH, HEIGHT, FPS = 640, 480, 30
KEYFRAME_INTERVAL = 2 * FPS
"""A keyframe every 2 s: a subscriber that joins late (or a relay that waits for one) is
never held long, and no path has to ask the shared encoder for one."""
AUDIO_RATE = 48_000
AUDIO_FRAME = 960  # 20 ms
KEY_BYTES = 64
"""Leading bytes of a VP8 frame that identify it (they hold the frame header and modes)."""


@dataclass(frozen=True)
class Clip:
    """Encoded frames in sending order; video[0] is a keyframe, so the loop restarts cleanly,
    and so is every `keyframe_interval`-th frame after it."""

    video: list[bytes]
    audio: list[bytes]
    bitrate: int
    fps: int = FPS
    keyframe_interval: int = KEYFRAME_INTERVAL

    def video_index(self) -> dict[bytes, int]:
        """Frame number by its leading bytes, for subscribers that only look at RTP."""
        return {frame[:KEY_BYTES]: k for k, frame in enumerate(self.video)}

    def save(self, path: Path) -> None:
        fields = (self.video, self.audio, self.bitrate, self.fps, self.keyframe_interval)
        path.write_bytes(pickle.dumps(fields))

    @classmethod
    def load(cls, path: Path) -> Clip:
        return cls(*pickle.loads(path.read_bytes()))


def _texture(k: int, width: int = WIDTH, height: int = HEIGHT) -> Luma:
    """Camera-like motion plus panning noise, so the encoder needs its whole bit budget."""
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 48, size=(height, width), dtype=np.int32)
    moving = np.roll(noise, 3 * k, axis=1)
    luma: Luma = np.clip(camera_luma(k, width, height) + moving - 24, 16, 235).astype(np.uint8)
    return luma


def encode_video(
    frames: int,
    bitrate: int,
    width: int = WIDTH,
    height: int = HEIGHT,
    fps: int = FPS,
    keyframe_interval: int = KEYFRAME_INTERVAL,
) -> list[bytes]:
    """VP8 the way aiortc's encoder sets libvpx up (realtime, CBR), with a fixed GOP."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = fractions.Fraction(1, fps)
    codec.framerate = fractions.Fraction(fps, 1)
    codec.bit_rate = bitrate
    codec.gop_size = keyframe_interval
    codec.qmin, codec.qmax = 2, 56
    codec.options = {
        "bufsize": str(bitrate),
        "cpu-used": "-6",
        "deadline": "realtime",
        "lag-in-frames": "0",
        "minrate": str(bitrate),
        "maxrate": str(bitrate),
        "static-thresh": "1",
        "undershoot-pct": "100",
        "overshoot-pct": "15",
    }
    out: list[bytes] = []
    for k in range(frames):
        frame = stamp_frame(k, 0, width, height, background=_texture(k, width, height))
        frame.pts = k
        frame.time_base = codec.time_base
        if k % keyframe_interval == 0:
            frame.pict_type = av.video.frame.PictureType.I
        data = b"".join(bytes(p) for p in codec.encode(frame))
        out.append(data)
    return out


def encode_audio(frames: int) -> list[bytes]:
    """Opus (as aiortc sends it: 48 kHz stereo, 20 ms) of a 440 Hz tone."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.format, codec.layout = AUDIO_RATE, "s16", "stereo"
    codec.bit_rate = 32_000
    codec.time_base = fractions.Fraction(1, AUDIO_RATE)
    t = np.arange(frames * AUDIO_FRAME) / AUDIO_RATE
    wave = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
    out: list[bytes] = []
    for i in range(frames):
        chunk = np.repeat(wave[i * AUDIO_FRAME : (i + 1) * AUDIO_FRAME], 2).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
        frame.sample_rate, frame.pts = AUDIO_RATE, i * AUDIO_FRAME
        frame.time_base = codec.time_base
        out += [bytes(p) for p in codec.encode(frame)]
    return out


def build(
    seconds: int = 10,
    bitrate: int = 1_000_000,
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
    fps: int = FPS,
    keyframe_seconds: float = KEYFRAME_INTERVAL / FPS,
    check_index: bool = True,
) -> Clip:
    """`check_index`: the benchmarks' subscribers recognise frames by their leading bytes."""
    interval = max(1, round(keyframe_seconds * fps))
    video = encode_video(seconds * fps, bitrate, width, height, fps, interval)
    index = {frame[:KEY_BYTES] for frame in video}
    if check_index and len(index) != len(video):
        raise RuntimeError("two clip frames share their leading bytes; change the texture")
    return Clip(video, encode_audio(seconds * 50), bitrate, fps, interval)


if __name__ == "__main__":
    import time

    started = time.monotonic()
    clip = build()
    sizes = [len(f) for f in clip.video]
    print(
        f"{len(clip.video)} frames in {time.monotonic() - started:.1f} s, "
        f"{sum(sizes) * 8 / (len(sizes) / FPS) / 1e3:.0f} kbit/s, keyframe {sizes[0]} B, "
        f"audio {len(clip.audio)} packets of ~{sum(map(len, clip.audio)) // len(clip.audio)} B"
    )
