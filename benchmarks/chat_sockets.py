"""How many connected chat sockets one signaling process holds, and chat message latency
and throughput at that load.

    .venv/bin/python -m benchmarks.chat_sockets [--max-sockets N] [--rates 50,100] [--gc-log]

Starts one real `liveassist serve` (fresh temporary data directory, SQLite, production
defaults except raised rate limits, see benchmarks.server.RAISED_LIMITS) and, in separate
load-generator processes, 10 agents (admin REST API, up to 50 chats each). Phase A ramps up
idle customer sockets in doubling steps; per step it measures the server's RSS and CPU from
/proc, a light request's answer time, the worst event-loop stall (/healthz, once a second)
and, once the conversations are open, message latency at a fixed sample rate; the top level
is then held idle for a whole ping cycle. Phase B, at the held load, raises the message rate
until a step fails. Latency is end-to-end (emit -> the other side's `message` push) and ack
(emit -> ack, which includes the SQLite write). Results go to benchmarks/results/ as JSON and
PNG. All traffic stays on 127.0.0.1; every phase is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import resource
import shlex
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import conversations, environment, loadgen, ramp, report
from benchmarks.gclog import GcLog
from benchmarks.server import RAISED_LIMITS, ServerProcess
from benchmarks.watch import HealthWatch
from loadtest.rpc import Child

RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Options:
    ramp: ramp.RampPlan
    conversation: conversations.ConversationPlan
    workers: int
    client: str
    port: int
    out: Path
    keep_data: bool
    gc_log: bool


def _rates(text: str) -> list[float]:
    rates = [float(part) for part in text.split(",") if part.strip()]
    if not rates or any(r <= 0 for r in rates):
        raise argparse.ArgumentTypeError("give positive rates, e.g. 100,200,400")
    return rates


def parse(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.chat_sockets",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    a = p.add_argument_group("phase A: held sockets")
    a.add_argument("--start-sockets", type=int, default=250, help="first step (default 250)")
    a.add_argument("--max-sockets", type=int, default=16000, help="last step (default 16000)")
    a.add_argument("--ramp-seconds", type=float, default=360, help="time bound of phase A")
    a.add_argument("--settle-seconds", type=float, default=5, help="idle hold per step")
    a.add_argument(
        "--hold-seconds",
        type=float,
        default=30,
        help="idle hold at the top level; a ping cycle is 25 s (default 30)",
    )
    a.add_argument("--connect-concurrency", type=int, default=48, help="connects in flight")
    a.add_argument("--probe-samples", type=int, default=40, help="light requests per step")
    a.add_argument("--ack-bound-ms", type=float, default=1000, help="probe p95 bound per step")
    b = p.add_argument_group("conversations: a fixed-rate sample per step, then a rate sweep")
    b.add_argument("--chats", type=int, default=500, help="concurrent conversations")
    b.add_argument(
        "--sample-rate",
        type=float,
        default=100,
        help="messages/s measured at every held-socket step (default 100)",
    )
    b.add_argument(
        "--sample-seconds", type=float, default=10, help="duration of that sample (default 10)"
    )
    b.add_argument("--max-chats", type=int, default=50, help="chats per agent (1..50)")
    b.add_argument(
        "--rates",
        type=_rates,
        default=[50.0, 100.0, 150.0, 200.0, 300.0, 400.0],
        help="offered messages/s, both directions together (default 50,100,150,200,300,400)",
    )
    b.add_argument("--step-seconds", type=float, default=20, help="duration of each rate")
    b.add_argument(
        "--drain-seconds",
        type=float,
        default=15,
        help="longest wait for late pushes after each rate step",
    )
    b.add_argument(
        "--latency-bound-ms",
        type=float,
        default=1000,
        help="stop raising the rate once end-to-end p95 exceeds this",
    )
    b.add_argument(
        "--max-in-flight",
        type=int,
        default=2000,
        help="sends awaiting an ack per load generator before sends are skipped",
    )
    p.add_argument("--workers", type=int, default=2, help="load-generator processes")
    p.add_argument(
        "--client",
        choices=sorted(loadgen.CLIENTS),
        default="lean",
        help="the load generators' sockets: raw websockets (lean) or python-socketio's client",
    )
    p.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    p.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    p.add_argument("--keep-data", action="store_true", help="keep the server's data directory")
    p.add_argument(
        "--gc-log",
        action="store_true",
        help="log the server's garbage-collector pauses (benchmarks/gc_hook)",
    )
    args = p.parse_args(argv)
    if not 1 <= args.max_chats <= 50:
        p.error("--max-chats must be 1..50 (the server's limit)")
    if args.chats > args.max_sockets or args.start_sockets > args.max_sockets:
        p.error("--chats and --start-sockets must not exceed --max-sockets")
    if min(args.start_sockets, args.chats, args.workers) < 1:
        p.error("--start-sockets, --chats and --workers must be at least 1")
    return Options(
        ramp=ramp.RampPlan(
            start=args.start_sockets,
            max_sockets=args.max_sockets,
            seconds=args.ramp_seconds,
            settle_seconds=args.settle_seconds,
            hold_seconds=args.hold_seconds,
            connect_concurrency=args.connect_concurrency,
            probe_samples=args.probe_samples,
            ack_bound_ms=args.ack_bound_ms,
        ),
        conversation=conversations.ConversationPlan(
            chats=args.chats,
            max_chats_per_agent=args.max_chats,
            rates=args.rates,
            sample_rate=args.sample_rate,
            sample_seconds=args.sample_seconds,
            step_seconds=args.step_seconds,
            drain_seconds=args.drain_seconds,
            latency_bound_ms=args.latency_bound_ms,
            max_in_flight=args.max_in_flight,
        ),
        workers=args.workers,
        client=args.client,
        port=args.port,
        out=args.out,
        keep_data=args.keep_data,
        gc_log=args.gc_log,
    )


def raise_fd_limit() -> int:
    """Every socket is a file descriptor on both ends; children inherit the raised limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def headline(held: int, talk: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer in one line: sockets held, and the highest message rate that still passed."""
    passed = [s for s in talk if s["passed"]]
    best = passed[-1] if passed else None
    return {
        "held_sockets": held,
        "max_passing_rate": best["offered_per_second"] if best else None,
        "at_max_passing_rate": best,
    }


@contextlib.asynccontextmanager
async def load_generators(
    count: int, base_url: str, seed: int = 1, client: str = "lean"
) -> AsyncIterator[list[Child]]:
    """`count` load-generator processes (spawned: each starts clean, with no copy of our
    state), each asked to close its sockets and exit at the end."""
    children = [
        Child(f"loadgen-{i}", loadgen.main, i, base_url, seed + i, client) for i in range(count)
    ]
    try:
        await asyncio.gather(*(child.start() for child in children))
        yield children
    finally:
        await asyncio.gather(*(child.stop() for child in children))


async def run(opts: Options, command: str) -> dict[str, Any]:
    """Both phases against one fresh server; whatever was measured before a failure is kept."""
    started = time.monotonic()
    results: dict[str, Any] = {
        "benchmark": "chat_sockets",
        "command": command,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": environment.describe(),
        "raised_limits": RAISED_LIMITS,
        "options": {
            "ramp": opts.ramp.__dict__,
            "conversation": opts.conversation.__dict__,
            "workers": opts.workers,
            "client": opts.client,
        },
        "ramp": [],
        "held_sockets": 0,
        "conversations": [],
        "errors": [],
    }
    with (
        ServerProcess(opts.port, keep_data=opts.keep_data, gc_log=opts.gc_log) as server,
        HealthWatch(server.url) as watch,
    ):
        async with load_generators(opts.workers, server.url, client=opts.client) as pool:
            print(f"server pid {server.pid} at {server.url} (data {server.data_dir})", flush=True)
            try:
                await _measure(opts, server, watch, pool, results)
            except (RuntimeError, OSError) as exc:  # loadtest.rpc.RemoteError is a RuntimeError
                results["errors"].append(f"{type(exc).__name__}: {exc}")
                print(f"the run stopped early: {exc}", flush=True)
            print("closing every socket at once", flush=True)
            try:
                results["release"] = await ramp.release(pool, watch, server.pid, timeout=45)
                gone = results["release"]
                print(
                    f"  {gone['sockets']} sockets; after "
                    f"{gone['seconds_until_server_released_all']} s the server counted "
                    f"{gone['server_still_counting']} (None: no answer), "
                    f"CPU {gone['server_cpu_pct']}%, worst stall {gone['worst_stall_ms']:.0f} ms",
                    flush=True,
                )
            except (RuntimeError, OSError) as exc:
                results["errors"].append(f"release: {type(exc).__name__}: {exc}")
            results["server_log_problems"] = server.problems()
            if server.gc_log_path is not None:
                annotate_gc(results, GcLog(server.gc_log_path))
            print("stopping the server", flush=True)
    results["headline"] = headline(results["held_sockets"], results["conversations"])
    results["seconds"] = round(time.monotonic() - started, 1)
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


async def _measure(
    opts: Options,
    server: ServerProcess,
    watch: HealthWatch,
    pool: list[Child],
    results: dict[str, Any],
) -> None:
    talk = opts.conversation
    print("agents: created through the admin API and online before any load", flush=True)
    agents, online, errors = await conversations.agents_online(
        pool, server.url, server.demo_password("admin@demo.local"), talk
    )
    results["agents"] = {"created": agents, "online": online, "errors": errors}
    print(f"  {online}/{agents} agents online {errors or ''}", flush=True)

    print(f"phase A: ramping idle customer sockets {opts.ramp.targets()}", flush=True)
    traffic_steps = itertools.count()
    active = 0
    async for step in ramp.run(pool, watch, server.pid, opts.ramp):
        entry = step.to_json()
        results["ramp"].append(entry)
        if not active and step.held >= talk.chats:
            active = await _open_chats(pool, talk.chats, results)
        if active:
            sample = await conversations.measure(
                pool,
                watch,
                server.pid,
                talk,
                next(traffic_steps),
                talk.sample_rate,
                active,
                talk.sample_seconds,
            )
            entry["sample"] = sample.to_json()
            line = conversations.describe(sample)
            print(f"    sample at {step.held} sockets: {line}", flush=True)
    results["hold"] = await ramp.hold(pool, watch, server.pid, opts.ramp)
    held = results["held_sockets"] = results["hold"]["held_after"]

    if not active:
        active = await _open_chats(pool, min(talk.chats, held), results)
    print(f"phase B: {active} conversations at {held} held sockets, rising rates", flush=True)
    async for rate_step in conversations.run(
        pool, watch, server.pid, talk, active, first_index=next(traffic_steps)
    ):
        results["conversations"].append(rate_step.to_json())


async def _open_chats(pool: list[Child], chats: int, results: dict[str, Any]) -> int:
    opened = time.monotonic()
    active, errors = await conversations.open_chats(pool, chats)
    results["conversation_setup"] = {
        "chats_requested": chats,
        "chats_active": active,
        "seconds": round(time.monotonic() - opened, 1),
        "errors": errors,
    }
    print(f"  {active}/{chats} conversations open {errors or ''}", flush=True)
    if active < 1:
        raise RuntimeError("no conversation could start")
    return active


def annotate_gc(results: dict[str, Any], log: GcLog) -> None:
    """Add the collector's pauses to every measured window (steps, hold, rates, release)."""
    entries = [*results["ramp"], *results["conversations"]]
    entries += [e["sample"] for e in results["ramp"] if "sample" in e]
    entries += [results[k] for k in ("hold", "release") if k in results]
    for entry in entries:
        if "window" in entry:
            entry["gc"] = log.window(*entry["window"])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    opts = parse(argv)
    command = shlex.join([".venv/bin/python", "-m", "benchmarks.chat_sockets", *argv])
    fds = raise_fd_limit()
    if opts.ramp.max_sockets + 1000 > fds:
        print(f"warning: {opts.ramp.max_sockets} sockets need more than the {fds} fd limit")
    print(f"$ {command}", flush=True)
    results = asyncio.run(run(opts, command))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    json_path = opts.out / f"chat_sockets-{stamp}.json"
    png_path: Path | None = opts.out / f"chat_sockets-{stamp}.png"
    report.write_json(results, json_path)
    try:
        from benchmarks import plot  # matplotlib comes with the optional `bench` extra
    except ModuleNotFoundError as exc:
        print(f"no plot ({exc}); pip install -e '.[bench]' to get one")
        png_path = None
    else:
        assert png_path is not None
        plot.draw(results, png_path)
    print()
    print(report.summary(results))
    print(f"\nresults: {json_path}\nplot:    {png_path or 'none'}  (took {results['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
