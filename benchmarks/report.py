"""The run's results: one JSON document (everything measured) and a summary table for the
terminal and for docs/benchmarks.md (Markdown, so the two never disagree)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, allow_nan=False) + "\n")


def _num(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    rule = "|:---|" + "|".join("---:" for _ in header[1:]) + "|"
    lines = ["| " + " | ".join(header) + " |", rule]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def ramp_table(steps: list[dict[str, Any]]) -> str:
    header = [
        "sockets",
        "held",
        "conn/s",
        "connect p95 ms",
        "RSS MiB",
        "CPU % connecting",
        "CPU % idle",
        "probe p50 ms",
        "probe p95 ms",
        "worst stall ms",
        "result",
    ]
    rows = [
        [
            _num(s["target"]),
            _num(s["held"]),
            _num(s["connects_per_second"]),
            _num(s["connect_ms"]["p95"]),
            _num(s["server_rss_mib"]),
            _num(s["server_cpu_connecting_pct"]),
            _num(s["server_cpu_idle_pct"], 1),
            _num(s["probe_ms"]["p50"], 1),
            _num(s["probe_ms"]["p95"], 1),
            _num(s["worst_stall_ms"]),
            s["verdict"],
        ]
        for s in steps
    ]
    return _table(header, rows)


def conversation_table(steps: list[dict[str, Any]]) -> str:
    header = [
        "offered msg/s",
        "persisted msg/s",
        "delivered msg/s",
        "e2e p50 ms",
        "e2e p95 ms",
        "e2e p99 ms",
        "ack p50 ms",
        "ack p95 ms",
        "ack p99 ms",
        "server CPU %",
        "loadgen CPU %",
        "worst stall ms",
        "result",
    ]
    rows = [
        [
            _num(s["offered_per_second"]),
            _num(s["persisted_per_second"], 1),
            _num(s["delivered_per_second"], 1),
            _num(s["e2e_ms"]["p50"], 1),
            _num(s["e2e_ms"]["p95"], 1),
            _num(s["e2e_ms"]["p99"], 1),
            _num(s["ack_ms"]["p50"], 1),
            _num(s["ack_ms"]["p95"], 1),
            _num(s["ack_ms"]["p99"], 1),
            _num(s["server_cpu_pct"]),
            _num(s["loadgen_cpu_pct"]),
            _num(s["worst_stall_ms"]),
            s["verdict"],
        ]
        for s in steps
    ]
    return _table(header, rows)


def _latency(step: dict[str, Any]) -> str:
    e2e, ack = step["e2e_ms"], step["ack_ms"]
    return (
        f"end-to-end p50/p95/p99 {_num(e2e['p50'], 1)}/{_num(e2e['p95'], 1)}/"
        f"{_num(e2e['p99'], 1)} ms, ack {_num(ack['p50'], 1)}/{_num(ack['p95'], 1)}/"
        f"{_num(ack['p99'], 1)} ms, server CPU {_num(step['server_cpu_pct'])}%"
    )


def headline(results: dict[str, Any]) -> str:
    top = results.get("headline") or {}
    best = top.get("at_max_passing_rate")
    talk = results["conversations"]
    lines = [f"One signaling process held {_num(top.get('held_sockets'))} customer sockets."]
    if best:
        lines.append(
            f"At that load it sustained {_num(best['persisted_per_second'])} messages/s "
            f"(stored and delivered): {_latency(best)}."
        )
    elif talk:
        first = talk[0]
        lines.append(
            f"At that load even {_num(first['offered_per_second'])} messages/s failed "
            f"({first['verdict']}): {_latency(first)}."
        )
    passing = [s for s in results["ramp"] if s.get("sample", {}).get("passed")]
    if passing:
        last = passing[-1]
        lines.append(
            f"The largest step whose {_num(last['sample']['offered_per_second'])} msg/s sample "
            f"passed held {_num(last['held'])} sockets: {_latency(last['sample'])}."
        )
    return "\n".join(lines)


def sample_table(ramp: list[dict[str, Any]]) -> str:
    header = [
        "held sockets",
        "msg/s",
        "e2e p50 ms",
        "e2e p95 ms",
        "e2e p99 ms",
        "ack p50 ms",
        "ack p95 ms",
        "ack p99 ms",
        "server CPU %",
        "worst stall ms",
        "result",
    ]
    rows = [
        [
            _num(step["held"]),
            _num(s["persisted_per_second"], 1),
            _num(s["e2e_ms"]["p50"], 1),
            _num(s["e2e_ms"]["p95"], 1),
            _num(s["e2e_ms"]["p99"], 1),
            _num(s["ack_ms"]["p50"], 1),
            _num(s["ack_ms"]["p95"], 1),
            _num(s["ack_ms"]["p99"], 1),
            _num(s["server_cpu_pct"]),
            _num(s["worst_stall_ms"]),
            s["verdict"],
        ]
        for step in ramp
        if (s := step.get("sample"))
    ]
    return _table(header, rows)


def gc_table(results: dict[str, Any]) -> str:
    """Only with --gc-log: the server's collector pauses in each window."""
    named = [(f"{s['target']} sockets (step)", s) for s in results["ramp"]]
    named += [
        (f"{s['held']} sockets (sample)", s["sample"]) for s in results["ramp"] if "sample" in s
    ]
    named += [(f"hold {results['held_sockets']}", results.get("hold") or {})]
    named += [(f"{s['offered_per_second']:.0f} msg/s", s) for s in results["conversations"]]
    named += [("release", results.get("release") or {})]
    rows = [
        [
            name,
            _num(e["gc"]["full_collections"]),
            _num(e["gc"]["longest_pause_ms"]),
            _num(e["gc"]["paused_ms"]),
            _num(e.get("worst_stall_ms")),
        ]
        for name, e in named
        if "gc" in e
    ]
    header = ["window", "full GCs", "longest pause ms", "paused ms", "worst stall ms"]
    return _table(header, rows) if rows else ""


