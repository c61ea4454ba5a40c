"""call_compare's words: one progress line per step, the side-by-side table (Markdown, so the
terminal and docs/benchmarks.md show the same thing) and the pass/miss lines for the targets."""

from __future__ import annotations

from typing import Any

from benchmarks.report import _num, _table

TARGET_PER_PACKET_VS_JANUS = 2.0
TARGET_PER_STREAM_VS_DECODED = 20.0
TARGET_ADDED_P95_MS = 5.0


def step_line(step: dict[str, Any]) -> str:
    lat = step["latency_ms"]
    return (
        f"N={step['streams']:>3}: relay CPU {_num(step['relay_cpu_pct'], 1)} % "
        f"({_num(step['us_per_packet'], 1)} µs/pkt, {_num(step['packets_per_s'])} pkt/s), "
        f"loss {step['loss_pct']:.2f} % (frames {step['frame_loss_pct']:.2f}, "
        f"packets {step['packet_loss_pct']:.2f}), latency p50/p95 {_num(lat['p50'], 1)}/"
        f"{_num(lat['p95'], 1)} ms, pub/sub CPU {_num(step['publisher_cpu_pct'])}/"
        f"{_num(step['subscriber_cpu_pct'])} %, machine {_num(step['machine_cpu_pct'])} % "
        f"(other work {_num(step.get('outside_cpu_pct'))} %) "
        f"-> {step['verdict']}"
    )


def _step(path: dict[str, Any], streams: int) -> dict[str, Any] | None:
    return next((s for s in path.get("steps", []) if s["streams"] == streams), None)


def _added(path: dict[str, Any], p2p: dict[str, Any] | None, streams: int, q: str) -> float | None:
    mine, base = _step(path, streams), _step(p2p, streams) if p2p else None
    if not mine or not base or mine["verdict"] != "ok" or base["verdict"] != "ok":
        return None
    a, b = mine["latency_ms"][q], base["latency_ms"][q]
    return None if a is None or b is None else a - b


def side_by_side(paths: dict[str, dict[str, Any]]) -> str:
    p2p = paths.get("p2p")
    header = [
        "path",
        "max streams < 0.5 % loss (measured)",
        "µs CPU / fwd packet (marginal)",
        "µs CPU / fwd packet (at max)",
        "% core / stream (marginal)",
        "% core / stream (at max)",
        "streams / core (extrap.)",
        "1:1 calls / core (extrap.)",
        "p50 / p95 ms at N=1",
        "added p50 / p95 ms over p2p at N=1",
        "RSS MiB / call",
    ]
    rows = []
    for name, path in paths.items():
        s = path.get("summary", {})
        one = _step(path, 1)
        lat = one["latency_ms"] if one else {"p50": None, "p95": None}
        relay = name != "p2p"
        rows.append(
            [
                path["label"] + (f" (error: {path['error']})" if path.get("error") else ""),
                _num(s.get("max_streams")),
                _num(s.get("us_per_packet_marginal"), 1) if relay else "n/a",
                _num(s.get("us_per_packet_at_max"), 1) if relay else "n/a",
                _num(s.get("cpu_pct_per_stream_marginal"), 2) if relay else "n/a",
                _num(s.get("cpu_pct_per_stream_at_max"), 2) if relay else "n/a",
                _num(s.get("streams_per_core_extrapolated")) if relay else "n/a",
                _num(s.get("calls_per_core_extrapolated")) if relay else "n/a",
                f"{_num(lat['p50'], 1)} / {_num(lat['p95'], 1)}",
                (
                    f"{_num(_added(path, p2p, 1, 'p50'), 1)} / "
                    f"{_num(_added(path, p2p, 1, 'p95'), 1)}"
                    if relay
                    else "baseline"
                ),
                _num(s.get("rss_per_call_mib"), 2) if relay else "n/a",
            ]
        )
    return _table(header, rows)


