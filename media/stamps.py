"""Video frames that carry their own frame number and send time in the picture.

Loss, freeze and glass-to-glass latency can only be measured end to end if the receiver
knows which frame it is looking at and when it was made. RTP headers do not survive a
relay or a browser, pixels do: the stamp is a grid of large black/white blocks aligned to
16x16 macroblocks (flat blocks survive VP8/H.264 quantisation), guarded by a CRC so that
a damaged read gives None instead of a wrong number.

Layout: 96 bits = 32-bit frame number, 48-bit milliseconds, CRC-16/CCITT-FALSE over both;
written row by row, most significant bit first, from the top-left corner. The block size
grows with the width (16 px up to 1279 px wide, then 32, 48 ...) so the stamp stays
readable at every resolution; the reader derives it from the frame size.
"""

from __future__ import annotations

import asyncio
import binascii
import fractions
import time
from dataclasses import dataclass

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media.synthetic import BLACK, WHITE, Luma, Pattern, pattern_luma

NUMBER_BITS = 32
TIME_BITS = 48
CRC_BITS = 16
STAMP_BITS = NUMBER_BITS + TIME_BITS + CRC_BITS

VIDEO_CLOCK_RATE = 90_000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK_RATE)

_GRAY = (BLACK + WHITE) // 2
# A block whose mean lies between these is neither black nor white: the read is refused.
_LOW = BLACK + (WHITE - BLACK) * 0.3
_HIGH = BLACK + (WHITE - BLACK) * 0.7


@dataclass(frozen=True)
class Stamp:
    """What a frame says about itself: its number and when it was produced (Unix ms)."""

    number: int
    sent_at_ms: int

    def __post_init__(self) -> None:
        if not 0 <= self.number < 1 << NUMBER_BITS:
            raise ValueError(f"frame number must fit in {NUMBER_BITS} bits, got {self.number}")
        if not 0 <= self.sent_at_ms < 1 << TIME_BITS:
            raise ValueError(f"sent_at_ms must fit in {TIME_BITS} bits, got {self.sent_at_ms}")


