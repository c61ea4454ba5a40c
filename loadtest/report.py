"""A run's figures: aggregation (p50/p95/p99), SLO checks, the summary table and --json.

SLOs are `name=value`: name is a figure and a statistic (`setup_p95`, `latency_p99`,
`time_to_agent_p50`, `chat_latency_p95`, `reconnect_p95`) or one of `loss` (mean frame loss
%), `packet_loss`, `errors` (failed journeys %), `completed` (completed journeys %, a lower
bound), `fps` (mean delivered fps, a lower bound), `audio` (mean audio continuity %, a lower
bound). Values take units: 1s, 150ms, 0.5%.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loadtest.runner import Run

FIGURES = (
    "time_to_agent",
    "setup",
    "latency",
    "chat_latency",
    "reconnect",
    "share_setup",
    "recording_ready",
)
LOWER_BOUNDS = frozenset({"completed", "fps", "audio"})


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1)


def _stats(values: list[float]) -> dict[str, float | int | None]:
    return {
        "count": len(values),
        "p50": percentile(values, 0.5),
        "p95": percentile(values, 0.95),
        "p99": percentile(values, 0.99),
        "max": round(max(values), 1) if values else None,
    }


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def collect(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Figures over these journeys (all, or one scenario's)."""
    directions = [d for r in results for d in r["to_agent"] + r["to_customer"]]
    figures = {
        "time_to_agent": [r["time_to_agent_ms"] for r in results if r["time_to_agent_ms"]],
        "setup": [d["setup_ms"] for d in directions if d["setup_ms"] is not None],
        "latency": [v for d in directions for v in d["latency_ms"]],
        "chat_latency": [v for r in results for v in r["chat_latency_ms"]],
        "reconnect": [r["reconnect_ms"] for r in results if r["reconnect_ms"] is not None],
        "share_setup": [r["share_setup_ms"] for r in results if r["share_setup_ms"] is not None],
        "recording_ready": [
            r["recording_ready_ms"] for r in results if r["recording_ready_ms"] is not None
        ],
    }
    completed = sum(1 for r in results if r["stage"] == "done")
    failed = sum(1 for r in results if r["stage"] == "failed")
    video = [d for d in directions if d["frames"]]
    return {
        "journeys": len(results),
        "completed": completed,
        "failed": failed,
        "calls": sum(r["calls"] for r in results),
        "stamps_decoded": sum(r["stamps_decoded"] for r in results),
        **{name: _stats(values) for name, values in figures.items()},
        "frame_loss_pct": _mean([d["frame_loss_pct"] for d in video]),
        "frame_loss_max_pct": max((d["frame_loss_pct"] for d in video), default=None),
        "packet_loss_pct": _mean(
            [d["packet_loss_pct"] for d in directions if d["packet_loss_pct"] is not None]
        ),
        "fps": _mean([d["fps"] for d in video if d["fps"]]),
        "audio_continuity_pct": _mean(
            [d["audio_continuity_pct"] for d in directions if d["audio_continuity_pct"]]
        ),
        "audio_gaps": sum(d["audio_gaps"] for d in directions),
        "errors": dict(Counter(r["error_code"] for r in results if r["error_code"])),
    }


@dataclass
class SloResult:
    name: str
    limit: float
    unit: str
    value: float | None
    held: bool


def parse_slo(text: str) -> tuple[str, float, str]:
    """'setup_p95=1s' → ('setup_p95', 1000.0, 'ms'); percentages stay percentages."""
    match = re.fullmatch(r"\s*([a-z_0-9]+)\s*=\s*([0-9.]+)\s*(ms|s|%)?\s*", text)
    if not match:
        raise ValueError(f"an SLO looks like name=value[ms|s|%], got {text!r}")
    name, number, unit = match.group(1), float(match.group(2)), match.group(3) or ""
    if unit == "s":
        number, unit = number * 1000, "ms"
    known = {f"{f}_{s}" for f in FIGURES for s in ("p50", "p95", "p99", "max")}
    known |= {"loss", "packet_loss", "errors", "completed", "fps", "audio"}
    if name not in known:
        raise ValueError(f"unknown SLO {name!r}; known: {', '.join(sorted(known))}")
    return name, number, unit or ("ms" if "_p" in name or name.endswith("_max") else "")


