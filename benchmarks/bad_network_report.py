"""Figures of one bad-network run (freeze, gaps, loss, recovery) and the tables and verdicts
against Janus and peer-to-peer."""

from __future__ import annotations

import itertools
import math
from typing import Any

from benchmarks.bad_network_conditions import CONDITIONS, FREEZE_S, GAP_TOLERANCE_S, LEGS
from benchmarks.bad_network_stats import chromium_table, receiver_figures
from benchmarks.call_metrics import match_frames, percentile
from benchmarks.report import _num, _table
from media.clip import AUDIO_RATE


def _gaps(times: list[float], start: float, end: float) -> list[float]:
    points = [start, *sorted(t for t in times if start <= t <= end), end]
    return [b - a for a, b in itertools.pairwise(points)]


def _freeze_list(times: list[float], start: float, end: float) -> list[tuple[float, float]]:
    """(seconds into the window, gap ms) of each freeze, to see when they happened."""
    points = [start, *sorted(t for t in times if start <= t <= end), end]
    return [
        (round(a - start, 2), round(1000 * (b - a)))
        for a, b in itertools.pairwise(points)
        if b - a > FREEZE_S
    ]


def _stream_loss(entries: list[tuple[float, int, int, int]], start: float, end: float) -> float:
    """% of the main SSRC's packets (the one with most) missing in [start, end], before repair."""
    by_ssrc: dict[int, set[int]] = {}
    for t, ssrc, seq, _ in entries:
        if start <= t <= end:
            by_ssrc.setdefault(ssrc, set()).add(seq)
    if not by_ssrc:
        return 100.0
    seqs = max(by_ssrc.values(), key=len)
    ordered = sorted(seqs)
    if ordered[-1] - ordered[0] > 0x8000:  # wrapped within the window
        seqs = {(s + 0x8000) & 0xFFFF for s in seqs}
    expected = max(seqs) - min(seqs) + 1
    return 100 * (1 - len(seqs) / expected)


def _recovery(times: list[float], threshold: float, after: float, end: float) -> float | None:
    """Seconds from `after` to the end of the last gap longer than `threshold` (the worst
    gap before the dip, at least FREEZE_S): smooth video as before the dip, not a burst of
    stale frames (which a frame-rate test would count). None if that gap reaches `end`."""
    points = [after, *sorted(t for t in times if after < t <= end), end]
    last = after
    for a, b in itertools.pairwise(points):
        if b - a > threshold:
            last = b
    return None if last >= end else last - after


def figures(
    sent: list[tuple[int, float, float]],
    got: dict[str, Any],
    window: tuple[float, float],
    grace: float,
    dip: tuple[float, float] | None,
) -> dict[str, Any]:
    start, end = window
    seconds = end - start
    decoded = [(n, t) for n, t in got["decoded"] if start <= t <= end + grace]
    delivered, latencies = match_frames(sent, decoded)
    times = [t for _, t in decoded if t <= end]
    gaps = _gaps(times, start, end)
    out: dict[str, Any] = {
        "seconds": seconds,
        "sent_fps": len(sent) / seconds,
        "decoded_fps": len(times) / seconds,
        "delivered_fps": delivered / seconds,
        "freeze_s": sum(g for g in gaps if g > FREEZE_S),
        "freezes": sum(1 for g in gaps if g > FREEZE_S),
        "freeze_list": _freeze_list(times, start, end),
        "longest_gap_ms": 1000 * max(gaps),
        "unreadable_frames": sum(1 for n, t in decoded if n < 0 and t <= end),
        "latency_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95)},
    }
    if "stats" in got:  # a Chromium subscriber: its getStats() samples
        out.update(receiver_figures(got["stats"], start, end))
    else:  # the aiortc viewer's packet taps
        out.update(_tapped(got, start, end))
    if dip is not None:
        dip_start, dip_end = dip
        before = _gaps(times, start, dip_start)
        threshold = max(FREEZE_S, *before) + GAP_TOLERANCE_S
        out["dip"] = {
            "pre_dip_fps": sum(1 for t in times if t < dip_start) / (dip_start - start),
            "pre_dip_longest_gap_ms": 1000 * max(before),
            "dip_fps": sum(1 for t in times if dip_start <= t < dip_end) / (dip_end - dip_start),
            "freeze_in_dip_s": sum(g for g in _gaps(times, dip_start, dip_end) if g > FREEZE_S),
            "after_dip_fps": sum(1 for t in times if t >= dip_end) / (end - dip_end),
            "recovery_s": _recovery(times, threshold, dip_end, end),
        }
    return out


