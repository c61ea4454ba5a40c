"""--find-capacity SCENARIO: run steps of growing concurrency until an SLO breaks (or the
generator becomes the bottleneck); report the last load that held and what broke first.

Each step is a whole short run (the options' duration) with one server spawned for all
steps when --spawn is given (its agents accumulate; each step has its own). Without SLOs
the defaults are DEFAULT_SLOS (chat, audio, churn) or VIDEO_SLOS (the video scenarios).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import aiohttp

from loadtest.report import check_slos
from loadtest.runner import Run, RunOptions
from loadtest.server import SpawnedServer, wait_ready

DEFAULT_SLOS = {
    "chat": ["time_to_agent_p95=2s", "chat_latency_p95=500ms", "errors=0%"],
    "audio": ["setup_p95=2s", "packet_loss=2%", "audio=98%", "chat_latency_p95=500ms", "errors=0%"],
    "churn": ["setup_p95=2s", "packet_loss=2%", "audio=98%", "errors=0%"],
}
"""Per scenario, what a support team would hold it to; a video scenario (the rest) adds
media latency and frame loss, which audio-only and chat journeys do not have."""
VIDEO_SLOS = ["setup_p95=2s", "latency_p95=250ms", "loss=2%", "chat_latency_p95=500ms", "errors=0%"]
MAX_STEPS = 8


def _hottest(server: dict[str, Any]) -> str:
    peaks: dict[str, float] = server.get("cpu_pct_peak", {})
    if not peaks:
        return "-"
    name = max(peaks, key=lambda k: peaks[k])
    return f"{name} at {peaks[name]:.0f}% of a core (peak)"


async def _ready(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        await wait_ready(url, http)


def find_capacity(opts: RunOptions, scenario: str, slos: list[str], out: Path | None) -> int:
    slos = slos or DEFAULT_SLOS.get(scenario, VIDEO_SLOS)
    server = None
    if opts.url is None:
        server = SpawnedServer(workers=opts.spawn_workers)
        server.start()
        asyncio.run(_ready(server.url))  # its demo accounts are written by then
    steps: list[dict[str, Any]] = []
    held_at: int | None = None
    broke: dict[str, Any] | None = None
    try:
        concurrency = max(1, opts.concurrency)
        for _ in range(MAX_STEPS):
            step = dataclasses.replace(
                opts,
                url=server.url if server else opts.url,
                admin=opts.admin or (server.admin() if server else None),
                mix={scenario: 1.0},
                concurrency=concurrency,
                journeys=0,
                rate=0.0,
            )
            print(f"== step: {concurrency} concurrent {scenario} journeys", file=sys.stderr)
            agg = asyncio.run(Run(step).execute())
            agg.slos = check_slos(agg.figures, slos)
            record = {
                "concurrency": concurrency,
                "journeys": agg.figures["journeys"],
                "passed": agg.passed,
                "slos": [dataclasses.asdict(s) for s in agg.slos],
                "server_cpu_peak": agg.server.get("cpu_pct_peak", {}),
                "generator": {k: agg.generator[k] for k in ("cpu_pct_total", "bottleneck", "why")},
                "hottest": _hottest(agg.server),
            }
            steps.append(record)
            broken = [s.name for s in agg.slos if not s.held]
            print(
                f"   {concurrency} concurrent: "
                + ("held" if not broken else f"broke {', '.join(broken)}")
                + f"; hottest {record['hottest']}",
                file=sys.stderr,
            )
            if broken or agg.generator["bottleneck"]:
                broke = {**record, "broken": broken}
                break
            held_at = concurrency
            concurrency = max(concurrency + 1, round(concurrency * 1.5))
    finally:
        if server is not None:
            server.stop()
    if broke is None:
        verdict = f"held up to {held_at} concurrent {scenario} journeys (no step broke)"
    elif broke["broken"]:
        verdict = (
            f"capacity: {held_at or 0} concurrent {scenario} journeys; at "
            f"{broke['concurrency']} first broke {', '.join(broke['broken'])} "
            f"(hottest: {broke['hottest']})"
        )
    else:
        verdict = (
            f"capacity: at least {held_at or 0} concurrent {scenario} journeys; at "
            f"{broke['concurrency']} the generator became the bottleneck "
            f"({'; '.join(broke['generator']['why'])}) — measure with the generator elsewhere"
        )
    print(verdict)
    if out is not None:
        out.write_text(
            json.dumps(
                {"scenario": scenario, "capacity": held_at, "steps": steps, "verdict": verdict},
                indent=1,
            )
        )
    return 0 if held_at else 1