def slo_value(figures: dict[str, Any], name: str) -> float | None:
    journeys = figures["journeys"] or 1
    simple = {
        "loss": figures["frame_loss_pct"],
        "packet_loss": figures["packet_loss_pct"],
        "errors": 100.0 * figures["failed"] / journeys,
        "completed": 100.0 * figures["completed"] / journeys,
        "fps": figures["fps"],
        "audio": figures["audio_continuity_pct"],
    }
    if name in simple:
        value = simple[name]
        return None if value is None else float(value)
    figure, stat = name.rsplit("_", 1)
    value = figures[figure][stat]
    return None if value is None else float(value)


def check_slos(figures: dict[str, Any], slos: list[str]) -> list[SloResult]:
    checked = []
    for text in slos:
        name, limit, unit = parse_slo(text)
        value = slo_value(figures, name)
        if value is None:
            held = False  # nothing measured is not a pass
        elif name in LOWER_BOUNDS:
            held = value >= limit
        else:
            held = value <= limit
        checked.append(SloResult(name, limit, unit, value, held))
    return checked


@dataclass
class Aggregate:
    options: dict[str, Any]
    duration_s: float
    figures: dict[str, Any]
    scenarios: dict[str, dict[str, Any]]
    server: dict[str, Any]
    generator: dict[str, Any]
    timeline: list[dict[str, Any]]
    journeys: list[dict[str, Any]] = field(repr=False, default_factory=list)
    slos: list[SloResult] = field(default_factory=list)

    @classmethod
    def of(cls, run: Run) -> Aggregate:
        results = sorted(run.results, key=lambda r: (r["started_at"], r["journey"]))
        scenarios = sorted({r["scenario"] for r in results})
        duration = run.ended - run.began
        return cls(
            options=_options(run),
            duration_s=round(duration, 1),
            figures=collect(results),
            scenarios={s: collect([r for r in results if r["scenario"] == s]) for s in scenarios},
            server=_server(run, duration),
            generator=_generator(run),
            timeline=[asdict(s) for s in run.samples],
            journeys=results,
        )

    @property
    def passed(self) -> bool:
        return all(s.held for s in self.slos)

    def to_wire(self) -> dict[str, Any]:
        wire = asdict(self)
        wire["passed"] = self.passed
        for journey in wire["journeys"]:  # every figure, but not every frame's latency
            for direction in journey["to_agent"] + journey["to_customer"]:
                lat = direction.pop("latency_ms")
                direction["latency"] = _stats(lat)
        return wire


def _options(run: Run) -> dict[str, Any]:
    options = asdict(run.opts)
    options.pop("admin", None)  # no credentials in reports
    options.pop("metrics_token", None)
    options["url"] = run.url
    options["relay_workers"] = run.workers
    options["clip_encode_s"] = round(run.clip_seconds, 2)
    return options


