"""Percentiles of latency samples, reported the same way everywhere (milliseconds)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Percentiles:
    n: int
    p50: float
    p95: float
    p99: float
    max: float

    def to_json(self) -> dict[str, Any]:
        """Rounded to 0.01 ms; no samples gives null rather than JSON-invalid NaN."""
        return {
            k: (None if math.isnan(v) else round(v, 2)) if isinstance(v, float) else v
            for k, v in asdict(self).items()
        }


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted data (no interpolation: a real sample)."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summarize(samples_ms: Sequence[float]) -> Percentiles:
    ordered = sorted(samples_ms)
    return Percentiles(
        n=len(ordered),
        p50=percentile(ordered, 50),
        p95=percentile(ordered, 95),
        p99=percentile(ordered, 99),
        max=ordered[-1] if ordered else math.nan,
    )