def summary(results: dict[str, Any]) -> str:
    held = results["held_sockets"]
    setup = results.get("conversation_setup") or {}
    agents = results.get("agents") or {}
    hold = results.get("hold")
    release = results.get("release")
    parts = [
        headline(results),
        "",
        f"Command: {results['command']}",
        f"Machine: {results['machine']['nproc']} CPUs ({results['machine']['cpu_model']}), "
        f"Python {results['machine']['python']}, load average at start "
        f"{results['machine']['load_average_at_start']}, at end "
        f"{results.get('load_average_at_end')}",
        "",
        "Connected customer sockets held by one signaling process:",
        ramp_table(results["ramp"]),
    ]
    if any("sample" in s for s in results["ramp"]):
        rate = results["options"]["conversation"]["sample_rate"]
        parts += [
            "",
            f"Messages at a fixed {rate:.0f}/s while holding each step's sockets:",
            sample_table(results["ramp"]),
        ]
    if hold:
        parts.append(
            f"Held {_num(hold['held_after'])} of {_num(hold['held_before'])} through "
            f"{_num(hold['seconds'])} s idle: server CPU {_num(hold['server_cpu_idle_pct'], 1)}%, "
            f"RSS {_num(hold['server_rss_mib'])} MiB, "
            f"worst stall {_num(hold['worst_stall_ms'])} ms."
        )
    parts += [
        "",
        f"Conversations at {_num(held)} held sockets: {setup.get('chats_active', 0)} chats, "
        f"{agents.get('online', 0)} agents:",
        conversation_table(results["conversations"]),
    ]
    if release:
        left = release["server_still_counting"]
        took = _num(release["seconds_until_server_released_all"], 1)
        outcome = (
            f"the server let them all go in {took} s"
            if left == 0
            else f"after {took} s the server "
            + ("had not answered since" if left is None else f"still counted {_num(left)}")
        )
        parts.append(
            f"Closing all {_num(release['sockets'])} sockets at once: {outcome}; server CPU "
            f"{_num(release['server_cpu_pct'])}%, worst stall {_num(release['worst_stall_ms'])} ms."
        )
    gc = gc_table(results)
    if gc:
        parts += ["", "Server garbage-collector pauses (--gc-log):", gc]
    if results.get("errors"):
        parts.append("Errors: " + "; ".join(results["errors"]))
    return "\n".join(parts)