def _tapped(got: dict[str, Any], start: float, end: float) -> dict[str, Any]:
    """Loss, audio and kbit/s from the aiortc viewer's packet taps."""
    seconds = end - start
    video_bytes = [(t, size) for t, _, _, size in got["packets"]["video"]]
    decoded_samples = sum(n for t, n in got["audio"] if start <= t <= end)
    return {
        "video_packet_loss_pct": _stream_loss(got["packets"]["video"], start, end),
        "audio_missing_pct": _stream_loss(got["packets"]["audio"], start, end),
        "audio_concealed_pct": max(0.0, 100 * (1 - decoded_samples / (AUDIO_RATE * seconds))),
        "video_kbit_s": 8 * sum(s for t, s in video_bytes if start <= t <= end) / seconds / 1e3,
    }


def run_line(path: str, run: dict[str, Any]) -> str:
    head = f"[{path}] {run['condition']:>5} {run['leg']:>8}: "
    if run.get("error"):
        return head + f"error: {run['error']}"
    lat, dip = run["latency_ms"], run.get("dip")
    line = (
        f"{run['decoded_fps']:.1f} fps decoded ({run['sent_fps']:.1f} sent), freeze "
        f"{run['freeze_s']:.2f} s in {run['freezes']}, longest gap {run['longest_gap_ms']:.0f} ms, "
        f"video loss {_num(run['video_packet_loss_pct'], 1)} % before repair, audio packets "
        f"missing {_num(run['audio_missing_pct'], 1)} % / concealed "
        f"{_num(run['audio_concealed_pct'], 1)} %, "
        f"latency p50/p95 {_num(lat['p50'])}/{_num(lat['p95'])} ms, "
        f"machine CPU {run['machine_cpu_pct']:.0f} %"
    )
    if dip:
        line += f", dip {dip['dip_fps']:.1f} fps, recovery " + (
            f"{dip['recovery_s']:.1f} s" if dip["recovery_s"] is not None else "not within run"
        )
    window = (run.get("sender") or {}).get("window") or {}
    if window.get("target_kbit_s_min") is not None:
        line += (
            f", encoder target mean {window['target_kbit_s_mean']:.0f} "
            f"(min {window['target_kbit_s_min']:.0f}) kbit/s"
        )
    if window.get("available_kbit_s_min") is not None:
        line += f", publisher's estimate min {window['available_kbit_s_min']:.0f} kbit/s"
    estimator = run.get("relay_estimator")
    if estimator:
        line += (
            f", relay estimator: {estimator['send_side_overuses']} overuses, "
            f"{estimator['send_side_loss_cuts']} loss cuts, "
            f"{estimator['send_side_limits']} limits passed on; "
            f"{estimator.get('nacks_received', 0)} NACKs in, "
            f"{estimator.get('rtx_sent', 0)} packets resent, "
            f"{estimator.get('rtx_refused', 0)} refused (over budget)"
        )
    lags = run.get("relay_loop_lags")
    if lags:
        line += (
            f", relay loop late > 25 ms {lags['over_25_ms']} / > 100 ms {lags['over_100_ms']}"
            f" of {lags['samples']} samples"
        )
    return head + line


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _spread(values: list[float | None], digits: int) -> str:
    """The mean, and each run's value when there are several (None: did not recover)."""
    if not values:
        return "n/a"
    known = [math.inf if v is None else v for v in values]
    text = _num(_mean(known), digits) if math.isfinite(sum(known)) else "not recovered"
    if len(values) > 1:
        text += " (" + ", ".join(_num(v, digits) if v is not None else "-" for v in values) + ")"
    return text


