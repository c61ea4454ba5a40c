"""MOS from network stats (simplified G.107 E-model) and the poor-quality streak."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest

from media.quality import (
    PoorStreak,
    QualityLevel,
    QualitySample,
    assess,
    level_for,
    mos_from_r,
    r_factor,
)


def sample(rtt: float = 0.0, jitter: float = 0.0, loss: float = 0.0) -> QualitySample:
    return QualitySample(rtt_ms=rtt, jitter_ms=jitter, loss_pct=loss, bitrate_kbps=500.0)


def test_perfect_network_is_good() -> None:
    result = assess(sample())
    assert result.mos == pytest.approx(4.40, abs=0.01)
    assert result.level is QualityLevel.GOOD


def test_300ms_rtt_and_5pct_loss_is_not_good() -> None:
    # latency 160 ms -> Id 4, Ie 12.5, R 76.7: the simplified model rates this fair.
    result = assess(sample(rtt=300, loss=5))
    assert r_factor(300, 0, 5) == pytest.approx(76.7)
    assert result.mos == pytest.approx(3.89, abs=0.01)
    assert result.level is QualityLevel.FAIR


@pytest.mark.parametrize(("rtt", "jitter", "loss"), [(300, 30, 15), (600, 50, 10), (2000, 0, 0)])
def test_bad_networks_are_poor(rtt: float, jitter: float, loss: float) -> None:
    assert assess(sample(rtt, jitter, loss)).level is QualityLevel.POOR


def test_mos_falls_monotonically_with_loss_rtt_and_jitter() -> None:
    by_loss = [assess(sample(rtt=100, loss=p)).mos for p in range(0, 101, 2)]
    by_rtt = [assess(sample(rtt=r, loss=1)).mos for r in range(0, 3000, 20)]
    by_jitter = [assess(sample(jitter=j)).mos for j in range(0, 500, 5)]
    for series in (by_loss, by_rtt, by_jitter):
        assert all(a >= b for a, b in itertools.pairwise(series))
        assert series[0] > series[-1]
    assert by_loss[-1] == 1.0


def test_mos_mapping_is_clamped() -> None:
    assert mos_from_r(-50) == 1.0
    assert mos_from_r(0) == 1.0
    assert mos_from_r(100) == 4.5
    assert mos_from_r(120) == 4.5
    assert 1.0 <= mos_from_r(30) <= 4.5


def test_level_boundaries() -> None:
    assert level_for(4.0) is QualityLevel.GOOD
    assert level_for(3.99) is QualityLevel.FAIR
    assert level_for(3.1) is QualityLevel.FAIR
    assert level_for(3.09) is QualityLevel.POOR
    assert QualityLevel.POOR.value == "poor"


def test_video_sample_fields() -> None:
    video = QualitySample(
        rtt_ms=40, jitter_ms=5, loss_pct=0.5, bitrate_kbps=900, fps=29.97, width=1280, height=720
    )
    assert assess(video).level is QualityLevel.GOOD


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("rtt_ms", -1.0, "rtt_ms must be between 0 and 60000"),
        ("rtt_ms", 60_001.0, "rtt_ms must be between"),
        ("rtt_ms", math.nan, "rtt_ms"),
        ("jitter_ms", math.inf, "jitter_ms"),
        ("loss_pct", 100.5, "loss_pct must be between 0 and 100"),
        ("loss_pct", -0.1, "loss_pct"),
        ("bitrate_kbps", -5.0, "bitrate_kbps"),
        ("rtt_ms", "10", "rtt_ms must be a number"),
        ("rtt_ms", True, "rtt_ms must be a number"),
        ("fps", -1.0, "fps"),
        ("width", 0, "width must be between 1"),
        ("width", 640.5, "whole number"),
    ],
)
def test_invalid_samples_are_refused(field: str, value: Any, message: str) -> None:
    fields: dict[str, Any] = {
        "rtt_ms": 10.0,
        "jitter_ms": 1.0,
        "loss_pct": 0.0,
        "bitrate_kbps": 100.0,
        "width": 640,
        "height": 480,
    }
    fields[field] = value
    with pytest.raises(ValueError, match=message):
        QualitySample(**fields)


def test_size_needs_both_dimensions() -> None:
    with pytest.raises(ValueError, match="together"):
        QualitySample(rtt_ms=0, jitter_ms=0, loss_pct=0, bitrate_kbps=0, width=640)


def test_poor_streak_fires_once_per_run_and_resets_on_recovery() -> None:
    streak = PoorStreak(n=3)
    poor, fair = QualityLevel.POOR, QualityLevel.FAIR
    seen = [streak.observe(level) for level in [poor, poor, fair, poor, poor, poor, poor]]
    assert seen == [False, False, False, False, False, True, False]
    assert [streak.observe(poor) for _ in range(2)] == [False, True]
    with pytest.raises(ValueError):
        PoorStreak(n=0)
