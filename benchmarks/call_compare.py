"""1:1 forwarding side by side: our relay, aiortc MediaRelay, peer-to-peer and Janus.

    .venv/bin/python -m benchmarks.call_compare [--quick] [--paths p2p,relay,mediarelay,janus]

One run, one machine, one load generator: a publisher process and a subscriber process of
real aiortc peer connections (640x480 VP8 at 30 fps, ~1 Mbit/s, plus Opus; the clip is
encoded once, see benchmarks/call_clip.py). For each path, N one-way streams (one
publisher → one subscriber each) are added in steps (1, 2, 4, ...); per step the relay
process's CPU and RSS are read from /proc over a fixed window, subscribers time every
frame at RTP arrival, and the ramp stops at ≥ 0.5 % loss or a saturated CPU. A 1:1 call is
two such streams (one each way). See docs/benchmarks.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import call_publisher, call_subscriber, environment
from benchmarks.call_metrics import LOSS_LIMIT_PCT, machine_busy, path_summary, step_figures
from benchmarks.call_paths import CallPath, DecodedRelay, Janus, OurRelay, PeerToPeer
from benchmarks.call_report import comparisons, step_line, summary_text
from benchmarks.procstat import ProcSample, cpu_percent, sample
from benchmarks.report import write_json
from loadtest.rpc import Child
from media.clip import Clip, build

RESULTS = Path(__file__).parent / "results"
PATHS = ["p2p", "relay", "mediarelay", "janus", "relay_asyncio"]
LATENCY_LIMIT_MS = 200
OUTSIDE_LIMIT_PCT = 20
"""A failed step is measured again when other work took more than this share of the machine
(a shared VM: other sessions' browser tests run at higher priority)."""
"""A frame later than this is useless in a call: the path has stopped keeping up."""


def _steps(limit: int) -> list[int]:
    steps, n = [], 1
    while n <= limit:
        steps.append(n)
        n *= 2
    return steps


async def poll_until(check: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    """Await `check()` every 0.1 s until it is true (True) or `timeout` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.1)
    return False


class Ramp:
    """One path's ramp through the shared publisher and subscriber processes."""

    def __init__(self, path: CallPath, pub: Child, sub: Child, options: argparse.Namespace):
        self.path, self.pub, self.sub, self.options = path, pub, sub, options
        self.connected = 0

    async def _grow(self, streams: int) -> bool:
        """Connect streams up to `streams`; True once every subscriber receives frames."""
        new = list(range(self.connected, streams))
        for i in range(0, len(new), 8):
            await asyncio.gather(
                *(self.path.connect(s, self.pub, self.sub) for s in new[i : i + 8])
            )
        self.connected = streams

        async def receiving() -> bool:
            return len(await self.sub.call("receiving")) >= streams

        return await poll_until(receiving, 20)

    def _samples(self) -> list[ProcSample | None]:
        pids = [self.path.relay_pid, self.pub.pid, self.sub.pid]
        return [sample(pid) if pid else None for pid in pids]

    async def step(self, streams: int) -> dict[str, Any]:
        started = time.monotonic()
        flowing = await self._grow(streams)
        await asyncio.sleep(self.options.settle)
        window = self.options.window
        start = time.monotonic()
        before, busy_before = self._samples(), machine_busy()
        await asyncio.sleep(window)
        after, busy_after = self._samples(), machine_busy()
        end = time.monotonic()
        await asyncio.sleep(self.options.grace)
        sent = await self.pub.call("collect", start=start, end=end)
        received = await self.sub.call(
            "collect", start=start, end=end, frames_until=end + self.options.grace
        )
        figures = step_figures(streams, end - start, sent, received)
        cpu = [cpu_percent(b, a) if b and a else None for b, a in zip(before, after, strict=True)]
        relay = after[0]
        figures.update(
            {
                "relay_cpu_pct": cpu[0],
                "relay_rss_mib": relay.rss_mib if relay else None,
                "relay_threads": relay.threads if relay else None,
                "us_per_packet": (
                    cpu[0] * 1e4 / figures["packets_per_s"]
                    if cpu[0] is not None and figures["packets_per_s"]
                    else None
                ),
                "publisher_cpu_pct": cpu[1],
                "subscriber_cpu_pct": cpu[2],
                "machine_cpu_pct": 100
                * (busy_after[0] - busy_before[0])
                / max(1, busy_after[1] - busy_before[1]),
                "all_flowing_before_window": flowing,
                "load_average": round(os.getloadavg()[0], 2),
                "outside_cpu_pct": _outside(cpu, busy_before, busy_after),
                "step_seconds": time.monotonic() - started,
            }
        )
        figures["verdict"] = _verdict(figures, self.path)
        return figures


def _outside(
    cpu: list[float | None], busy_before: tuple[float, float], busy_after: tuple[float, float]
) -> float:
    """% of the whole machine used by processes other than the relay and load generator."""
    total = 100 * (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1])
    return max(0.0, total - sum(c or 0.0 for c in cpu) / len(os.sched_getaffinity(0)))


def _verdict(step: dict[str, Any], path: CallPath) -> str:
    """Why a step ends the ramp, or "ok". The machine's own CPU is only reported: other
    work on a shared machine must not end a path's ramp by itself."""
    if step["loss_pct"] >= LOSS_LIMIT_PCT:
        return f"loss {step['loss_pct']:.2f} % >= {LOSS_LIMIT_PCT} %"
    p95 = step["latency_ms"]["p95"]
    if p95 is not None and p95 > LATENCY_LIMIT_MS:
        return f"p95 {p95:,.0f} ms > {LATENCY_LIMIT_MS} ms (frames queue up)"
    cores = (
        1 if path.name in ("relay", "relay_asyncio", "mediarelay") else len(os.sched_getaffinity(0))
    )
    if (step["relay_cpu_pct"] or 0) >= 95 * cores:
        return "relay process CPU saturated"
    return "ok"


def _make_path(name: str, workdir: Path, bitrate: int) -> CallPath:
    if name == "relay":
        return OurRelay()
    if name == "relay_asyncio":
        return OurRelay(event_loop="asyncio")
    if name == "mediarelay":
        return DecodedRelay(bitrate)
    if name == "p2p":
        return PeerToPeer()
    if name == "janus":
        return Janus(workdir / "janus")
    raise ValueError(f"unknown path {name}; choose from {', '.join(PATHS)}")


async def run_path(
    name: str, pub: Child, sub: Child, options: argparse.Namespace, workdir: Path, bitrate: int
) -> dict[str, Any]:
    path = _make_path(name, workdir, bitrate)
    result: dict[str, Any] = {"label": path.label, "steps": [], "error": None}
    print(f"[{name}] starting: {path.label}", flush=True)
    baseline: float | None = None
    try:
        await path.start()
        if path.relay_pid:
            await asyncio.sleep(0.5)
            baseline = sample(path.relay_pid).rss_mib
        result["baseline_rss_mib"] = baseline
        ramp = Ramp(path, pub, sub, options)
        for streams in _steps(options.max_streams):
            step = await ramp.step(streams)
            print(f"[{name}] {step_line(step)}", flush=True)
            for _ in range(options.retries):
                if step["verdict"] == "ok" or step["outside_cpu_pct"] < OUTSIDE_LIMIT_PCT:
                    break
                print(
                    f"[{name}] other work used {step['outside_cpu_pct']:.0f} % of the "
                    "machine during that window: measuring this step again",
                    flush=True,
                )
                first = step
                await asyncio.sleep(5)
                step = await ramp.step(streams)
                step["earlier_attempts"] = [*first.pop("earlier_attempts", []), first]
                print(f"[{name}] {step_line(step)}", flush=True)
            result["steps"].append(step)
            if step["verdict"] != "ok":
                break
    except Exception as error:  # report and carry on with the other paths
        result["error"] = f"{type(error).__name__}: {error}"
        print(f"[{name}] failed: {result['error']}", flush=True)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.gather(pub.call("close_all"), sub.call("close_all"))
        await path.stop()
    if isinstance(path, Janus):
        result["janus_interface"] = path.server.interface
    result["summary"] = path_summary(result["steps"], baseline)
    return result


def _machine() -> dict[str, Any]:
    machine = environment.describe()
    versions = {}
    for package in ("aiortc", "aioice", "av", "pylibsrtp", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "absent"
    machine["packages"] = versions
    with contextlib.suppress(OSError, ValueError):
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", "janus"], capture_output=True, text=True
        )
        versions["janus (Debian)"] = out.stdout.strip() or "absent"
    return machine


async def main_async(options: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    results: dict[str, Any] = {
        "command": "python -m benchmarks.call_compare " + shlex.join(sys.argv[1:]),
        "machine": _machine(),
        "options": {k: v for k, v in vars(options).items() if k != "plot"},
        "paths": {},
    }
    with tempfile.TemporaryDirectory(prefix="call_compare-") as tmp:
        workdir = Path(tmp)
        print("building the clip (VP8 640x480 30 fps + Opus, encoded once) ...", flush=True)
        clip = build(seconds=10, bitrate=options.bitrate)
        clip.save(workdir / "clip.pkl")
        results["clip"] = _clip_facts(clip)
        pub = Child("publishers", call_publisher.main, str(workdir / "clip.pkl"))
        sub = Child("subscribers", call_subscriber.main, str(workdir / "clip.pkl"))
        try:
            await asyncio.gather(pub.start(), sub.start())
            for name in options.paths:
                results["paths"][name] = await run_path(
                    name, pub, sub, options, workdir, options.bitrate
                )
                await asyncio.sleep(1)
        finally:
            await asyncio.gather(pub.stop(), sub.stop())
    results["comparisons"] = comparisons(results["paths"])
    results["seconds"] = time.monotonic() - started
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def _clip_facts(clip: Clip) -> dict[str, Any]:
    sizes = [len(f) for f in clip.video]
    return {
        "frames": len(sizes),
        "video_kbit_s": sum(sizes) * 8 / (len(sizes) / 30) / 1e3,
        "keyframe_bytes": sizes[0],
        "audio_packets_per_s": 50,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="1, 2, 4 streams, 3 s windows, no re-measuring (< 2 min)",
    )
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--max-streams", type=int, default=64)
    parser.add_argument("--window", type=float, default=10.0, help="measured seconds per step")
    parser.add_argument("--settle", type=float, default=2.0)
    parser.add_argument("--grace", type=float, default=1.5)
    parser.add_argument("--bitrate", type=int, default=1_000_000)
    parser.add_argument(
        "--retries",
        type=int,
        default=2,
        help="re-measurements of a step that failed while other processes loaded the machine",
    )
    parser.add_argument("--plot", type=Path, default=None, help="PNG (default: beside the JSON)")
    options = parser.parse_args(argv)
    options.paths = [p for p in options.paths.split(",") if p]
    for name in options.paths:
        if name not in PATHS:
            parser.error(f"unknown path {name}; choose from {', '.join(PATHS)}")
    if options.quick:
        options.max_streams, options.window, options.settle, options.retries = 4, 3.0, 0.5, 0
    return options


def main() -> None:
    options = parse_args()
    results = asyncio.run(main_async(options))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = RESULTS / f"call_compare-{stamp}.json"
    write_json(results, out)
    print()
    print(summary_text(results))
    print(f"\nJSON: {out}")
    try:
        from benchmarks.call_plot import plot
    except ImportError:
        print("no plot: matplotlib missing (pip install -e '.[bench]' -c constraints.txt)")
        return
    png = options.plot or out.with_suffix(".png")
    plot(results, png)
    print(f"plot: {png}")


if __name__ == "__main__":
    main()
