"""One load run: the server (spawned or given), accounts for the simulated agents, the clip
encoded once, generator processes, the arrival plan, live progress, and the results.

The plan is made here from the seed, so a run is repeatable: with `journeys` the exact
number of journeys of each scenario (by weight) is dealt to the processes; otherwise they
arrive at `rate` per second (Poisson, ramping up over `ramp` seconds) or `concurrency`
journeys run at once, for `duration` seconds.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from loadtest import generator
from loadtest.clients import Staff
from loadtest.journeys import CALL_SCENARIOS, STAGES
from loadtest.report import Aggregate, percentile
from loadtest.rpc import Child
from loadtest.server import SpawnedServer, by_label, metric, scrape, wait_ready
from media.clip import build

AGENT_PASSWORD = "load-test-agent-1"


@dataclass
class Profile:
    width: int = 320
    height: int = 240
    fps: int = 15
    bitrate: int = 300_000


@dataclass
class RunOptions:
    url: str | None = None
    admin: tuple[str, str] | None = None
    org: str = "demo"
    spawn_workers: int = 0
    mix: dict[str, float] = field(default_factory=lambda: {"chat": 1.0, "video": 1.0})
    rate: float = 0.0
    concurrency: int = 4
    journeys: int = 0
    duration: float = 30.0
    ramp: float = 5.0
    talk: float = 10.0
    messages: int = 3
    profile: Profile = field(default_factory=Profile)
    processes: int = 0
    seed: int = 1
    decode: bool = False
    """Decode every received frame (as a browser does) instead of reading RTP (rtp_tap.py)."""
    metrics_token: str | None = None
    quiet: bool = False


@dataclass
class Sample:
    """One second of the run, for the report's plots."""

    t: float
    stages: dict[str, int]
    server_cpu_pct: dict[str, float]
    generator_cpu_pct: float
    generator_lag_ms: float
    streams: float
    packets_per_s: float
    latency_p95_ms: float | None
    loss_pct: float | None


def _plan(opts: RunOptions, processes: int) -> list[dict[str, Any]]:
    """Per process, the keyword arguments of its op_run."""
    rng = random.Random(opts.seed)
    names = list(opts.mix)
    weights = [opts.mix[n] for n in names]
    if opts.journeys:
        total = sum(weights)
        counts = {
            n: math.floor(opts.journeys * w / total) for n, w in zip(names, weights, strict=True)
        }
        rest = sorted(names, key=lambda n: -(opts.journeys * opts.mix[n] / total % 1))
        for name in rest[: opts.journeys - sum(counts.values())]:
            counts[name] += 1
        deck = [n for n in names for _ in range(counts[n])]
        rng.shuffle(deck)
        dealt: list[list[str]] = [deck[p::processes] for p in range(processes)]
        per = max(1, math.ceil(opts.concurrency / processes))
        return [
            {"scenarios": d, "concurrency": min(per, len(d)), "limit": len(d), "ramp": opts.ramp}
            for d in dealt
        ]
    if opts.rate > 0:
        arrivals: list[list[tuple[float, str, int]]] = [[] for _ in range(processes)]
        t, number = 0.0, 0
        while True:
            # Thinning: the rate climbs linearly to `rate` over the ramp.
            t += rng.expovariate(opts.rate)
            if t >= opts.duration:
                break
            if opts.ramp and t < opts.ramp and rng.random() > t / opts.ramp:
                continue
            arrivals[number % processes].append((t, rng.choices(names, weights)[0], number))
            number += 1
        return [{"arrivals": a} for a in arrivals]
    per = max(1, math.ceil(opts.concurrency / processes))
    return [
        {
            "concurrency": per,
            "scenarios": names,
            "weights": weights,
            "duration": opts.duration,
            "ramp": opts.ramp,
            "seed": opts.seed,
        }
        for _ in range(processes)
    ]


def _agents_needed(opts: RunOptions, plan: dict[str, Any]) -> int:
    if "arrivals" in plan:
        journey_s = opts.talk + 8 + opts.messages
        return max(2, math.ceil(opts.rate / max(1, opts.processes) * journey_s * 1.5) + 1)
    return int(plan["concurrency"]) + 1


