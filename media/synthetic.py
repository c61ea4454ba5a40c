"""Synthetic luma pictures: content that gives a video encoder realistic work.

A flat test picture compresses to almost nothing and hides encoder cost and artefacts, so
the camera-like pattern moves every frame and the screen-like one looks like a page of text
with a blinking cursor (mostly static, sharp edges), as a shared screen does.
"""

from __future__ import annotations

from enum import Enum

import numpy as np
import numpy.typing as npt

Luma = npt.NDArray[np.uint8]

# Video-range luma (BT.601/709 "limited range"): what real cameras and encoders expect.
BLACK = 16
WHITE = 235


class Pattern(Enum):
    """Kind of picture behind the stamp."""

    CAMERA = "camera"
    SCREEN = "screen"


def camera_luma(index: int, width: int, height: int) -> Luma:
    """A diagonal gradient drifting right plus a bright bar sweeping down: motion everywhere."""
    x = np.arange(width, dtype=np.int32)[np.newaxis, :]
    y = np.arange(height, dtype=np.int32)[:, np.newaxis]
    wave = (x + y // 2 + index * 4) % 256
    luma = BLACK + wave * (WHITE - BLACK) // 255
    bar = (y - index * 6) % max(height, 1) < max(height // 12, 2)
    return np.where(bar, WHITE, luma).astype(np.uint8)


def screen_luma(index: int, width: int, height: int) -> Luma:
    """Dark 'glyph' blocks in lines on a white page, with a blinking cursor."""
    luma = np.full((height, width), WHITE, dtype=np.uint8)
    glyph_w, glyph_h, cell_w, line_h = 6, 10, 8, 16
    rows, cols = height // line_h, width // cell_w
    rng = np.random.default_rng(7)  # fixed seed: the page is the same every frame
    ink = rng.random((rows, cols)) < 0.55
    cell = np.zeros((line_h, cell_w), dtype=bool)
    cell[3 : 3 + glyph_h, 1 : 1 + glyph_w] = True
    page = np.kron(ink, cell).astype(bool)
    luma[: rows * line_h, : cols * cell_w][page] = BLACK
    if (index // 8) % 2 == 0:
        line = (index // 30) % max(rows, 1)
        top = line * line_h + 2
        luma[top : top + line_h - 4, width - 8 : width - 5] = BLACK
    return luma


def pattern_luma(pattern: Pattern, index: int, width: int, height: int) -> Luma:
    """Dispatch on the pattern kind."""
    if pattern is Pattern.SCREEN:
        return screen_luma(index, width, height)
    return camera_luma(index, width, height)