@dataclass(frozen=True)
class StampLayout:
    """Where the stamp's blocks sit for one frame size."""

    block: int
    columns: int
    rows: int

    @classmethod
    def for_size(cls, width: int, height: int) -> StampLayout:
        """The layout for a frame size; ValueError if the stamp would not fit."""
        if width <= 0 or height <= 0 or width % 2 or height % 2:
            raise ValueError(f"frame size must be positive and even, got {width}x{height}")
        block = 16 * max(1, width // 640)
        columns = width // block
        rows = -(-STAMP_BITS // columns)
        if rows * block > height // 2:
            raise ValueError(f"{width}x{height} is too small for a {STAMP_BITS}-bit stamp")
        return cls(block=block, columns=columns, rows=rows)

    @property
    def height(self) -> int:
        """Pixel rows taken by the stamp at the top of the frame."""
        return self.rows * self.block


def now_ms() -> int:
    """Wall-clock Unix time in whole milliseconds, the stamp's time base."""
    return time.time_ns() // 1_000_000


def _bits(stamp: Stamp) -> list[int]:
    payload = stamp.number.to_bytes(4, "big") + stamp.sent_at_ms.to_bytes(6, "big")
    crc = binascii.crc_hqx(payload, 0xFFFF)
    word = int.from_bytes(payload + crc.to_bytes(2, "big"), "big")
    return [(word >> (STAMP_BITS - 1 - i)) & 1 for i in range(STAMP_BITS)]


def _unbits(bits: list[int]) -> Stamp | None:
    word = 0
    for bit in bits:
        word = (word << 1) | bit
    data = word.to_bytes(STAMP_BITS // 8, "big")
    payload, crc = data[:10], int.from_bytes(data[10:], "big")
    if binascii.crc_hqx(payload, 0xFFFF) != crc:
        return None
    return Stamp(int.from_bytes(payload[:4], "big"), int.from_bytes(payload[4:], "big"))


def draw_stamp(luma: Luma, stamp: Stamp) -> None:
    """Write the stamp's blocks over the top of a luma plane, in place."""
    height, width = luma.shape
    layout = StampLayout.for_size(width, height)
    luma[: layout.height, :] = _GRAY
    for i, bit in enumerate(_bits(stamp)):
        row, col = divmod(i, layout.columns)
        top, left = row * layout.block, col * layout.block
        luma[top : top + layout.block, left : left + layout.block] = WHITE if bit else BLACK


def stamp_frame(
    number: int,
    sent_at_ms: int,
    width: int,
    height: int,
    background: Pattern | Luma = Pattern.CAMERA,
) -> av.VideoFrame:
    """A yuv420p frame showing `background` (a pattern, or a luma plane to copy) under a stamp.

    The pattern is drawn for frame `number`, so successive numbers give moving pictures.
    """
    stamp = Stamp(number, sent_at_ms)
    if isinstance(background, Pattern):
        luma = pattern_luma(background, number, width, height)
    else:
        if background.shape != (height, width):
            raise ValueError(f"background is {background.shape}, expected {(height, width)}")
        luma = background.astype(np.uint8, copy=True)
    draw_stamp(luma, stamp)
    chroma = np.full((height // 2, width), 128, dtype=np.uint8)  # U and V planes, stacked
    return av.VideoFrame.from_ndarray(np.vstack([luma, chroma]), format="yuv420p")


def frame_luma(frame: av.VideoFrame) -> Luma:
    """The frame's luma plane as a height x width array (a copy)."""
    if frame.format.name not in ("yuv420p", "yuvj420p"):
        frame = frame.reformat(format="yuv420p")
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(-1, plane.line_size)
    return rows[: frame.height, : frame.width].copy()


def read_stamp(frame: av.VideoFrame) -> Stamp | None:
    """The stamp in a frame, or None if there is none or any block is unreadable.

    Only the centre of each block is averaged: the codec's deblocking filter smears edges.
    """
    try:
        layout = StampLayout.for_size(frame.width, frame.height)
    except ValueError:
        return None
    luma = frame_luma(frame)[: layout.height].astype(np.float32)
    b, m = layout.block, layout.block // 4
    bits: list[int] = []
    for i in range(STAMP_BITS):
        row, col = divmod(i, layout.columns)
        mean = float(luma[row * b + m : (row + 1) * b - m, col * b + m : (col + 1) * b - m].mean())
        if _LOW < mean < _HIGH:
            return None
        bits.append(int(mean >= _HIGH))
    return _unbits(bits)


class StampedVideoTrack(MediaStreamTrack):
    """A live video source of stamped frames, paced in real time like aiortc's VideoStreamTrack.

    Each frame carries its number (from 0) and the wall time at which recv() produced it.
    pattern=Pattern.SCREEN (or "screen") gives a screen-share-like picture, e.g.
    StampedVideoTrack(width=1280, height=720, fps=5, pattern="screen").
    nominal_time=True stamps each frame with its slot (start + n / fps, the time its pts
    and so its RTP timestamp say) instead of the moment it was drawn: a sync measurement
    then does not count the sender's own scheduling delays on a busy machine.
    """

    kind = "video"

    def __init__(
        self,
        width: int = 640,
        height: int = 480,
        fps: float = 30.0,
        pattern: Pattern | str = Pattern.CAMERA,
        *,
        nominal_time: bool = False,
    ) -> None:
        super().__init__()
        if not 0 < fps <= 240:
            raise ValueError(f"fps must be in (0, 240], got {fps}")
        StampLayout.for_size(width, height)
        self.width = width
        self.height = height
        self.fps = fps
        self.pattern = Pattern(pattern)
        self.nominal_time = nominal_time
        self._count = 0
        self._start: float | None = None

    @property
    def frames_sent(self) -> int:
        """How many frames recv() has returned."""
        return self._count

    async def recv(self) -> av.VideoFrame:
        """The next frame, no earlier than its slot: frame n is due at start + n / fps."""
        if self.readyState != "live":
            raise MediaStreamError
        number = self._count
        if self._start is None:
            self._start = time.time()
        else:
            await asyncio.sleep(self._start + number / self.fps - time.time())
        frame = self.draw(number)
        frame.pts = round(number * VIDEO_CLOCK_RATE / self.fps)
        frame.time_base = VIDEO_TIME_BASE
        self._count += 1
        return frame

    @property
    def started_at(self) -> float | None:
        """Wall time (Unix s) of frame 0's slot, once recv() has been called."""
        return self._start

    def draw(self, number: int) -> av.VideoFrame:
        """Frame `number`, stamped now or with its slot (a subclass may draw differently)."""
        if self.nominal_time and self._start is not None:
            sent_at = round((self._start + number / self.fps) * 1000)
        else:
            sent_at = now_ms()
        return stamp_frame(number, sent_at, self.width, self.height, self.pattern)
