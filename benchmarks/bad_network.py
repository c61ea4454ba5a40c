"""Calls on bad networks (issue 13): our relay, Janus and peer-to-peer, one impaired leg at a time.

    .venv/bin/python -m benchmarks.bad_network [--paths relay,janus,p2p]   (as root)
        [--conditions clean,loss2,loss5,delay,delay_loss2,cap,dip] [--legs uplink,downlink]
        [--seconds N]
        [--repeat N] [--quick] [--clients aiortc|chromium]

The publisher and the subscriber (one aiortc process each, the same for every path) run in
their own network namespaces behind a hub (benchmarks/netns.py); our relay and Janus run in
the root namespace. The publisher is call_compare's (a pre-encoded VP8 clip, which does not
adapt its bitrate: aiortc only adapts when it encodes). The subscriber here, unlike
call_compare's, is a full aiortc receiver: jitter buffer, NACKs, PLIs, REMB and a VP8
decoder, so each path's repair works as it would for a real client; a frame counts when it
leaves the decoder. Per run: one stream (publisher → subscriber), connected on a clean
network, then one condition applied to the publisher's uplink or the subscriber's downlink.
Caveat: aiortc's receiver waits for a packet that is never repaired until 512 packets have
piled up behind it (≈ 6 s here), where a browser asks for a keyframe far sooner, so single
runs under loss swing by seconds of freeze on any path: compare means over --repeat.

--clients chromium puts headless Chromium at both ends instead
(benchmarks/bad_network_browser.py): a canvas stamped with frame numbers, encoded by
Chromium's own VP8 encoder (which adapts its bitrate), and a subscriber that times every
presented frame (requestVideoFrameCallback) and reads its stamp; loss, kbit/s and audio
concealment come from the subscriber's getStats(), the encoder's bitrate from the
publisher's (benchmarks/bad_network_stats.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import shlex
import signal
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks import bad_network_browser, call_publisher, janus_server, netns
from benchmarks.bad_network_conditions import (
    CONDITIONS,
    DIP_S,
    JANUS_PEER_ADDRESS,
    LEGS,
    PATHS,
    PRE_DIP_S,
    RESULTS,
    Condition,
)
from benchmarks.bad_network_report import figures, run_line, summary_text, verdicts
from benchmarks.bad_network_stats import sender_figures
from benchmarks.bad_network_viewer import in_netns, viewers_main
from benchmarks.call_compare import _machine, poll_until
from benchmarks.call_metrics import machine_busy
from benchmarks.call_paths import CallPath, Janus, OurRelay, PeerToPeer
from benchmarks.report import write_json
from loadtest.rpc import Child
from media.clip import build

RELAY_ESTIMATOR_COUNTERS = (
    "send_side_overuses",
    "send_side_loss_cuts",
    "send_side_limits",
    "nacks_received",
    "rtx_sent",
    "rtx_refused",
    "transport_feedback_received",
    "arrival_stamps_kernel",
    "arrival_stamps_fallback",
)
"""What the relay's own estimate of the subscriber's downlink did in a run (relay/metrics.py):
overuses and loss cuts say which half of it brought a dip; NACKs and resends, what the
subscriber asked to be repaired and what the relay answered."""


def loop_lags(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    """How often the relay worker's loop woke late during a run (relay/metrics.py samples it
    every 0.25 s): a late loop stamps late arrival times on the publisher's transport-cc."""
    counts = [b - a for a, b in zip(before["counts"], after["counts"], strict=True)]
    bounds = after["bounds"]
    over = {limit: sum(counts[bounds.index(limit) + 1 :]) for limit in (25, 100)}
    return {"samples": sum(counts), "over_25_ms": over[25], "over_100_ms": over[100]}


