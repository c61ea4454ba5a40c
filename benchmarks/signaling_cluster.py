"""One signaling process against two on one Redis, side by side: how fast chats are routed
(customers write at once, agents take them) and what each process spends on it.

    .venv/bin/python -m benchmarks.signaling_cluster --chats 100 --sockets 1000 --rounds 2

Starts its own redis-server and a throw-away PostgreSQL (the tests' helper; root needs the
`postgres` user, as in `make test`), a fresh database per run. 4 agents (50 chats each) sit
on the first process, which is the primary; the customers are split over both processes
in the two-process mode (half of them forwarded), all on the first in the other.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.procstat import sample
from benchmarks.relay_nodes import redis_server
from benchmarks.server import RAISED_LIMITS, free_port
from loadtest.clients import Customer, Staff
from tests.postgres import PostgresCluster, find_bindir

CLI = str(Path(sys.executable).with_name("liveassist"))
AGENTS = 4
PASSWORD = "bench-agent-password-1"


def _env(database_url: str, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEASSIST_")}
    return (
        env
        | RAISED_LIMITS
        | {
            "LIVEASSIST_DATABASE_URL": database_url,
            "LIVEASSIST_SERVER_REDIS_URL": redis_url,
            "LIVEASSIST_AUTH_SECRET_KEY": "bench-secret-key-0123456789abcdef0123",
            "LIVEASSIST_AUTH_PASSWORD_MEMORY_KIB": "8192",
            "LIVEASSIST_AUTH_PASSWORD_TIME_COST": "1",
            "LIVEASSIST_LOG_LEVEL": "WARNING",
            "LIVEASSIST_RELAY_EMBEDDED": "false",  # routing only: no calls, no relay
            "LIVEASSIST_NEW_PASSWORD": PASSWORD,
        }
    )


def _serve(data: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [CLI, "--data-dir", str(data), "serve", "--port", str(port), "--no-demo"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(data / f"serve-{port}.log").open("wb"),
    )
    return process, f"http://127.0.0.1:{port}"


def _prepare(data: Path, env: dict[str, str]) -> None:
    """A migrated database with the agents (each takes 50 chats)."""
    subprocess.run([CLI, "--data-dir", str(data), "db", "upgrade"], env=env, check=True)
    for n in range(AGENTS):
        subprocess.run(
            [CLI, "--data-dir", str(data), "user", "add", "--role", "agent", "--name", f"A{n}",
             "--email", f"a{n}@bench.local", "--max-chats", "50"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip


async def _up(url: str) -> None:
    probe = Customer(url)
    try:
        async with asyncio.timeout(60):
            while True:
                try:
                    await probe.rest("GET", "/healthz", expect=None)
                    return
                except OSError:
                    await asyncio.sleep(0.2)
    finally:
        await probe.close()


async def _hold_sockets(
    servers: list[tuple[subprocess.Popen[bytes], str]], count: int, people: list[Customer]
) -> dict[str, Any]:
    """`count` more customers connect (each with its chat) to the last process: what a held
    socket costs each process (CPU to accept it, memory to keep it)."""
    before = [sample(p.pid) for p, _url in servers]
    began = time.perf_counter()
    url = servers[-1][1]

    async def one(i: int) -> Customer:
        person = Customer(url)
        await person.open_chat(name=f"S{i}")
        await person.connect()
        return person

    for start in range(0, count, 50):
        people += await asyncio.gather(*(one(i) for i in range(start, min(count, start + 50))))
    took = time.perf_counter() - began
    await asyncio.sleep(2)  # settle
    after = [sample(p.pid) for p, _url in servers]
    return {
        "sockets": count,
        "sockets_per_second": count / took,
        "cpu_ms_per_socket": [
            round((a.cpu_seconds - b.cpu_seconds) * 1000 / count, 2)
            for a, b in zip(after, before, strict=True)
        ],
        "kib_per_socket": [
            round((a.rss_bytes - b.rss_bytes) / 1024 / count, 1)
            for a, b in zip(after, before, strict=True)
        ],
    }


async def one_mode(
    processes: int, chats: int, sockets: int, database_url: str, redis_url: str
) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="la-bench-cluster-"))
    env = _env(database_url, redis_url)
    await asyncio.to_thread(_prepare, data, env)
    servers = [_serve(data, env)]
    await _up(servers[0][1])
    if processes == 2:
        servers.append(_serve(data, env))
        await _up(servers[1][1])
    agents: list[Staff] = []
    people: list[Customer] = []
    try:
        for n in range(AGENTS):
            agent = Staff(servers[0][1])
            await agent.sign_in(f"a{n}@bench.local", PASSWORD)
            await agent.connect()
            await agent.go_online()
            agents.append(agent)

        async def open_one(i: int) -> Customer:
            person = Customer(servers[i % processes][1])
            await person.open_chat(name=f"C{i}")
            await person.connect()
            return person

        for start in range(0, chats, 25):
            people += await asyncio.gather(
                *(open_one(i) for i in range(start, min(chats, start + 25)))
            )
        before = [sample(p.pid) for p, _url in servers]
        began = time.perf_counter()
        said: dict[int, float] = {}

        async def say(person: Customer) -> None:
            said[person.chat_id] = time.perf_counter()
            payload = {"chat_id": person.chat_id, "client_msg_id": "first", "text": "help"}
            await person.request("message.send", payload, timeout=120)

        await asyncio.gather(*(say(p) for p in people))
        assigned_at: dict[int, float] = {}

        async def collect(agent: Staff) -> None:
            while len(assigned_at) < chats:
                event = await agent.next("chat.assigned", timeout=60)
                assigned_at[int(event["chat"]["id"])] = time.perf_counter()

        async with asyncio.timeout(120):
            tasks = [asyncio.create_task(collect(a)) for a in agents]
            while len(assigned_at) < chats:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            for task in tasks:
                task.cancel()
        elapsed = max(assigned_at.values()) - began
        after = [sample(p.pid) for p, _url in servers]
        held = await _hold_sockets(servers, sockets, people)
        waits = sorted((assigned_at[c] - said[c]) * 1000 for c in said)
        cpu = [a.cpu_seconds - b.cpu_seconds for a, b in zip(after, before, strict=True)]
        return {
            "processes": processes,
            "chats": chats,
            "decisions_per_second": chats / elapsed,
            "assign_ms_p50": statistics.median(waits),
            "assign_ms_p95": waits[int(0.95 * (len(waits) - 1))],
            "cpu_ms_per_chat": [round(c * 1000 / chats, 2) for c in cpu],
            "rss_mib": [round(a.rss_mib, 1) for a in after],
            **held,
        }
    finally:
        for person in [*people, *agents]:
            await person.close()
        for process, _url in servers:
            process.terminate()
        for process, _url in servers:
            process.wait(timeout=30)


async def run(chats: int, sockets: int, rounds: int) -> list[dict[str, Any]]:
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed: apt-get install -y postgresql")
    root = Path(tempfile.mkdtemp(prefix="la-bench-pg-"))
    if os.geteuid() == 0:
        os.chown(root, *(lambda u: (u.pw_uid, u.pw_gid))(__import__("pwd").getpwnam("postgres")))
        run_as = ["runuser", "-u", "postgres", "--"]
    else:
        run_as = []
    cluster = PostgresCluster(bindir, root, 0, run_as)
    cluster.server_tool("initdb", "-D", str(cluster.data), "-U", "postgres", "-A", "trust",
                        "--no-sync")  # fmt: skip
    cluster.start()
    results = []
    try:
        async with redis_server() as redis_url:
            for number in range(rounds):
                for processes in (1, 2) if number % 2 == 0 else (2, 1):
                    database = cluster.create_database()
                    url = cluster.url(database)
                    result = await one_mode(processes, chats, sockets, url, redis_url)
                    results.append(result)
                    print(
                        f"round {number + 1}, {processes} process(es): "
                        f"{result['decisions_per_second']:6.1f} chats routed/s, wait p50 "
                        f"{result['assign_ms_p50']:6.0f} ms p95 {result['assign_ms_p95']:6.0f} ms,"
                        f" CPU ms per chat {result['cpu_ms_per_chat']},"
                        f" RSS MiB {result['rss_mib']}; {sockets} more sockets on the last:"
                        f" {result['sockets_per_second']:.0f}/s, CPU ms per socket"
                        f" {result['cpu_ms_per_socket']},"
                        f" KiB per socket {result['kib_per_socket']}",
                        flush=True,
                    )
    finally:
        cluster.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=100, help="at most 200 (4 agents x 50)")
    parser.add_argument("--sockets", type=int, default=1000, help="idle customers held after")
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    asyncio.run(run(min(options.chats, AGENTS * 50), options.sockets, options.rounds))


if __name__ == "__main__":
    main()
