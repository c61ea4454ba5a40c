"""What a relay worker counts for /metrics: plain integers bumped on the hot path, a sampled
forwarding-time histogram and the event loop's lag, reported to the pool with each `stats`.

Signaling renders them in Prometheus format with a `worker` label (signaling/metrics.py):
the worker itself imports no metrics library and serves no HTTP. Counters are process-wide
and only grow (a worker that is replaced starts again at zero; Prometheus' `rate()` copes).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from bisect import bisect_left
from typing import Any

FORWARD_BUCKETS_US: tuple[float, ...] = (10, 25, 50, 100, 250, 500, 1000, 2500, 10000)
"""Upper bounds (µs) of the forwarding-time histogram: one packet from decryption to the
last subscriber's send."""
LAG_BUCKETS_MS: tuple[float, ...] = (1, 5, 10, 25, 50, 100, 250, 1000)
SAMPLE_EVERY = 64
"""Every 64th packet is timed: two clock reads per 64 packets keep the cost negligible."""


class Histogram:
    """Cumulative-at-render bucket counts, sum and count (Prometheus' histogram shape)."""

    __slots__ = ("bounds", "count", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value
        self.count += 1

    def to_wire(self) -> dict[str, Any]:
        return {"bounds": list(self.bounds), "counts": self.counts, "sum": self.total}


class RelayCounters:
    """Process-wide counters of one worker (module singleton COUNTERS)."""

    __slots__ = (
        "arrival_stamps_fallback",
        "arrival_stamps_kernel",
        "bytes_forwarded",
        "forward_time",
        "loop_lag",
        "loop_lag_last_ms",
        "nacks_received",
        "nacks_sent",
        "packets_forwarded",
        "packets_received",
        "plis_sent",
        "receiver_reports_sent",
        "rtx_received",
        "rtx_refused",
        "rtx_sent",
        "send_failures",
        "send_side_limits",
        "send_side_loss_cuts",
        "send_side_overuses",
        "transport_feedback_received",
        "transport_feedback_sent",
    )

    def __init__(self) -> None:
        self.packets_received = 0
        self.packets_forwarded = 0
        self.bytes_forwarded = 0
        self.send_failures = 0
        self.nacks_received = 0
        self.nacks_sent = 0
        self.rtx_sent = 0
        self.rtx_refused = 0
        self.rtx_received = 0
        self.plis_sent = 0
        self.receiver_reports_sent = 0
        self.transport_feedback_sent = 0
        self.transport_feedback_received = 0
        self.send_side_limits = 0
        self.send_side_overuses = 0
        self.send_side_loss_cuts = 0
        self.arrival_stamps_kernel = 0
        self.arrival_stamps_fallback = 0
        self.forward_time = Histogram(FORWARD_BUCKETS_US)
        self.loop_lag = Histogram(LAG_BUCKETS_MS)
        self.loop_lag_last_ms = 0.0

    def to_wire(self) -> dict[str, Any]:
        return {
            "packets_received": self.packets_received,
            "packets_forwarded": self.packets_forwarded,
            "bytes_forwarded": self.bytes_forwarded,
            "send_failures": self.send_failures,
            "nacks_received": self.nacks_received,
            "nacks_sent": self.nacks_sent,
            "rtx_sent": self.rtx_sent,
            "rtx_refused": self.rtx_refused,
            "rtx_received": self.rtx_received,
            "plis_sent": self.plis_sent,
            "receiver_reports_sent": self.receiver_reports_sent,
            "transport_feedback_sent": self.transport_feedback_sent,
            "transport_feedback_received": self.transport_feedback_received,
            "send_side_limits": self.send_side_limits,
            "send_side_overuses": self.send_side_overuses,
            "send_side_loss_cuts": self.send_side_loss_cuts,
            "arrival_stamps_kernel": self.arrival_stamps_kernel,
            "arrival_stamps_fallback": self.arrival_stamps_fallback,
            "forward_time_us": self.forward_time.to_wire(),
            "loop_lag_ms": self.loop_lag.to_wire(),
            "loop_lag_last_ms": self.loop_lag_last_ms,
            "cpu_seconds": time.process_time(),
        }


COUNTERS = RelayCounters()


async def watch_loop_lag(counters: RelayCounters = COUNTERS, every: float = 0.25) -> None:
    """How late the loop wakes from a sleep: time every callback waits behind others."""
    loop = asyncio.get_running_loop()
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            due = loop.time() + every
            await asyncio.sleep(every)
            lag = max(0.0, (loop.time() - due) * 1000)
            counters.loop_lag_last_ms = lag
            counters.loop_lag.observe(lag)