def _server(run: Run, duration: float) -> dict[str, Any]:
    from loadtest.server import by_label, metric

    before, after = run.metrics_before, run.metrics_after
    if not after:
        return {"metrics": False}

    def delta(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    cpu = {"signaling": round(100 * delta("process_cpu_seconds_total") / duration, 1)}
    first = by_label(before, "liveassist_relay_cpu_seconds_total", "worker")
    for worker, value in by_label(after, "liveassist_relay_cpu_seconds_total", "worker").items():
        cpu[f"relay-{worker}"] = round(100 * (value - first.get(worker, 0.0)) / duration, 1)
    peak = {
        key: max((s.server_cpu_pct.get(key, 0.0) for s in run.samples), default=0.0) for key in cpu
    }
    lag_count = delta("liveassist_event_loop_lag_seconds_count")
    return {
        "metrics": True,
        "cpu_pct_mean": cpu,
        "cpu_pct_peak": peak,
        "signaling_rss_bytes": metric(after, "process_resident_memory_bytes"),
        "signaling_loop_lag_mean_ms": round(
            1000 * delta("liveassist_event_loop_lag_seconds_sum") / lag_count, 2
        )
        if lag_count
        else None,
        "streams_peak": max((s.streams for s in run.samples), default=0.0),
        "packets_forwarded": delta("liveassist_relay_packets_forwarded_total"),
        "packets_per_s_peak": max((s.packets_per_s for s in run.samples), default=0.0),
        "calls_started": delta("liveassist_calls_started_total"),
        "calls_ended": {
            k: v - by_label(before, "liveassist_calls_ended_total", "reason").get(k, 0)
            for k, v in by_label(after, "liveassist_calls_ended_total", "reason").items()
        },
        "messages": delta("liveassist_messages_total"),
        "errors": {
            k: v - by_label(before, "liveassist_errors_total", "code").get(k, 0)
            for k, v in by_label(after, "liveassist_errors_total", "code").items()
        },
        "nacks_received": delta("liveassist_relay_nacks_received_total"),
        "plis_sent": delta("liveassist_relay_plis_sent_total"),
    }


BOTTLENECK_CPU_PCT = 85.0
BOTTLENECK_LAG_MS = 50.0


def _generator(run: Run) -> dict[str, Any]:
    """The generator's own load: a process near a full core, or whose loop wakes late, makes
    the figures its own, not the server's."""
    processes = run.generators
    busiest = max((g["cpu_pct"] for g in processes), default=0.0)
    lag_p95 = max((g["loop_lag_p95_ms"] for g in processes), default=0.0)
    reasons = []
    if busiest >= BOTTLENECK_CPU_PCT:
        reasons.append(f"a generator process used {busiest:.0f}% of a core")
    if lag_p95 >= BOTTLENECK_LAG_MS:
        reasons.append(f"a generator's event loop lagged {lag_p95:.0f} ms at p95")
    return {
        "processes": processes,
        "cpu_pct_total": round(sum(g["cpu_pct"] for g in processes), 1),
        "bottleneck": bool(reasons),
        "why": reasons,
    }


def _fmt(value: Any, unit: str = "ms") -> str:
    if value is None:
        return "-"
    return f"{value:.0f} {unit}" if unit == "ms" else f"{value:g}{unit}"


def summary(agg: Aggregate) -> str:
    f = agg.figures
    lines = [
        f"LiveAssist load test: {f['journeys']} journeys in {agg.duration_s:.0f} s, "
        f"{f['completed']} completed, {f['failed']} failed, {f['calls']} calls, "
        f"{f['stamps_decoded']} video frames read (their clip frame known: latency, loss)",
        "",
        f"{'figure':<16}{'count':>7}{'p50':>10}{'p95':>10}{'p99':>10}{'max':>10}",
    ]
    for name in FIGURES:
        s = f[name]
        if s["count"]:
            lines.append(
                f"{name:<16}{s['count']:>7}{_fmt(s['p50']):>10}{_fmt(s['p95']):>10}"
                f"{_fmt(s['p99']):>10}{_fmt(s['max']):>10}"
            )
    lines += [
        "",
        f"frame loss {_fmt(f['frame_loss_pct'], '%')} (worst {_fmt(f['frame_loss_max_pct'], '%')})"
        f", packet loss {_fmt(f['packet_loss_pct'], '%')}, delivered fps {_fmt(f['fps'], '')}, "
        f"audio continuity {_fmt(f['audio_continuity_pct'], '%')} ({f['audio_gaps']} gaps)",
        "errors: " + (", ".join(f"{k} {v}" for k, v in f["errors"].items()) or "none"),
        "",
        f"{'scenario':<14}{'journeys':>9}{'done':>6}{'setup p95':>11}{'latency p95':>13}"
        f"{'loss':>8}",
    ]
    for name, s in agg.scenarios.items():
        lines.append(
            f"{name:<14}{s['journeys']:>9}{s['completed']:>6}{_fmt(s['setup']['p95']):>11}"
            f"{_fmt(s['latency']['p95']):>13}{_fmt(s['frame_loss_pct'], '%'):>8}"
        )
    server = agg.server
    if server.get("metrics"):
        cpu = ", ".join(
            f"{k} {v:.0f}% (peak {server['cpu_pct_peak'].get(k, 0):.0f}%)"
            for k, v in server["cpu_pct_mean"].items()
        )
        lines += [
            "",
            f"server CPU (share of one core): {cpu}",
            f"server: peak {server['streams_peak']:.0f} streams, "
            f"{server['packets_per_s_peak']:.0f} packets/s forwarded at peak, signaling loop "
            f"lag {_fmt(server['signaling_loop_lag_mean_ms'])} mean",
        ]
    gen = agg.generator
    lines.append(
        f"generator: {len(gen['processes'])} processes, {gen['cpu_pct_total']:.0f}% CPU in all"
        + (
            f" — BOTTLENECK: {'; '.join(gen['why'])}; the figures above are partly the generator's"
            if gen["bottleneck"]
            else " (not the bottleneck)"
        )
    )
    if agg.slos:
        lines.append("")
        for slo in agg.slos:
            bound = ">=" if slo.name in LOWER_BOUNDS else "<="
            lines.append(
                f"SLO {slo.name} {bound} {slo.limit:g}{slo.unit}: "
                f"{_fmt(slo.value, slo.unit or '')} {'held' if slo.held else 'BROKEN'}"
            )
    return "\n".join(lines)
