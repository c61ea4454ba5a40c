"""One PNG of a call_compare run: per path against streams, the relay's CPU, its CPU per
forwarded packet, frame latency p50/p95 and loss.

Redraw from a saved run: .venv/bin/python -m benchmarks.call_plot RESULTS.json OUT.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

from benchmarks.call_metrics import LOSS_LIMIT_PCT

COLOURS = {
    "relay": "tab:blue",
    "relay_asyncio": "tab:cyan",
    "mediarelay": "tab:red",
    "p2p": "tab:gray",
    "janus": "tab:green",
}


def _streams_axis(ax: Axes, ticks: list[int]) -> None:
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("one-way streams (1:1 call = 2)")
    ax.grid(alpha=0.3)


def _series(path: dict[str, Any], key: str) -> tuple[list[int], list[float]]:
    points = [(s["streams"], s[key]) for s in path["steps"] if s.get(key) is not None]
    return [p[0] for p in points], [p[1] for p in points]


def plot(results: dict[str, Any], out: Path) -> None:
    paths = results["paths"]
    ticks = sorted({s["streams"] for p in paths.values() for s in p["steps"]}) or [1]
    figure = Figure(figsize=(12, 8.5), layout="constrained")
    (cpu, per_packet), (latency, loss) = figure.subplots(2, 2)
    for name, path in paths.items():
        colour, label = COLOURS.get(name), path["label"]
        if name != "p2p":
            cpu.plot(*_series(path, "relay_cpu_pct"), "o-", color=colour, label=label)
            per_packet.plot(*_series(path, "us_per_packet"), "o-", color=colour, label=label)
        points = [(s["streams"], s["latency_ms"]) for s in path["steps"]]
        xs = [n for n, lat in points if lat["p50"] is not None]
        latency.plot(
            xs,
            [lat["p50"] for _, lat in points if lat["p50"] is not None],
            "o-",
            color=colour,
            label=f"{label} p50",
        )
        latency.plot(
            xs,
            [lat["p95"] for _, lat in points if lat["p95"] is not None],
            "s--",
            color=colour,
            alpha=0.6,
            label=f"{label} p95",
        )
        loss.plot(*_series(path, "loss_pct"), "o-", color=colour, label=label)
    cpu.set_ylabel("relay process CPU, % of one core")
    cpu.set_title("Relay CPU (from /proc, all threads)")
    per_packet.set_ylabel("µs of relay CPU per forwarded packet")
    per_packet.set_yscale("log")
    per_packet.set_title("CPU per forwarded packet (average at each step)")
    latency.set_ylabel("ms, publisher send → subscriber RTP arrival")
    latency.set_yscale("log")
    latency.set_title("Video frame latency")
    loss.set_ylabel("loss % (worse of frames and packets)")
    loss.axhline(LOSS_LIMIT_PCT, color="black", linestyle=":", label=f"{LOSS_LIMIT_PCT} % limit")
    loss.set_yscale("symlog", linthresh=0.1)
    loss.set_ylim(bottom=0)
    loss.set_title("Loss")
    for ax in (cpu, per_packet, latency, loss):
        _streams_axis(ax, ticks)
        ax.legend(fontsize=7)
    machine = results["machine"]
    figure.suptitle(
        f"1:1 forwarding, 640x480 VP8 30 fps + Opus per stream — {machine['nproc']} CPUs "
        f"({machine['cpu_model']})",
        fontsize=10,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=100)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m benchmarks.call_plot RESULTS.json OUT.png")
    plot(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
