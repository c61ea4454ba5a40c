"""What routing costs the signaling process as the number of agents grows: N agents online
(one chat each), then N customers who each open a chat and wait for their agent. Every queue
change pushes `queue.updated` to every agent's console, so this is where a push that grows
with agents x agents shows. Server CPU (all threads, /proc) and wall time per chat routed.

    .venv/bin/python -m benchmarks.routing --agents 50,150 [--tree /tmp/old-checkout]

Builds given with --tree run alternated with this checkout (`--rounds`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path

import aiohttp

from loadtest.calls import free_port, prepare, start_server, wait_ready
from loadtest.cpu_share import cpu_seconds


async def route(agents: int) -> tuple[float, float]:
    """(server CPU seconds, wall seconds) for `agents` agents to come online and as many
    chats to be routed to them."""
    data_dir = Path(tempfile.mkdtemp(prefix="liveassist-routing-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(data_dir, port, 1)
    try:
        async with aiohttp.ClientSession() as http:
            await wait_ready(url, http)
        cpu0, wall0 = cpu_seconds(server.pid), time.monotonic()
        pairs = await prepare(url, data_dir, agents)
        spent = cpu_seconds(server.pid) - cpu0, time.monotonic() - wall0
        for customer, agent in pairs:
            await customer.close()
            await agent.close()
        return spent
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", default="50,150", help="agent counts (comma)")
    parser.add_argument("--tree", type=Path, action="append", default=[])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    os.environ["LIVEASSIST_LOG_LEVEL"] = "INFO"
    builds: list[tuple[str, Path | None]] = [(str(t), t.resolve()) for t in args.tree]
    builds.append((".", None))
    print("| round | build | agents = chats | server CPU s | ms CPU per chat | wall s |")
    print("|---|---|---:|---:|---:|---:|")
    for round_no in range(1, args.rounds + 1):
        order = builds if round_no % 2 else builds[::-1]
        for label, tree in order:
            if tree is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = str(tree)
            for agents in (int(n) for n in args.agents.split(",")):
                cpu, wall = asyncio.run(route(agents))
                print(
                    f"| {round_no} | {label} | {agents} | {cpu:.2f} | {1000 * cpu / agents:.1f}"
                    f" | {wall:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
