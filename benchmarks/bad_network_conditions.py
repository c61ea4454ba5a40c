"""The conditions issue 13 measures calls under, and the yardsticks their figures use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks import netns

RESULTS = Path(__file__).parent / "results"
PATHS = ["relay", "janus", "p2p"]
FREEZE_S = 0.2
"""An inter-frame gap longer than this is a freeze (the issue's 200 ms)."""
DIP_S, PRE_DIP_S = 10.0, 10.0
"""The pre-dip part is one loop of the 10 s clip, so its worst gap (the clip's first keyframe
through the 1 Mbit/s cap) is the yardstick for "recovered"."""
GAP_TOLERANCE_S = 0.05
"""A post-dip gap this much longer than the worst pre-dip gap still counts as recovered
(a frame interval or so of scheduling jitter)."""
JANUS_PEER_ADDRESS = "10.77.0.2"
"""The hub's end of Janus's veth (janus_server.VETH_ADDRESS is 10.77.0.1/24)."""


@dataclass(frozen=True)
class Condition:
    """One impairment of one leg; delay applies to both directions of the leg (its RTT)."""

    label: str
    loss: float = 0.0
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    rate_kbit: int | None = None
    dip_kbit: int | None = None


CONDITIONS = {
    "clean": Condition("no impairment"),
    "loss2": Condition("2 % random loss", loss=0.02),
    "loss5": Condition("5 % random loss", loss=0.05),
    "delay": Condition(
        "+150 ms RTT (75 ms each way), jitter ±15 ms each way", delay_ms=75, jitter_ms=15
    ),
    "delay_loss2": Condition(
        "+150 ms RTT, jitter ±15 ms, and 2 % loss (repair has to wait a round trip)",
        loss=0.02,
        delay_ms=75,
        jitter_ms=15,
    ),
    "cap": Condition("1 Mbit/s cap", rate_kbit=1000),
    "dip": Condition("1 Mbit/s, 10 s dip to 300 kbit/s", rate_kbit=1000, dip_kbit=300),
}
LEGS: dict[str, tuple[str, netns.Direction]] = {
    "uplink": ("pub", "up"),
    "downlink": ("sub", "down"),
}
