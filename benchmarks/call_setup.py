"""Signaling's CPU per call start, one call at a time, measured inside a real `liveassist serve`.

    .venv/bin/python -m benchmarks.call_setup [--calls 30] [--log-level INFO] [--tree DIR]

Starts the server as the load test does (loadtest/calls.py: SQLite, its relay workers, the
raised limits), one agent and one customer in a chat per call. Then, one call after another
(nothing else running), each step is timed by the CPU the server process used, all its
threads (/proc/<pid>/task/*/schedstat, nanoseconds), the relay workers apart:
- *start*: call.start until the agent's phone rings;
- *accept*: call.accept until its ack;
- *join*: both sides' call.join (offers built beforehand) until both answers are in;
- *connected*: until both peer connections are up (events the relay reports);
- *hangup*: call.hangup until the agent has the ended call.
A quiet pause follows each call; the server's idle CPU over the same time is subtracted.
Printed in ms of server CPU per call, and the relay workers' ms per call beside.
`--tree DIR` runs the server from another checkout (a `git worktree` of an older commit).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from loadtest.call_peer import CallPeer
from loadtest.calls import free_port, prepare, start_server, wait_ready
from loadtest.cpu_share import children, cpu_seconds
from loadtest.lean_clients import LeanCustomer, LeanStaff

PHASES = ("start", "accept", "join", "connected", "hangup")
PAUSE_S = 0.3


def run_ns(pid: int) -> int:
    """Nanoseconds every thread of `pid` has run (the writer thread of SQLite included)."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as handle:
                total += int(handle.read().split()[0])
        except OSError:
            continue  # a thread that just ended
    return total


async def one_call(customer: LeanCustomer, agent: LeanStaff, pid: int) -> dict[str, float]:
    caller, viewer = CallPeer(customer, 0), CallPeer(agent, 0)
    await asyncio.gather(caller.prepare(), viewer.prepare())
    spent: dict[str, float] = {}
    mark = run_ns(pid)

    def lap(phase: str) -> None:
        nonlocal mark
        now = run_ns(pid)
        spent[phase] = (now - mark) / 1e6
        mark = now

    call = await customer.request("call.start", {"chat_id": customer.chat_id})
    await agent.next("call.ringing", where=lambda c: c["id"] == call["id"])
    lap("start")
    caller.call_id = viewer.call_id = call["id"]
    await agent.request("call.accept", {"call_id": call["id"]})
    lap("accept")
    await asyncio.gather(viewer.join(), caller.join())
    lap("join")
    async with asyncio.timeout(20):
        while caller.connected_at is None or viewer.connected_at is None:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
    lap("connected")
    await customer.request("call.hangup", {"call_id": call["id"]})
    await agent.next(
        "call.updated", where=lambda c: c["id"] == call["id"] and c["state"] == "ended"
    )
    lap("hangup")
    await caller.close()
    await viewer.close()
    await asyncio.sleep(PAUSE_S)  # trailing work (event batches, room close) lands here
    lap("pause")
    return spent


async def measure(calls: int, workers: int) -> dict[str, object]:
    data_dir = Path(tempfile.mkdtemp(prefix="liveassist-callsetup-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(data_dir, port, workers)
    try:
        async with aiohttp.ClientSession() as http:
            await wait_ready(url, http)
        pairs = await prepare(url, data_dir, calls + 1)
        relay = children(server.pid)
        await one_call(*pairs[0], server.pid)  # warm-up: first imports, first room
        await asyncio.sleep(1.0)
        idle0 = run_ns(server.pid)
        await asyncio.sleep(2.0)
        idle_ns_per_s = (run_ns(server.pid) - idle0) / 2.0
        relay0 = sum(cpu_seconds(p) for p in relay)
        rows = []
        for customer, agent in pairs[1:]:
            wall0 = time.monotonic()
            spent = await one_call(customer, agent, server.pid)
            spent["idle"] = idle_ns_per_s * (time.monotonic() - wall0) / 1e6
            rows.append(spent)
        relay_s = sum(cpu_seconds(p) for p in relay) - relay0
        for customer, agent in pairs:
            await customer.close()
            await agent.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    result: dict[str, object] = {
        phase: round(statistics.median(r[phase] for r in rows), 2) for phase in PHASES
    }
    setup = [r["start"] + r["accept"] + r["join"] for r in rows]
    total = [sum(r[p] for p in (*PHASES, "pause")) - r["idle"] for r in rows]
    result.update(
        calls=calls,
        setup_ms=round(statistics.median(setup), 2),
        total_ms=round(statistics.median(total), 2),
        idle_ms_per_call=round(statistics.median(r["idle"] for r in rows), 2),
        relay_ms_per_call=round(1000 * relay_s / calls, 2),
        log_level=os.environ.get("LIVEASSIST_LOG_LEVEL", ""),
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--workers", type=int, default=1, help="relay workers of the server")
    parser.add_argument("--log-level", default="INFO", help="the server's (the load test: DEBUG)")
    parser.add_argument("--tree", type=Path, help="run the server from this checkout instead")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.environ["LIVEASSIST_LOG_LEVEL"] = args.log_level
    if args.tree is not None:
        # The server is started as `liveassist`, whose imports then come from the tree.
        os.environ["PYTHONPATH"] = str(args.tree.resolve())
    result = asyncio.run(measure(args.calls, args.workers))
    print(json.dumps(result, indent=2))
    print(
        f"server CPU per call: start {result['start']} + accept {result['accept']} + join"
        f" {result['join']} = {result['setup_ms']} ms to set a call up (medians);"
        f" whole call with hangup {result['total_ms']} ms; relay workers"
        f" {result['relay_ms_per_call']} ms per call",
        file=sys.stderr,
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