class Runner:
    """One path's runs through the shared publisher and subscriber processes."""

    def __init__(self, path: CallPath, pub: Child, sub: Child, options: argparse.Namespace):
        self.path, self.pub, self.sub, self.options = path, pub, sub, options
        self.impairments = netns.Impairments()

    async def _apply(self, condition: Condition, leg: str) -> None:
        role, direction = LEGS[leg]
        where = netns.LEGS[role]
        if condition.loss:
            self.impairments.loss(where, direction, condition.loss)
        if condition.rate_kbit:
            self.impairments.rate(where, direction, condition.rate_kbit)
        if condition.delay_ms:
            await self.impairments.delay(where, condition.delay_ms, condition.jitter_ms)

    async def _window(
        self, condition: Condition, leg: str
    ) -> tuple[float, tuple[float, float] | None]:
        """Sleep through the measured window (dipping the rate if asked); its end time."""
        if condition.dip_kbit is None or condition.rate_kbit is None:
            await asyncio.sleep(self.options.seconds)
            return time.monotonic(), None
        role, direction = LEGS[leg]
        await asyncio.sleep(PRE_DIP_S)
        dip_start = time.monotonic()
        self.impairments.rate(netns.LEGS[role], direction, condition.dip_kbit)
        await asyncio.sleep(DIP_S)
        dip_end = time.monotonic()
        self.impairments.rate(netns.LEGS[role], direction, condition.rate_kbit)
        await asyncio.sleep(self.options.seconds)
        return time.monotonic(), (dip_start, dip_end)

    async def _relay_counters(self) -> dict[str, Any]:
        if not isinstance(self.path, OurRelay):
            return {}
        return await self.path.counters()

    async def run(self, stream: int, name: str, leg: str) -> dict[str, Any]:
        condition = CONDITIONS[name]
        print(f"[{self.path.name}] {name} {leg}: connecting ...", flush=True)
        result: dict[str, Any] = {"condition": name, "leg": leg, "error": None}
        try:
            await self.path.connect(stream, self.pub, self.sub)

            async def receiving() -> bool:
                return stream in await self.sub.call("receiving")

            if not await poll_until(receiving, 20):
                raise RuntimeError("no decoded frame within 20 s of connecting")
            await asyncio.sleep(self.options.settle)
            if leg in LEGS:
                await self._apply(condition, leg)
            await asyncio.sleep(1.0)
            before = await self._relay_counters()
            start, busy = time.monotonic(), machine_busy()
            await self.pub.call("collect", start=start, end=start)  # forget earlier frames
            await self.sub.call("collect", stream=stream)
            end, dip = await self._window(condition, leg)
            await asyncio.sleep(self.options.grace)
            sent = (await self.pub.call("collect", start=start, end=end)).get(stream, [])
            got = await self.sub.call("collect", stream=stream)
            result.update(figures(sent, got, (start, end), self.options.grace, dip))
            if self.options.clients == "chromium":
                encoder = await self.pub.call("sender_stats", stream=stream, start=start, end=end)
                result["sender"] = sender_figures(encoder, (start, end), dip)
            result["remote_candidates"] = got["remote_candidates"]
            after = await self._relay_counters()
            if before and after:  # what the relay's own downlink estimator did meanwhile
                result["relay_estimator"] = {
                    name: after[name] - before[name] for name in RELAY_ESTIMATOR_COUNTERS
                }
                result["relay_loop_lags"] = loop_lags(before["loop_lag_ms"], after["loop_lag_ms"])
            busy_end = machine_busy()
            result["machine_cpu_pct"] = (
                100 * (busy_end[0] - busy[0]) / max(1, busy_end[1] - busy[1])
            )
            result["load_average"] = round(os.getloadavg()[0], 2)
        except Exception as error:  # report and carry on with the other runs
            result["error"] = f"{type(error).__name__}: {error}"
        finally:
            await self.impairments.clear()
            with contextlib.suppress(Exception):
                await asyncio.gather(self.pub.call("close_all"), self.sub.call("close_all"))
        return result


def _make_path(name: str, workdir: Path) -> CallPath:
    if name == "relay":
        return OurRelay()
    if name == "janus":
        return Janus(workdir / "janus")
    if name == "p2p":
        return PeerToPeer()
    raise ValueError(f"unknown path {name}; choose from {', '.join(PATHS)}")


