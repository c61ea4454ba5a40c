"""Call quality (MOS) estimated from network statistics, and when to call it poor.

The estimate is the simplified ITU-T G.107 E-model used by many WebRTC monitoring tools
(e.g. callstats.io, PingPlotter, VoIP network monitors); it needs only what WebRTC stats
report (RTT, jitter, loss), no audio analysis:

    effective latency  L  = rtt/2 + 2 * jitter + 10 ms          (10 ms ~ codec delay)
    delay impairment   Id = L / 40              if L < 160 ms
                            (L - 120) / 10      otherwise
    loss impairment    Ie = 2.5 * loss_pct
    rating factor      R  = 93.2 - Id - Ie                       (93.2: G.107 default R)
    MOS                   = 1 + 0.035 R + 7e-6 R (R - 60) (100 - R),
                            1 for R <= 0, 4.5 for R >= 100         (G.107 Annex B)

MOS tops out near 4.4 on a perfect network. Levels: good >= 4.0, fair >= 3.1, else poor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

GOOD_MOS = 4.0
FAIR_MOS = 3.1

MAX_RTT_MS = 60_000.0
MAX_JITTER_MS = 60_000.0
MAX_BITRATE_KBPS = 1_000_000.0
MAX_FPS = 240.0
MAX_DIMENSION = 16_384


class QualityLevel(Enum):
    """What the user is told; values are the wire strings."""

    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"


def _check_range(name: str, value: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or not 0 <= value <= high:
        raise ValueError(f"{name} must be between 0 and {high:g}, got {value!r}")


@dataclass(frozen=True)
class QualitySample:
    """One reading of a stream's network stats; fps and size are None for audio."""

    rtt_ms: float
    jitter_ms: float
    loss_pct: float
    bitrate_kbps: float
    fps: float | None = None
    width: int | None = None
    height: int | None = None

    def __post_init__(self) -> None:
        _check_range("rtt_ms", self.rtt_ms, MAX_RTT_MS)
        _check_range("jitter_ms", self.jitter_ms, MAX_JITTER_MS)
        _check_range("loss_pct", self.loss_pct, 100.0)
        _check_range("bitrate_kbps", self.bitrate_kbps, MAX_BITRATE_KBPS)
        if self.fps is not None:
            _check_range("fps", self.fps, MAX_FPS)
        for name, size in (("width", self.width), ("height", self.height)):
            if size is None:
                continue
            if isinstance(size, bool) or not isinstance(size, int):
                raise ValueError(f"{name} must be a whole number of pixels, got {size!r}")
            if not 0 < size <= MAX_DIMENSION:
                raise ValueError(f"{name} must be between 1 and {MAX_DIMENSION}, got {size}")
        if (self.width is None) != (self.height is None):
            raise ValueError("width and height must be given together")


@dataclass(frozen=True)
class Assessment:
    """The verdict on one sample."""

    mos: float
    level: QualityLevel


def r_factor(rtt_ms: float, jitter_ms: float, loss_pct: float) -> float:
    """The E-model rating factor R (see the module docstring); unclamped."""
    latency = rtt_ms / 2 + 2 * jitter_ms + 10
    delay = latency / 40 if latency < 160 else (latency - 120) / 10
    return 93.2 - delay - 2.5 * loss_pct


def mos_from_r(r: float) -> float:
    """G.107 Annex B mapping of R to MOS, clamped to 1..4.5."""
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    return min(4.5, max(1.0, 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)))


def level_for(mos: float) -> QualityLevel:
    """good >= 4.0 > fair >= 3.1 > poor."""
    if mos >= GOOD_MOS:
        return QualityLevel.GOOD
    if mos >= FAIR_MOS:
        return QualityLevel.FAIR
    return QualityLevel.POOR


def assess(sample: QualitySample) -> Assessment:
    """MOS and level for a sample (from its rtt, jitter and loss)."""
    mos = mos_from_r(r_factor(sample.rtt_ms, sample.jitter_ms, sample.loss_pct))
    return Assessment(mos=mos, level=level_for(mos))


class PoorStreak:
    """Says when quality has stayed poor for `n` samples in a row, so a step down is offered
    once per bad spell rather than on every blip. Any non-poor sample starts the count again.
    """

    def __init__(self, n: int = 3) -> None:
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        self.n = n
        self._count = 0

    def observe(self, level: QualityLevel) -> bool:
        """Record one level; True on the n-th consecutive poor one (then the count resets)."""
        self._count = self._count + 1 if level is QualityLevel.POOR else 0
        if self._count >= self.n:
            self._count = 0
            return True
        return False
