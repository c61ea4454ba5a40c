"""Relay nodes over Redis against the embedded pool, side by side in one run: what the Redis
control path adds to a call's setup (open_room + two joins), whether two nodes share calls
evenly, and the frame rate and relay CPU per call with one node against two.

    .venv/bin/python -m benchmarks.relay_nodes --calls 4 --seconds 6 --rounds 2

Needs redis-server (apt-get install redis-server); it starts its own on a free port.
Modes alternate within each round so the shared machine's noise hits them alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from benchmarks.procstat import sample
from loadtest.relay_peer import RelayPeer
from relay.cluster.control import ClusterRelay
from relay.control.pool import RelayPool
from relay.interface import CloseReason, ParticipantId, RelayService, RoomId

CLI = [sys.executable, "-c", "import sys; from signaling.cli import main; sys.exit(main())"]
MODES = ("embedded, 1 worker", "1 node via Redis", "2 nodes via Redis")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def redis_server() -> AsyncIterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed: apt-get install -y redis-server")
    port, root = _free_port(), tempfile.mkdtemp(prefix="la-bench-redis-")
    process = subprocess.Popen(  # noqa: ASYNC220 (starting it is instant)
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", root],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        redis = Redis.from_url(url)
        for _ in range(100):
            try:
                await redis.ping()
                break
            except Exception:
                await asyncio.sleep(0.05)
        await redis.aclose()
        yield url
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(root, ignore_errors=True)


@asynccontextmanager
async def relay_for(mode: str, redis_url: str) -> AsyncIterator[RelayService]:
    if mode.startswith("embedded"):
        pool = RelayPool(workers=1, capacity=10_000)
        await pool.start()
        try:
            yield pool
        finally:
            await pool.stop()
        return
    count = 2 if mode.startswith("2") else 1
    await (redis := Redis.from_url(redis_url)).flushall()
    await redis.aclose()
    nodes = [
        subprocess.Popen(  # noqa: ASYNC220 (starting them is instant)
            [*CLI, "relay", "--redis-url", redis_url, "--node-id", f"bench-{i}", "--workers", "1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(count)
    ]
    client = ClusterRelay(Redis.from_url(redis_url))
    try:
        await client.start()
        async with asyncio.timeout(60):
            while len(await client.registry.nodes()) < count:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        yield client
    finally:
        await client.stop()
        for node in nodes:
            node.terminate()
        for node in nodes:
            node.wait()


async def one_mode(mode: str, redis_url: str, calls: int, seconds: float) -> dict[str, Any]:
    async with relay_for(mode, redis_url) as relay:
        peers: list[RelayPeer] = []
        setup_ms: list[float] = []
        workers: dict[int, int] = {}
        try:
            for number in range(calls):
                room = RoomId(f"bench-{number}")
                alice, bob = RelayPeer(audio=True), RelayPeer(audio=True)
                peers += [alice, bob]
                started = time.perf_counter()
                worker = int(await relay.open_room(room))
                spent = time.perf_counter() - started  # relay calls only, not the clients' work
                for peer, name in ((alice, "alice"), (bob, "bob")):
                    offer, tracks = await peer.offer()
                    started = time.perf_counter()
                    answer = await relay.join(room, ParticipantId(name), offer, tracks)
                    spent += time.perf_counter() - started
                    await peer.accept(answer)
                setup_ms.append(spent * 1000)
                workers[worker] = workers.get(worker, 0) + 1
            await asyncio.gather(*(p.frames_grow("camera", 5, 30) for p in peers))
            stats = await relay.stats()
            pids = [w.pid for w in stats.workers if w.alive]
            frames_before = sum(p.frames["camera"] for p in peers)
            cpu_before = [sample(pid) for pid in pids]
            await asyncio.sleep(seconds)
            cpu_after = [sample(pid) for pid in pids]
            frames = sum(p.frames["camera"] for p in peers) - frames_before
            cpu = sum(
                a.cpu_seconds - b.cpu_seconds for a, b in zip(cpu_after, cpu_before, strict=True)
            )
            for number in range(calls):
                await relay.close_room(RoomId(f"bench-{number}"), CloseReason.CALL_ENDED)
        finally:
            for peer in peers:
                await peer.close()
    return {
        "mode": mode,
        "control_ms_p50": statistics.median(setup_ms),
        "control_ms_max": max(setup_ms),
        "fps_per_stream": frames / seconds / len(peers),
        "relay_cpu_percent_per_call": cpu / seconds * 100 / calls,
        "calls_per_worker": sorted(workers.values()),
    }


async def run(calls: int, seconds: float, rounds: int) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    async with redis_server() as url:
        for number in range(rounds):
            for mode in MODES if number % 2 == 0 else tuple(reversed(MODES)):
                result = await one_mode(mode, url, calls, seconds)
                result["round"] = number + 1
                results.append(result)
                print(
                    f"round {number + 1} {mode:<20}"
                    f"  open+2 joins p50 {result['control_ms_p50']:6.1f} ms"
                    f"  {result['fps_per_stream']:5.1f} fps/stream"
                    f"  relay {result['relay_cpu_percent_per_call']:5.2f} % of a core per call"
                    f"  calls per worker {result['calls_per_worker']}",
                    flush=True,
                )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write every round's figures here")
    options = parser.parse_args()
    results = asyncio.run(run(options.calls, options.seconds, options.rounds))
    print("\nmedian over rounds:")
    for mode in MODES:
        mine = [r for r in results if r["mode"] == mode]
        print(
            f"  {mode:<20}"
            f"  open+2 joins p50 {statistics.median(r['control_ms_p50'] for r in mine):6.1f} ms"
            f"  {statistics.median(r['fps_per_stream'] for r in mine):5.1f} fps/stream"
            f"  relay {statistics.median(r['relay_cpu_percent_per_call'] for r in mine):5.2f} %"
            " of a core per call"
        )
    if options.json:
        options.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