def ramp_table(path: dict[str, Any]) -> str:
    header = [
        "streams",
        "relay CPU %",
        "pkt/s fwd",
        "µs / pkt",
        "RSS MiB",
        "frame loss %",
        "packet loss %",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "pub CPU %",
        "sub CPU %",
        "machine CPU %",
        "other work % of machine",
        "result",
    ]
    rows = [
        [
            _num(s["streams"]),
            _num(s["relay_cpu_pct"], 1),
            _num(s["packets_per_s"]),
            _num(s["us_per_packet"], 1),
            _num(s["relay_rss_mib"]),
            f"{s['frame_loss_pct']:.2f}",
            f"{s['packet_loss_pct']:.2f}",
            _num(s["latency_ms"]["p50"], 1),
            _num(s["latency_ms"]["p95"], 1),
            _num(s["latency_ms"]["p99"], 1),
            _num(s["publisher_cpu_pct"]),
            _num(s["subscriber_cpu_pct"]),
            _num(s["machine_cpu_pct"]),
            _num(s.get("outside_cpu_pct")),
            s["verdict"]
            + (
                f" ({len(s['earlier_attempts'])} earlier attempt(s) failed)"
                if s.get("earlier_attempts")
                else ""
            ),
        ]
        for s in path["steps"]
    ]
    return _table(header, rows)


def comparisons(paths: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's three targets, each pass / miss / not measured, with the numbers used."""
    ours = paths.get("relay", {}).get("summary", {})
    janus = paths.get("janus", {}).get("summary", {})
    decoded = paths.get("mediarelay", {}).get("summary", {})
    out: list[dict[str, Any]] = []

    def pick(summary: dict[str, Any], key: str) -> float | None:
        value = summary.get(f"{key}_marginal")
        return value if value is not None and value > 0 else summary.get(f"{key}_at_max")

    a, j = pick(ours, "us_per_packet"), pick(janus, "us_per_packet")
    out.append(
        _target(
            f"relay CPU per forwarded packet within {TARGET_PER_PACKET_VS_JANUS:g}x Janus",
            a,
            j,
            None if a is None or j is None else a <= TARGET_PER_PACKET_VS_JANUS * j,
            f"ours {_num(a, 1)} µs vs Janus {_num(j, 1)} µs (ratio {_ratio(a, j)})",
        )
    )
    a, d = pick(ours, "cpu_pct_per_stream"), pick(decoded, "cpu_pct_per_stream")
    out.append(
        _target(
            f">= {TARGET_PER_STREAM_VS_DECODED:g}x less CPU per stream than aiortc's decoded path",
            a,
            d,
            None if a is None or d is None else d >= TARGET_PER_STREAM_VS_DECODED * a,
            f"ours {_num(a, 2)} % vs MediaRelay {_num(d, 2)} % of a core (x{_ratio(d, a)})",
        )
    )
    relay, p2p = paths.get("relay"), paths.get("p2p")
    added = []
    if relay and p2p:
        for step in relay["steps"]:
            value = _added(relay, p2p, step["streams"], "p95")
            if value is not None:
                added.append((step["streams"], value))
    worst = max(added, key=lambda x: x[1]) if added else None
    out.append(
        _target(
            f"relay adds <= {TARGET_ADDED_P95_MS:g} ms p95 over peer-to-peer",
            worst[1] if worst else None,
            TARGET_ADDED_P95_MS,
            None if worst is None else worst[1] <= TARGET_ADDED_P95_MS,
            "added p95 by streams: " + ", ".join(f"N={n}: {v:+.1f} ms" for n, v in added)
            if added
            else "no common passing step",
        )
    )
    return out


def _ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}"


def _target(
    name: str, ours: float | None, other: float | None, passed: bool | None, detail: str
) -> dict[str, Any]:
    verdict = "not measured" if passed is None else "PASS" if passed else "MISS"
    return {"target": name, "ours": ours, "reference": other, "verdict": verdict, "detail": detail}


def summary_text(results: dict[str, Any]) -> str:
    machine = results["machine"]
    clip = results["clip"]
    parts = [
        f"Command: {results['command']}",
        f"Machine: {machine['nproc']} CPUs ({machine['cpu_model']}), Python {machine['python']},"
        f" {', '.join(f'{k} {v}' for k, v in machine['packages'].items())}; load average at "
        f"start {machine['load_average_at_start']}, at end {results.get('load_average_at_end')}",
        f"Load: 640x480 VP8 30 fps at {clip['video_kbit_s']:.0f} kbit/s (keyframe every 2 s, "
        f"{clip['keyframe_bytes']:,} B) + Opus 50 packets/s per stream; run took "
        f"{results['seconds']:.0f} s",
        "",
        side_by_side(results["paths"]),
        "",
    ]
    for target in results["comparisons"]:
        parts.append(f"{target['verdict']:>12}  {target['target']}: {target['detail']}")
    for name, path in results["paths"].items():
        parts += ["", f"{path['label']} ({name}), per step:", ramp_table(path)]
        if path.get("error"):
            parts.append(f"error: {path['error']}")
    return "\n".join(parts)
