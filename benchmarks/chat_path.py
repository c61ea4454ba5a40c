"""What one chat message costs one signaling process: server CPU per persisted, delivered
message, ack and end-to-end latency and throughput, for two builds of the server side by side.

    .venv/bin/python -m benchmarks.chat_path --build base=/tmp/base-chat --build new=. \\
        --database sqlite,postgres --customers 1000 --chats 200 --rates 200,400,800 --rounds 2

Every run starts a fresh `liveassist serve` (benchmarks.server; SQLite in a fresh data
directory, or a fresh database in a throw-away PostgreSQL cluster started the way the tests
start theirs) and two load-generator processes (benchmarks.loadgen): agents online, then
`--customers` guest sockets, `--chats` of which open a conversation; then an idle window
(the CPU that sockets, pings and the /healthz watch cost without messages) and one window
per rate, customers and agents sending stamped messages open-loop (benchmarks.traffic).

CPU per message is the server's CPU time (utime + stime from /proc, all its threads) over
the window, less the idle window's rate, divided by the messages persisted in it: far less
sensitive to other work on the machine than latency is. Builds run alternated (A B, then
B A, ...), so slow drift of the machine hits both. `--build LABEL=DIR` runs the server with
DIR first on PYTHONPATH (a `git worktree` of an older commit), `.` is this checkout.
`--profile DIR` records the server with py-spy (`--gil`: samples of the thread holding the GIL,
as raw collapsed stacks; `benchmarks.profile_summary` reads them) during each rate window.
`--pages` sends each message as the widget and the console do: "typing" before it and after
it, and a read receipt from the side it reaches, so the CPU per message is what a busy hour
costs, not the message's event alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import conversations, loadgen, procstat, report
from benchmarks.chat_sockets import load_generators, raise_fd_limit
from benchmarks.loadgen import ConnectReport
from benchmarks.ramp import split
from benchmarks.server import ServerProcess
from benchmarks.watch import HealthWatch
from loadtest.rpc import Child, call_all

RESULTS = Path(__file__).parent / "results"
IDLE_SECONDS = 5.0
"""Length of the window without messages whose CPU rate is subtracted from each step's."""


@dataclass(frozen=True)
class Build:
    label: str
    source: Path | None  # None: this checkout as installed


@dataclass(frozen=True)
class Options:
    builds: list[Build]
    databases: list[str]
    customers: int
    chats: int
    rates: list[float]
    seconds: float
    rounds: int
    workers: int
    client: str
    pages: bool
    profile: Path | None
    py_spy: str
    out: Path


def _build(text: str) -> Build:
    label, _, path = text.partition("=")
    if not label or not path:
        raise argparse.ArgumentTypeError("give LABEL=DIR, e.g. base=/tmp/base-chat")
    source = Path(path).resolve()
    if source == Path(__file__).resolve().parent.parent:
        return Build(label, None)
    if not (source / "signaling" / "__init__.py").exists():
        raise argparse.ArgumentTypeError(f"{source} holds no signaling package")
    return Build(label, source)


def parse(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.chat_path", description=(__doc__ or "").split("\n\n")[0]
    )
    p.add_argument("--build", type=_build, action="append", help="LABEL=DIR (repeatable)")
    p.add_argument("--database", default="sqlite", help="sqlite, postgres or both (comma)")
    p.add_argument("--customers", type=int, default=1000, help="customer sockets held")
    p.add_argument("--chats", type=int, default=200, help="open conversations (≤ customers)")
    p.add_argument("--rates", default="200,400,800", help="offered msg/s, both directions")
    p.add_argument("--seconds", type=float, default=10, help="length of each rate window")
    p.add_argument("--rounds", type=int, default=1, help="alternations of the builds")
    p.add_argument("--workers", type=int, default=2, help="load-generator processes")
    p.add_argument(
        "--client",
        choices=sorted(loadgen.CLIENTS),
        default="lean",
        help="the load generators' sockets: raw websockets (lean) or python-socketio's client",
    )
    p.add_argument(
        "--pages",
        action="store_true",
        help="each message as the pages send one: typing before and after it, and a read "
        "receipt from the side it reaches (four events a message; CPU still per message)",
    )
    p.add_argument("--profile", type=Path, help="write py-spy raw stacks per window here")
    p.add_argument(
        "--py-spy",
        default=shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy")),
        help="the py-spy executable (pip install py-spy)",
    )
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    databases = [d.strip() for d in args.database.split(",") if d.strip()]
    if not databases or any(d not in ("sqlite", "postgres") for d in databases):
        p.error("--database takes sqlite, postgres or sqlite,postgres")
    if not 1 <= args.chats <= args.customers:
        p.error("--chats must be 1..--customers")
    return Options(
        builds=args.build or [Build("current", None)],
        databases=databases,
        customers=args.customers,
        chats=args.chats,
        rates=[float(r) for r in args.rates.split(",") if r.strip()],
        seconds=args.seconds,
        rounds=args.rounds,
        workers=args.workers,
        client=args.client,
        pages=args.pages,
        profile=args.profile,
        py_spy=args.py_spy,
        out=args.out,
    )


