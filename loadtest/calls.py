"""Many calls starting together: click-to-first-frame through a real `liveassist serve`.

    .venv/bin/python -m loadtest.calls [--calls 50] [--workers 0] [--fps 5]

Starts the server (its own relay worker processes; --workers 0 = one per core) on a free
port with a throwaway data directory, creates one agent per call, brings every agent
online and every customer into a chat, then all customers click "video call" at the same
instant. Each agent accepts as soon as it rings; both sides join the relay; the customer
sends stamped 320x240 camera frames. Measured per call, from the click: ringing at the
agent, call active, relay answer, and the first decoded camera frame at the agent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import aiohttp

from loadtest.call_peer import CallPeer
from loadtest.clients import Customer, Staff
from media.stamps import StampedVideoTrack

PASSWORD = "load-test-pass-1"


@dataclass
class CallTiming:
    ringing_ms: float | None = None
    active_ms: float | None = None
    answered_ms: float | None = None
    connected_ms: float | None = None
    """Both peer connections up (ICE + DTLS), from the click."""
    first_frame_ms: float | None = None
    error: str | None = None


@dataclass
class Report:
    calls: int
    workers: int
    completed: int
    first_frame_p50_ms: float | None
    first_frame_p95_ms: float | None
    first_frame_max_ms: float | None
    active_p95_ms: float | None
    answer_p95_ms: float | None
    connected_p95_ms: float | None
    generator_lag_p95_ms: float | None
    generator_lag_max_ms: float | None
    errors: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def start_server(data_dir: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        # A load test signs in many accounts from one address: lift the per-address limits
        # and make password hashing cheap (what is measured here is calls, not sign-ins).
        "LIVEASSIST_AUTH_PASSWORD_MEMORY_KIB": "8192",
        "LIVEASSIST_AUTH_PASSWORD_TIME_COST": "1",
        "LIVEASSIST_LIMITS_LOGINS_PER_MINUTE_PER_IP": "100000",
        "LIVEASSIST_LIMITS_IP_GUEST_SESSION_BURST": "100000",
        "LIVEASSIST_LIMITS_IP_EVENT_BURST": "100000",
        "LIVEASSIST_LIMITS_IP_EVENTS_PER_SECOND": "100000",
    }
    executable = Path(sys.executable).with_name("liveassist")
    command = [str(executable), "--data-dir", str(data_dir), "serve", "--port", str(port)]
    command += ["--workers", str(workers)] if workers else []
    return subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=open(data_dir / "serve.err", "wb")
    )


async def wait_ready(url: str, http: aiohttp.ClientSession, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            async with http.get(url + "/healthz") as resp:
                health = await resp.json()
                if health["components"]["relay"].get("started"):
                    return
        except (aiohttp.ClientError, KeyError, ValueError):
            pass
        await asyncio.sleep(0.25)
    raise RuntimeError("the server did not come up (see serve.err in its data directory)")


def admin_password(data_dir: Path) -> tuple[str, str]:
    for line in (data_dir / "demo-accounts.txt").read_text().splitlines():
        role, email, password = [*line.split("\t"), "", "", ""][:3]
        if role == "admin":
            return email, password
    raise RuntimeError("no demo admin account")


async def prepare(url: str, data_dir: Path, calls: int) -> list[tuple[Customer, Staff]]:
    admin = Staff(url)
    await admin.sign_in(*admin_password(data_dir))
    emails = [f"load-agent-{i}@demo.local" for i in range(calls)]
    await asyncio.gather(
        *(
            admin.rest(
                "POST",
                "/api/users",
                expect=201,
                json={
                    "email": email,
                    "name": f"Load Agent {i}",
                    "role": "agent",
                    "password": PASSWORD,
                    "max_chats": 1,
                },
            )
            for i, email in enumerate(emails)
        )
    )
    await admin.close()
    agents = [Staff(url) for _ in emails]
    for agent, email in zip(agents, emails, strict=True):
        await agent.sign_in(email, PASSWORD)
        await agent.connect()
        await agent.go_online()
    print(f"  {calls} agents online", flush=True)
    pairs: list[tuple[Customer, Staff]] = []
    by_id = {agent.user["id"]: agent for agent in agents}
    for i in range(calls):
        customer = Customer(url)
        await customer.open_chat(name=f"Load Customer {i}")
        await customer.connect()
        await customer.say("hello")
        chat = await customer.next("chat.updated", where=lambda c: c["state"] == "active")
        pairs.append((customer, by_id[chat["assignee_id"]]))
    print(f"  {calls} chats assigned", flush=True)
    return pairs


async def one_call(customer: Customer, agent: Staff, clicked: float, fps: float) -> CallTiming:
    timing = CallTiming()
    loop = asyncio.get_running_loop()

    def since_click() -> float:
        return round((loop.time() - clicked) * 1000, 1)

    viewer: CallPeer | None = None
    caller: CallPeer | None = None
    try:
        call = await customer.request("call.start", {"chat_id": customer.chat_id})
        await agent.next("call.ringing", where=lambda c: c["id"] == call["id"], timeout=30)
        timing.ringing_ms = since_click()
        await agent.request("call.accept", {"call_id": call["id"]}, timeout=30)
        timing.active_ms = since_click()
        first = asyncio.Event()
        viewer = CallPeer(agent, call["id"], on_first_frame=lambda role: first.set())
        camera = StampedVideoTrack(320, 240, fps)
        caller = CallPeer(customer, call["id"], {"camera": camera})
        await asyncio.gather(viewer.join(), caller.join())
        timing.answered_ms = since_click()
        async with asyncio.timeout(30):
            while viewer.received["camera"].first_frame_at is None:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
        if viewer.connected_at is not None and caller.connected_at is not None:
            up = max(viewer.connected_at, caller.connected_at)
            timing.connected_ms = round((up - clicked) * 1000, 1)
        arrived = viewer.received["camera"].first_frame_at
        assert arrived is not None
        timing.first_frame_ms = round((arrived - clicked) * 1000, 1)
    except Exception as error:  # one failed call is a result, not the end of the run
        timing.error = f"{type(error).__name__}: {error}"
    finally:
        await asyncio.sleep(1.0)
        for peer in (viewer, caller):
            if peer is not None:
                await peer.close()
    return timing


async def watch_loop_lag(lags: list[float], every: float = 0.05) -> None:
    """How late this process's event loop wakes up: the generator's own share of delays."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + every
        await asyncio.sleep(every)
        lags.append((loop.time() - due) * 1000)