async def _create_agents(
    admin: Staff, run: str, process: int, count: int, language: str
) -> list[tuple[str, str]]:
    accounts = [(f"lt-{run}-{process}-{i}@loadtest.local", AGENT_PASSWORD) for i in range(count)]
    for email, password in accounts:
        await admin.rest(
            "POST",
            "/api/users",
            expect=201,
            json={
                "email": email,
                "name": f"Load agent {process}-{email.split('-')[3].split('@')[0]}",
                "role": "agent",
                "password": password,
                "max_chats": 1,
                "languages": [language],
            },
        )
    return accounts


class Run:
    def __init__(self, opts: RunOptions) -> None:
        self.opts = opts
        self.server: SpawnedServer | None = None
        self.url = opts.url or ""
        self.children: list[Child] = []
        self.results: list[dict[str, Any]] = []
        self.samples: list[Sample] = []
        self.generators: list[dict[str, Any]] = []
        self.metrics_before: dict[Any, float] = {}
        self.metrics_after: dict[Any, float] = {}
        self.began = 0.0
        self.ended = 0.0
        self.clip_seconds = 0.0
        self.workers = 0

    def say(self, text: str) -> None:
        if not self.opts.quiet:
            print(text, file=sys.stderr, flush=True)

    async def execute(self) -> Aggregate:
        opts = self.opts
        processes = opts.processes or max(1, min(4, (os.cpu_count() or 2)))
        opts.processes = processes
        if opts.url is None:
            self.server = SpawnedServer(workers=opts.spawn_workers)
            self.server.start()
            self.url = self.server.url
            self.say(f"spawned a server at {self.url} (data in {self.server.data_dir})")
        try:
            async with aiohttp.ClientSession() as http:
                health = await wait_ready(self.url, http)
                self.workers = int(health["components"]["relay"].get("workers", 0))
                admin_login = opts.admin or (self.server.admin() if self.server else None)
                if admin_login is None:
                    raise RuntimeError("give staff credentials (--email, --password) of an admin")
                return await self._run(http, admin_login, processes)
        finally:
            await asyncio.gather(*(c.stop() for c in self.children), return_exceptions=True)
            if self.server is not None:
                self.server.stop()

    async def _run(
        self, http: aiohttp.ClientSession, admin_login: tuple[str, str], processes: int
    ) -> Aggregate:
        opts = self.opts
        run_tag = f"{int(time.time()) % 100000:05d}"
        admin = Staff(self.url, http=http)
        await admin.sign_in(*admin_login)
        if self.server is not None:
            policy = "on_request" if set(opts.mix) - {"recorded"} else "always"
            await admin.rest("PATCH", "/api/recording-policy", json={"recording_policy": policy})
        plans = _plan(opts, processes)
        languages = [f"en-r{run_tag}p{p}" for p in range(processes)]
        accounts = [
            await _create_agents(admin, run_tag, p, _agents_needed(opts, plan), languages[p])
            for p, plan in enumerate(plans)
        ]
        self.say(f"{sum(map(len, accounts))} agent accounts over {processes} processes")
        clip_path = Path(tempfile.mkdtemp(prefix="la-clip-")) / "clip.pkl"
        began = time.monotonic()
        p = opts.profile
        needs_media = bool(set(opts.mix) & CALL_SCENARIOS)
        build(
            seconds=4 if needs_media else 1,
            bitrate=p.bitrate,
            width=p.width,
            height=p.height,
            fps=p.fps,
            keyframe_seconds=1.0,
            check_index=not opts.decode,  # frames are then known by their leading bytes
        ).save(clip_path)
        self.clip_seconds = time.monotonic() - began
        self.say(f"clip encoded once in {self.clip_seconds:.1f} s ({p.width}x{p.height}@{p.fps})")
        self.children = [
            Child(f"loadgen-{i}", generator.main, i, str(clip_path)) for i in range(processes)
        ]
        await asyncio.gather(*(c.start() for c in self.children))
        recorded = "recorded" in opts.mix
        await asyncio.gather(
            *(
                c.call(
                    "setup",
                    timeout=120,
                    url=self.url,
                    org=opts.org,
                    language=languages[i],
                    agents=accounts[i],
                    talk_seconds=opts.talk,
                    messages=opts.messages,
                    admin=admin_login if recorded else None,
                    decode=opts.decode,
                )
                for i, c in enumerate(self.children)
            )
        )
        await admin.close()
        self.metrics_before = await scrape(self.url, http, opts.metrics_token) or {}
        start_at = time.time() + 0.5
        await asyncio.gather(
            *(
                c.call("run", start_at=start_at, **plan)
                for c, plan in zip(self.children, plans, strict=True)
            )
        )
        self.began = time.monotonic()
        await self._watch(http)
        finals = await asyncio.gather(
            *(c.call("finish", timeout=120, wait=60.0) for c in self.children)
        )
        for final in finals:
            self.results += final["finished"]
            self.generators.append(final["totals"])
        self.ended = time.monotonic()
        self.metrics_after = await scrape(self.url, http, opts.metrics_token) or {}
        return Aggregate.of(self)

    async def _watch(self, http: aiohttp.ClientSession) -> None:
        """A line a second until every process has no journey left to start or running."""
        last: dict[Any, float] | None = None
        last_at = time.monotonic()
        while True:
            await asyncio.sleep(1.0)
            progress = await asyncio.gather(*(c.call("progress") for c in self.children))
            stages = dict.fromkeys(STAGES, 0)
            for report in progress:
                for name, count in report["stages"].items():
                    stages[name] += count
                self.results += report["finished"]
            samples = await scrape(self.url, http, self.opts.metrics_token)
            now = time.monotonic()
            cpu: dict[str, float] = {}
            streams = packets = 0.0
            if samples is not None:
                streams = metric(samples, "liveassist_relay_streams")
                if last is not None:
                    span = now - last_at
                    cpu["signaling"] = round(
                        100
                        * (
                            metric(samples, "process_cpu_seconds_total")
                            - metric(last, "process_cpu_seconds_total")
                        )
                        / span,
                        1,
                    )
                    before = by_label(last, "liveassist_relay_cpu_seconds_total", "worker")
                    for worker, value in by_label(
                        samples, "liveassist_relay_cpu_seconds_total", "worker"
                    ).items():
                        cpu[f"relay-{worker}"] = round(
                            100 * (value - before.get(worker, value)) / span, 1
                        )
                    packets = (
                        metric(samples, "liveassist_relay_packets_forwarded_total")
                        - metric(last, "liveassist_relay_packets_forwarded_total")
                    ) / span
                last, last_at = samples, now
            recent = [r for r in self.results if r.get("ended_at", 0) > time.time() - 10]
            latency = [
                v for r in recent for d in r["to_agent"] + r["to_customer"] for v in d["latency_ms"]
            ]
            losses = [
                d["frame_loss_pct"]
                for r in recent
                for d in r["to_agent"] + r["to_customer"]
                if d["frame_loss_pct"] is not None
            ]
            gen = [r["generator"] for r in progress]
            sample = Sample(
                t=round(now - self.began, 1),
                stages=stages,
                server_cpu_pct=cpu,
                generator_cpu_pct=round(sum(g["cpu_pct"] for g in gen), 1),
                generator_lag_ms=max((g["loop_lag_ms"] for g in gen), default=0.0),
                streams=streams,
                packets_per_s=round(packets, 1),
                latency_p95_ms=percentile(latency, 0.95),
                loss_pct=round(sum(losses) / len(losses), 3) if losses else None,
            )
            self.samples.append(sample)
            self._progress_line(sample)
            if not any(r["driving"] for r in progress):
                return

    def _progress_line(self, s: Sample) -> None:
        st = s.stages
        active = st["chatting"] + st["calling"] + st["in_call"] + st["ending"]
        setups = [
            d["setup_ms"]
            for r in self.results
            for d in r["to_agent"] + r["to_customer"]
            if d["setup_ms"] is not None
        ]
        errors = st["failed"]
        cpu = " ".join(f"{k} {v:.0f}%" for k, v in s.server_cpu_pct.items())
        self.say(
            f"{s.t:6.1f}s  queued {st['queued']:3d}  active {active:3d} (calls up {st['in_call']})"
            f"  done {st['done']:4d}  failed {errors:3d}"
            f"  setup p95 {_ms(percentile(setups, 0.95))}  latency p95 {_ms(s.latency_p95_ms)}"
            f"  | server {cpu or '-'}  | generator {s.generator_cpu_pct:.0f}% "
            f"lag {s.generator_lag_ms:.0f} ms"
        )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"