# ---- PostgreSQL -------------------------------------------------------------------------------
@contextlib.contextmanager
def postgres_cluster() -> Iterator[Any]:
    """A throw-away cluster as the tests make one (tests/postgres.py), fast settings included;
    each run gets a fresh database in it."""
    from tests.postgres import PostgresCluster, find_bindir

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed: apt-get install -y postgresql")
    root = Path(tempfile.mkdtemp(prefix="la-bench-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        import pwd

        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    cluster = PostgresCluster(bindir, root, 0, run_as)
    made = cluster.server_tool(
        "initdb", "-D", str(cluster.data), "-U", "postgres", "-A", "trust", "--no-sync"
    )
    if made.returncode:
        raise RuntimeError(f"initdb failed: {made.stderr[-1000:]}")
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


# ---- one run ----------------------------------------------------------------------------------
def _server(build: Build, database_url: str | None) -> ServerProcess:
    env = {"LIVEASSIST_RELAY_EMBEDDED": "false"}  # chat only: no relay workers beside it
    if database_url:
        env["LIVEASSIST_DATABASE_URL"] = database_url
    if build.source is not None:
        env["PYTHONPATH"] = str(build.source)
    return ServerProcess(extra_env=env)


async def _connect(pool: list[Child], customers: int) -> int:
    reports: list[ConnectReport] = await call_all(
        pool,
        "connect",
        [
            {"target": n, "concurrency": 24, "deadline": time.monotonic() + 600}
            for n in split(customers, len(pool))
        ],
        timeout=660,
    )
    return sum(r.held for r in reports)


@contextlib.contextmanager
def _py_spy(spy: str, pid: int, path: Path | None, seconds: float) -> Iterator[None]:
    """py-spy recording `pid` for `seconds` (nothing when `path` is None)."""
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    command = [spy, "record", "--pid", str(pid), "--duration", str(int(seconds))]
    command += ["--rate", "200", "--gil", "--format", "raw", "--output", str(path)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        process.wait(timeout=seconds + 60)


async def one_run(opts: Options, build: Build, database: str, url: str | None) -> dict[str, Any]:
    plan = conversations.ConversationPlan(
        chats=opts.chats,
        max_chats_per_agent=50,
        rates=opts.rates,
        sample_rate=0,
        sample_seconds=0,
        step_seconds=opts.seconds,
        drain_seconds=10,
        latency_bound_ms=1000,
        max_in_flight=4000,
        pages=opts.pages,
    )
    result: dict[str, Any] = {"build": build.label, "database": database, "steps": []}
    with _server(build, url) as server, HealthWatch(server.url) as watch:
        async with load_generators(opts.workers, server.url, client=opts.client) as pool:
            _agents, online, errors = await conversations.agents_online(
                pool, server.url, server.demo_password("admin@demo.local"), plan
            )
            held = await _connect(pool, opts.customers)
            active, open_errors = await conversations.open_chats(pool, opts.chats)
            result.update(agents=online, held=held, chats=active, setup_errors=errors)
            result["setup_errors"] = {**errors, **open_errors}
            print(f"  {build.label}/{database}: {held} sockets, {active} chats", flush=True)
            await asyncio.sleep(2)
            start = time.monotonic()
            with procstat.WindowMeter([server.pid], start, start + IDLE_SECONDS) as idle:
                await asyncio.sleep(IDLE_SECONDS)
            result["idle_cpu_pct"] = round(idle.percent, 2)
            for index, rate in enumerate(opts.rates):
                spy = None
                if opts.profile is not None:
                    spy = opts.profile / f"{build.label}-{database}-{rate:.0f}.txt"
                with _py_spy(opts.py_spy, server.pid, spy, opts.seconds + 1):
                    step = await conversations.measure(
                        pool, watch, server.pid, plan, index, rate, active, opts.seconds
                    )
                entry = step.to_json()
                net = step.server_cpu_pct - idle.percent
                persisted = step.persisted_per_second or float("nan")
                entry["cpu_ms_per_message"] = round(step.server_cpu_pct * 10 / persisted, 3)
                entry["net_cpu_ms_per_message"] = round(net * 10 / persisted, 3)
                result["steps"].append(entry)
                print(f"    {describe(build.label, database, entry)}", flush=True)
            result["server_log_problems"] = server.problems()
    return result


def describe(label: str, database: str, step: dict[str, Any]) -> str:
    return (
        f"{label:>8} {database:<8} {step['offered_per_second']:>5.0f}/s: persisted "
        f"{step['persisted_per_second']:6.1f}/s delivered {step['delivered_per_second']:6.1f}/s, "
        f"CPU {step['server_cpu_pct']:5.1f}% = {step['cpu_ms_per_message']:.3f} ms/msg "
        f"(net of idle {step['net_cpu_ms_per_message']:.3f}), ack p50/p95 "
        f"{step['ack_ms']['p50']}/{step['ack_ms']['p95']} ms, e2e p50/p95 "
        f"{step['e2e_ms']['p50']}/{step['e2e_ms']['p95']} ms, loadgen "
        f"{step['loadgen_cpu_pct']:.0f}%: {step['verdict']}"
    )


def table(runs: list[dict[str, Any]]) -> str:
    """Markdown, one row per (run, rate), in the order run."""
    header = [
        "round",
        "build",
        "database",
        "offered msg/s",
        "persisted msg/s",
        "delivered msg/s",
        "server CPU %",
        "CPU ms/msg",
        "net ms/msg",
        "ack p50 / p95 ms",
        "e2e p50 / p95 ms",
        "result",
    ]
    rows = []
    for run in runs:
        for step in run["steps"]:
            rows.append(
                [
                    str(run["round"]),
                    run["build"],
                    run["database"],
                    f"{step['offered_per_second']:.0f}",
                    f"{step['persisted_per_second']:.1f}",
                    f"{step['delivered_per_second']:.1f}",
                    f"{step['server_cpu_pct']:.1f}",
                    f"{step['cpu_ms_per_message']:.3f}",
                    f"{step['net_cpu_ms_per_message']:.3f}",
                    f"{step['ack_ms']['p50']} / {step['ack_ms']['p95']}",
                    f"{step['e2e_ms']['p50']} / {step['e2e_ms']['p95']}",
                    step["verdict"],
                ]
            )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


async def run(opts: Options, command: str) -> dict[str, Any]:
    results: dict[str, Any] = {"benchmark": "chat_path", "command": command, "runs": []}
    results["started_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    results["client"] = opts.client
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(postgres_cluster()) if "postgres" in opts.databases else None
        for number in range(opts.rounds):
            builds = opts.builds if number % 2 == 0 else opts.builds[::-1]
            for database in opts.databases:
                for build in builds:
                    url = None
                    if database == "postgres":
                        assert cluster is not None
                        url = cluster.url(cluster.create_database())
                    run_result = await one_run(opts, build, database, url)
                    run_result["round"] = number + 1
                    results["runs"].append(run_result)
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    opts = parse(argv)
    raise_fd_limit()
    command = shlex.join([".venv/bin/python", "-m", "benchmarks.chat_path", *argv])
    print(f"$ {command}", flush=True)
    results = asyncio.run(run(opts, command))
    path = opts.out / f"chat_path-{time.strftime('%Y%m%d-%H%M%S')}.json"
    report.write_json(json.loads(json.dumps(results, default=str)), path)
    print()
    print(table(results["runs"]))
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
