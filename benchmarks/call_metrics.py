"""From raw records to figures: loss and latency per ramp step, CPU fits per path.

A video frame counts as delivered if a subscriber received all of its packets within the
grace period after the window; its latency is the arrival of its last packet minus the
moment the publisher handed it to aiortc's sender. Loss is the worse of video frame loss
and RTP packet loss (audio and video, from sequence-number gaps).
"""

from __future__ import annotations

import bisect
import statistics
from typing import Any

LOSS_LIMIT_PCT = 0.5


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs from /proc/stat, for the machine's CPU %."""
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])
    return total - idle, total


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def match_frames(
    sent: list[tuple[int, float, float]], frames: list[tuple[int, float]]
) -> tuple[int, list[float]]:
    """(frames delivered, their latencies in ms): each arrival is matched to the latest
    sending of the same clip frame before it (the clip loops every 10 s)."""
    by_number: dict[int, list[float]] = {}
    for number, _due, at in sent:
        by_number.setdefault(number, []).append(at)
    for sendings in by_number.values():
        sendings.sort()
    seen: set[tuple[int, float]] = set()
    latencies: list[float] = []
    for number, arrived in frames:
        times = by_number.get(number)
        if not times:
            continue
        i = bisect.bisect_right(times, arrived) - 1
        if i < 0 or (number, times[i]) in seen:
            continue
        seen.add((number, times[i]))
        latencies.append((arrived - times[i]) * 1000)
    return len(seen), latencies


def step_figures(
    streams: int,
    window: float,
    sent: dict[int, list[tuple[int, float, float]]],
    received: dict[int, dict[str, Any]],
) -> dict[str, Any]:
    frames_sent = delivered = packets = expected = unknown = 0
    latencies: list[float] = []
    lateness: list[float] = []
    for stream, records in sent.items():
        got = received.get(stream, {"frames": [], "packets": 0, "expected_packets": 0})
        count, lat = match_frames(records, got["frames"])
        frames_sent += len(records)
        delivered += count
        latencies += lat
        packets += got["packets"]
        expected += got["expected_packets"]
        unknown += sum(1 for k, _ in got["frames"] if k < 0)
        lateness += [(at - due) * 1000 for _, due, at in records]
    frame_loss = 100 * (1 - delivered / frames_sent) if frames_sent else 100.0
    packet_loss = 100 * (1 - packets / expected) if expected else 100.0
    return {
        "streams": streams,
        "window_s": window,
        "frames_sent": frames_sent,
        "frames_delivered": delivered,
        "frames_unidentified": unknown,
        "frame_loss_pct": frame_loss,
        "packet_loss_pct": packet_loss,
        "loss_pct": max(frame_loss, packet_loss),
        "packets_received": packets,
        "packets_per_s": packets / window,
        "latency_ms": {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "p99": percentile(latencies, 99),
        },
        "publisher_late_p95_ms": percentile(lateness, 95),
    }


def _slope(xs: list[float], ys: list[float]) -> float | None:
    if len(set(xs)) < 2:
        return None
    return statistics.linear_regression(xs, ys).slope


def path_summary(steps: list[dict[str, Any]], baseline_rss_mib: float | None) -> dict[str, Any]:
    """Figures over the steps that stayed below the loss limit."""
    passing = [s for s in steps if s["verdict"] == "ok"]
    summary: dict[str, Any] = {"max_streams": max((s["streams"] for s in passing), default=0)}
    measured = [s for s in passing if s.get("relay_cpu_pct") is not None]
    if not measured:
        return summary
    top = max(measured, key=lambda s: s["streams"])
    per_packet = _slope(
        [s["packets_per_s"] for s in measured], [s["relay_cpu_pct"] * 1e4 for s in measured]
    )  # % of a core per (packet/s) -> µs per packet
    per_stream = _slope([s["streams"] for s in measured], [s["relay_cpu_pct"] for s in measured])
    stream_pct = (
        per_stream
        if per_stream is not None and per_stream > 0
        else (top["relay_cpu_pct"] / top["streams"])
    )
    summary.update(
        {
            "us_per_packet_marginal": per_packet,
            "us_per_packet_at_max": top["us_per_packet"],
            "cpu_pct_per_stream_marginal": per_stream,
            "cpu_pct_per_stream_at_max": top["relay_cpu_pct"] / top["streams"],
            "streams_per_core_extrapolated": 100 / stream_pct if stream_pct > 0 else None,
            "calls_per_core_extrapolated": 50 / stream_pct if stream_pct > 0 else None,
        }
    )
    if baseline_rss_mib is not None and top.get("relay_rss_mib") is not None:
        summary["rss_per_call_mib"] = (top["relay_rss_mib"] - baseline_rss_mib) / (
            top["streams"] / 2
        )
    return summary
