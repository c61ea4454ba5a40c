"""One PNG of a run: against held sockets, the server's memory and CPU, its answer time and
worst stall, and message latency at a fixed rate; and, at the top load, message latency
against the offered message rate.

Redraw from a saved run: .venv/bin/python -m benchmarks.plot RESULTS.json OUT.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes

# A bare Figure renders straight to a file: no pyplot state, no display backend needed.
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, LogLocator, NullFormatter, ScalarFormatter


def _plain_log(ax: Axes, ticks: list[int]) -> None:
    """Socket counts double per step: a log axis, but labelled with the counts themselves."""
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.tick_params(axis="x", labelrotation=45)
    ax.set_xlabel("connected customer sockets")


def _log_ms(ax: Axes) -> None:
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())


def _memory_and_cpu(ax: Axes, ramp: list[dict[str, Any]]) -> None:
    sockets = [s["held"] for s in ramp]
    ax.plot(sockets, [s["server_rss_mib"] for s in ramp], "o-", color="tab:blue")
    _plain_log(ax, sockets)
    ax.set_ylabel("server RSS (MiB)", color="tab:blue")
    ax.set_title("One signaling process: memory and CPU")
    cpu = ax.twinx()
    cpu.plot(
        sockets,
        [s["server_cpu_idle_pct"] for s in ramp],
        "s--",
        color="tab:red",
        label="CPU, holding idle",
    )
    cpu.plot(
        sockets,
        [s["server_cpu_connecting_pct"] for s in ramp],
        "^:",
        color="tab:orange",
        label="CPU, while connecting",
    )
    cpu.set_ylabel("server CPU (% of one core)", color="tab:red")
    cpu.set_ylim(bottom=0)
    cpu.legend(loc="upper left")


def _responsiveness(ax: Axes, ramp: list[dict[str, Any]]) -> None:
    sockets = [s["held"] for s in ramp]
    ax.plot(sockets, [s["probe_ms"]["p50"] for s in ramp], "o-", label="chat.sync ack p50")
    ax.plot(sockets, [s["probe_ms"]["p95"] for s in ramp], "s--", label="chat.sync ack p95")
    ax.plot(
        sockets,
        [s["worst_stall_ms"] for s in ramp],
        "x:",
        color="tab:red",
        label="worst /healthz answer (stall)",
    )
    if all("gc" in s for s in ramp):  # --gc-log
        ax.plot(
            sockets,
            [s["gc"]["longest_pause_ms"] or float("nan") for s in ramp],
            "d-.",
            color="tab:purple",
            label="longest GC pause (server)",
        )
    _plain_log(ax, sockets)
    _log_ms(ax)
    ax.set_ylabel("milliseconds")
    ax.set_title("Answer time while the sockets were added")
    ax.legend(loc="best")


def _latency_by_sockets(ax: Axes, ramp: list[dict[str, Any]], rate: float) -> None:
    sampled = [s for s in ramp if "sample" in s]
    sockets = [s["held"] for s in sampled]
    for key, style in (("p50", "o-"), ("p95", "s--"), ("p99", "^:")):
        ax.plot(
            sockets, [s["sample"]["e2e_ms"][key] for s in sampled], style, label=f"end-to-end {key}"
        )
    ax.plot(sockets, [s["sample"]["ack_ms"]["p95"] for s in sampled], "x-.", label="ack p95")
    if sockets:
        _plain_log(ax, sockets)
    _log_ms(ax)
    ax.set_ylabel("latency (ms)")
    ax.set_title(f"Chat message latency at {rate:.0f} msg/s, by held sockets")
    ax.legend(loc="best")


def _message_latency(ax: Axes, talk: list[dict[str, Any]], held: int) -> None:
    offered = [s["offered_per_second"] for s in talk]
    for key, style in (("p50", "o-"), ("p95", "s--"), ("p99", "^:")):
        ax.plot(offered, [s["e2e_ms"][key] for s in talk], style, label=f"end-to-end {key}")
    ax.plot(offered, [s["ack_ms"]["p95"] for s in talk], "x-.", label="ack p95")
    _log_ms(ax)
    ax.set_xlabel("offered messages per second (both directions)")
    ax.set_ylabel("latency (ms)")
    ax.set_title(f"Chat message latency by offered rate, at {held:,} held sockets")
    ax.legend(loc="best")
    done = ax.twinx()
    done.plot(offered, [s["delivered_per_second"] for s in talk], "d-", color="grey", alpha=0.6)
    done.set_ylabel("delivered messages per second (grey)", color="grey")
    done.set_ylim(bottom=0)


def draw(results: dict[str, Any], path: Path) -> None:
    fig = Figure(figsize=(14, 10))
    (memory, answers), (by_sockets, by_rate) = fig.subplots(2, 2)
    if results["ramp"]:
        _memory_and_cpu(memory, results["ramp"])
        _responsiveness(answers, results["ramp"])
        rate = results["options"]["conversation"]["sample_rate"]
        _latency_by_sockets(by_sockets, results["ramp"], rate)
    if results["conversations"]:
        _message_latency(by_rate, results["conversations"], results["held_sockets"])
    fig.suptitle(results["command"], fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m benchmarks.plot RESULTS.json OUT.png")
    draw(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