def table(paths: dict[str, dict[str, Any]]) -> str:
    """One row per condition, leg and path: means over the repeats (freeze and recovery
    with each run's value, the longest gap and p95 the worst run's)."""
    header = [
        "condition",
        "leg",
        "path",
        "decoded fps",
        "freeze s",
        "longest gap ms",
        "video loss % (before repair)",
        "audio concealed % (not decoded)",
        "latency p50 / p95 ms",
        "recovery after dip s",
        "runs (errors)",
    ]
    cells: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for name, path in paths.items():
        for run in path["runs"]:
            cells.setdefault((run["condition"], run["leg"], name), []).append(run)
    order = list(CONDITIONS), ["-", *LEGS], list(paths)
    rows = []
    for key in sorted(
        cells, key=lambda k: tuple(o.index(x) for o, x in zip(order, k, strict=True))
    ):
        runs = cells[key]
        ok = [r for r in runs if not r.get("error")]
        errors = len(runs) - len(ok)
        if not ok:
            rows.append([*key, f"error: {runs[0]['error']}", *[""] * 6, f"{len(runs)} ({errors})"])
            continue

        def mean(field: str, ok: list[dict[str, Any]] = ok) -> float | None:
            return _mean([r[field] for r in ok if r[field] is not None])

        p95 = [r["latency_ms"]["p95"] for r in ok if r["latency_ms"]["p95"] is not None]
        p50 = [r["latency_ms"]["p50"] for r in ok if r["latency_ms"]["p50"] is not None]
        rows.append(
            [
                *key,
                _num(mean("decoded_fps"), 1),
                _spread([r["freeze_s"] for r in ok], 2),
                _num(max(r["longest_gap_ms"] for r in ok)),
                _num(mean("video_packet_loss_pct"), 1),
                _num(mean("audio_concealed_pct"), 1),
                f"{_num(_mean(p50))} / {_num(max(p95, default=None))}",
                _spread([r["dip"]["recovery_s"] for r in ok], 1) if "dip" in ok[0] else "",
                f"{len(runs)} ({errors})",
            ]
        )
    return _table(header, rows)


def verdicts(paths: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's goal per condition and leg: ours <= Janus, and <= 1.1 x peer-to-peer,
    on freeze time and (for the dip) recovery time; the mean over repeats, a dip that never
    recovered counting as infinite."""

    def mean(path: str, condition: str, leg: str, metric: str) -> float | None:
        values = [
            _metric(run, metric)
            for run in paths.get(path, {}).get("runs", [])
            if run["condition"] == condition and run["leg"] == leg and not run.get("error")
        ]
        return sum(math.inf if v is None else v for v in values) / len(values) if values else None

    out = []
    keys = {(r["condition"], r["leg"]) for p in paths.values() for r in p["runs"]}
    for condition, leg in sorted(keys, key=lambda k: (list(CONDITIONS).index(k[0]), k[1])):
        for metric in ("freeze_s", "recovery_s") if condition == "dip" else ("freeze_s",):
            ours = mean("relay", condition, leg, metric)
            janus = mean("janus", condition, leg, metric)
            p2p = mean("p2p", condition, leg, metric)
            out.append(
                {
                    "condition": condition,
                    "leg": leg,
                    "metric": metric,
                    "runs": max(
                        sum(1 for r in p["runs"] if r["condition"] == condition and r["leg"] == leg)
                        for p in paths.values()
                    ),
                    "relay": _finite(ours),
                    "janus": _finite(janus),
                    "p2p": _finite(p2p),
                    "not_recovered": [
                        name
                        for name, v in (("relay", ours), ("janus", janus), ("p2p", p2p))
                        if v is not None and math.isinf(v)
                    ],
                    "vs_janus": _verdict(ours, janus, 1.0),
                    "vs_p2p": _verdict(ours, p2p, 1.1),
                }
            )
    return out


def _finite(value: float | None) -> float | None:
    """JSON has no infinity: a mean with a dip that never recovered is written as None."""
    return None if value is None or math.isinf(value) else value


def _metric(run: dict[str, Any], metric: str) -> float | None:
    value = run.get("dip", {}).get(metric) if metric == "recovery_s" else run.get(metric)
    return float(value) if value is not None else None


def _verdict(ours: float | None, other: float | None, factor: float) -> str:
    if ours is None or other is None:
        return "not measured"
    return "PASS" if ours <= factor * other + 1e-9 else "MISS"


def summary_text(results: dict[str, Any]) -> str:
    parts = [
        f"Command: {results['command']}",
        f"Run took {results['seconds']:.0f} s; conditions: "
        + "; ".join(f"{k}: {v['label']}" for k, v in results["conditions"].items()),
        "",
        table(results["paths"]),
        "",
    ]
    extra = chromium_table(results["paths"])
    if extra:
        parts += ["Chromium's getStats() (subscriber, then the publisher's encoder):", extra, ""]
    for v in results["verdicts"]:
        parts.append(
            f"{v['condition']}/{v['leg']} {v['metric']} (mean of {v['runs']}): "
            f"relay {_num(v['relay'], 2)} vs Janus "
            f"{_num(v['janus'], 2)} -> {v['vs_janus']}; vs p2p {_num(v['p2p'], 2)} (x1.1) -> "
            f"{v['vs_p2p']}"
        )
    return "\n".join(parts)
