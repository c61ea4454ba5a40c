"""The server's garbage-collector pauses (written by benchmarks/gc_hook with --gc-log),
summarized per measurement window."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOOK_DIR = Path(__file__).parent / "gc_hook"


@dataclass(frozen=True)
class Pause:
    at: float  # time.monotonic() when the collection started
    generation: int
    ms: float


class GcLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def pauses(self) -> list[Pause]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            at, generation, ms = line.split()[:3]  # BENCH_GC_DETAIL adds fields
            out.append(Pause(float(at), int(generation), float(ms)))
        return out

    def window(self, start: float, end: float) -> dict[str, Any]:
        """Full collections and long pauses that started in [start, end]."""
        inside = [p for p in self.pauses() if start <= p.at <= end]
        full = [p for p in inside if p.generation == 2]
        return {
            "full_collections": len(full),
            "longest_pause_ms": round(max((p.ms for p in inside), default=0.0), 1),
            "paused_ms": round(sum(p.ms for p in inside), 1),
        }