async def run(calls: int, workers: int, fps: float) -> Report:
    data_dir = Path(tempfile.mkdtemp(prefix="liveassist-load-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(data_dir, port, workers)
    try:
        async with aiohttp.ClientSession() as http:
            await wait_ready(url, http)
            async with http.get(url + "/healthz") as resp:
                relay = (await resp.json())["components"]["relay"]
        print(f"server up at {url} with {relay['workers']} relay worker(s)", flush=True)
        pairs = await prepare(url, data_dir, calls)
        lags: list[float] = []
        lag = asyncio.create_task(watch_loop_lag(lags))
        clicked = asyncio.get_running_loop().time()
        print(f"  {calls} customers click 'video call' together", flush=True)
        timings = await asyncio.gather(*(one_call(c, a, clicked, fps) for c, a in pairs))
        lag.cancel()
        for customer, agent in pairs:
            await customer.close()
            await agent.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    frames = [t.first_frame_ms for t in timings if t.first_frame_ms is not None]
    report = Report(
        calls=calls,
        workers=int(relay["workers"]),
        completed=len(frames),
        first_frame_p50_ms=percentile(frames, 0.5),
        first_frame_p95_ms=percentile(frames, 0.95),
        first_frame_max_ms=max(frames) if frames else None,
        active_p95_ms=percentile([t.active_ms for t in timings if t.active_ms], 0.95),
        answer_p95_ms=percentile([t.answered_ms for t in timings if t.answered_ms], 0.95),
        connected_p95_ms=percentile([t.connected_ms for t in timings if t.connected_ms], 0.95),
        errors=sorted({t.error for t in timings if t.error}),
        generator_lag_p95_ms=percentile(lags, 0.95),
        generator_lag_max_ms=max(lags) if lags else None,
    )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--workers", type=int, default=0, help="relay workers (0: one per core)")
    parser.add_argument("--fps", type=float, default=5.0, help="customer camera frame rate")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    report = asyncio.run(run(args.calls, args.workers, args.fps))
    print(json.dumps(asdict(report), indent=2))
    target = report.first_frame_p95_ms is not None and report.first_frame_p95_ms <= 1000
    print(
        f"click-to-first-frame p95 {report.first_frame_p95_ms} ms over "
        f"{report.completed}/{report.calls} calls: "
        f"{'meets' if target and report.completed == report.calls else 'misses'} "
        "the 1 s target"
    )
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2))


if __name__ == "__main__":
    main()