async def main_async(options: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    results: dict[str, Any] = {
        "command": "python -m benchmarks.bad_network " + shlex.join(sys.argv[1:]),
        "machine": _machine(),
        "options": vars(options),
        "conditions": {k: asdict(CONDITIONS[k]) for k in options.conditions},
        "paths": {},
    }
    print("building namespaces (benchmarks/netns.py) ...", flush=True)
    netns.build()
    streams = itertools.count(1)
    try:
        with tempfile.TemporaryDirectory(prefix="bad_network-") as tmp:
            workdir = Path(tmp)
            pub, sub = _clients(options, workdir)
            try:
                await asyncio.gather(pub.start(), sub.start())
                for name in options.paths:
                    results["paths"][name] = await _run_path(
                        name, workdir, pub, sub, options, streams
                    )
            finally:
                await asyncio.gather(pub.stop(), sub.stop())
    finally:
        netns.cleanup()
    results["verdicts"] = verdicts(results["paths"])
    results["seconds"] = time.monotonic() - started
    return results


def _clients(options: argparse.Namespace, workdir: Path) -> tuple[Child, Child]:
    """The publisher and subscriber processes, each to enter its own namespace."""
    pub_ns, sub_ns = netns.LEGS["pub"].netns, netns.LEGS["sub"].netns
    if options.clients == "chromium":
        print("clients: headless Chromium (benchmarks/bad_network_browser.py)", flush=True)
        return (
            Child("publishers", in_netns, pub_ns, bad_network_browser.publisher_main),
            Child("subscribers", in_netns, sub_ns, bad_network_browser.viewers_main),
        )
    print(f"building the clip (VP8 640x480 30 fps at {options.bitrate} bit/s) ...")
    build(seconds=10, bitrate=options.bitrate).save(workdir / "clip.pkl")
    clip = str(workdir / "clip.pkl")
    return (
        Child("publishers", in_netns, pub_ns, call_publisher.main, clip),
        Child("subscribers", in_netns, sub_ns, viewers_main, clip),
    )


async def _run_path(
    name: str,
    workdir: Path,
    pub: Child,
    sub: Child,
    options: argparse.Namespace,
    streams: itertools.count[int],
) -> dict[str, Any]:
    path = _make_path(name, workdir)
    result: dict[str, Any] = {"label": path.label, "runs": [], "error": None}
    print(f"[{name}] starting: {path.label}", flush=True)
    try:
        await path.start()
        if isinstance(path, Janus) and path.server.interface == janus_server.VETH:
            netns.attach(janus_server.VETH, janus_server.VETH_PEER, JANUS_PEER_ADDRESS)
        runner = Runner(path, pub, sub, options)
        for repeat in range(options.repeat):
            for condition in options.conditions:
                for leg in ["-"] if condition == "clean" else options.legs:
                    run = await runner.run(next(streams), condition, leg)
                    run["repeat"] = repeat + 1
                    print(run_line(name, run), flush=True)
                    result["runs"].append(run)
    except Exception as error:  # report and carry on with the other paths
        result["error"] = f"{type(error).__name__}: {error}"
        print(f"[{name}] failed: {result['error']}", flush=True)
    finally:
        await path.stop()
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    parser.add_argument("--legs", default=",".join(LEGS))
    parser.add_argument(
        "--seconds", type=float, default=30.0, help="measured per run (the dip: after it)"
    )
    parser.add_argument("--settle", type=float, default=2.0)
    parser.add_argument("--grace", type=float, default=1.0)
    parser.add_argument("--bitrate", type=int, default=600_000, help="the clip's video bit/s")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per cell (verdicts use the mean)"
    )
    parser.add_argument("--quick", action="store_true", help="10 s per run")
    parser.add_argument(
        "--clients",
        choices=["aiortc", "chromium"],
        default="aiortc",
        help="publisher and subscriber: aiortc processes, or headless Chromium",
    )
    options = parser.parse_args(argv)
    for attr, known in (("paths", PATHS), ("conditions", CONDITIONS), ("legs", LEGS)):
        chosen = [x for x in getattr(options, attr).split(",") if x]
        for x in chosen:
            if x not in known:
                parser.error(f"unknown {attr[:-1]} {x}; choose from {', '.join(known)}")
        setattr(options, attr, chosen)
    if options.quick:
        options.seconds, options.settle = 10.0, 1.0
    return options


def main() -> None:
    options = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # tear down as on Ctrl-C
    try:
        results = asyncio.run(main_async(options))
    finally:
        netns.cleanup()  # also after Ctrl-C inside the event loop's own cleanup
    out = RESULTS / f"bad_network-{time.strftime('%Y%m%d-%H%M%S')}.json"
    write_json(results, out)
    print()
    print(summary_text(results))
    print(f"\nJSON: {out}")


if __name__ == "__main__":
    main()
