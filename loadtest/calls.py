"""Many calls starting together: click-to-first-frame through a real `liveassist serve`.

    .venv/bin/python -m loadtest.calls [--calls 50] [--workers 0] [--fps 5] [--prewarm]
                                       [--media clip|live] [--tree DIR]

Starts the server (its own relay worker processes; --workers 0 = one per core) on a free
port with a throwaway data directory, creates one agent per call, brings every agent
online and every customer into a chat, then all customers click "video call" at the same
instant. Each agent accepts as soon as it rings; both sides join the relay; the customer
sends stamped 320x240 camera frames. Measured per call, from the click: ringing at the
agent, call active, relay answer, and the first camera frame at the agent.

The camera (`--media`): `clip` (the default) sends a stamped clip VP8-encoded once before
the run (media/clip.py, as the capacity scenarios do) through loadtest/clip_sender.py
(one header write, SRTP and sendto per packet) and the agent reads RTP
(loadtest/rtp_tap.py): its first frame is the first whole camera frame to arrive, a
keyframe, since the relay starts every subscription with one. `live` encodes every
caller's camera live and decodes it at the agent through aiortc's jitter buffer (the first
*decoded* frame), as runs before the relay-join work did: on one 2-core machine that
makes the generator spend more CPU on VP8 than server and relay together; real callers
encode on their own devices.

Nothing is built before the click: the customer builds its peer connection right after
it (while call.start travels), the agent while its phone rings (while call.accept
travels), as the pages could. With --prewarm every peer connection is built and gathered
before the click instead, as a client that keeps one ready would. A line a second shows
how far the calls have got. The server runs with debug logging (its serve.err, in the
data directory printed at the start, times every join) and its /healthz counts database
write transactions.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import av
from aiortc.rtcdtlstransport import RTCCertificate

from loadtest.call_peer import CallPeer
from loadtest.clients import Requester
from loadtest.clip_sender import ClipSender
from loadtest.cpu_share import CpuShare, CpuWindow
from loadtest.lean_clients import LeanCustomer, LeanStaff
from media.clip import Clip
from media.clip import build as build_clip
from media.stamps import StampedVideoTrack, now_ms, stamp_frame
from media.synthetic import Luma, Pattern, pattern_luma
from relay.rtc import worker_process
from relay.rtc.aiortc_compat import ReusableCertificate

PASSWORD = "load-test-pass-1"


@dataclass
class CallTiming:
    ringing_ms: float | None = None
    active_ms: float | None = None
    answered_ms: float | None = None
    """Both sides have the relay's answer (call.join acked), from the click."""
    connected_ms: float | None = None
    """Both peer connections up (ICE + DTLS), from the click."""
    first_frame_ms: float | None = None
    error: str | None = None
    peers: list[CallPeer] = field(default_factory=list, repr=False)
    """The agent's (viewer) and the customer's (caller)."""
    first: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    """Set when the agent decodes the first camera frame."""

    @property
    def connected(self) -> bool:
        return len(self.peers) == 2 and all(p.connected_at is not None for p in self.peers)


@dataclass
class Report:
    calls: int
    workers: int
    prewarmed: bool
    media: str
    """"clip": pre-encoded, the first whole frame at RTP level; "live": encoded and decoded."""
    completed: int
    first_frame_p50_ms: float | None
    first_frame_p95_ms: float | None
    first_frame_max_ms: float | None
    active_p95_ms: float | None
    answer_p95_ms: float | None
    connected_p95_ms: float | None
    generator_lag_p95_ms: float | None
    generator_lag_max_ms: float | None
    server_join_p50_ms: float | None = None
    """A call.join's time inside the server (from its debug log), relay answer included."""
    server_join_p95_ms: float | None = None
    relay_answer_p50_ms: float | None = None
    relay_answer_p95_ms: float | None = None
    db_write_transactions: int | None = None
    """Write transactions between the click and the last first frame (all calls' work)."""
    db_write_held_s: float | None = None
    db_write_waited_s: float | None = None
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds from the click to the last call's end, by process (loadtest/cpu_share.py):
    generator, server, relay workers, the whole machine; and what they make per call."""
    errors: list[str] = field(default_factory=list)


def cpu_summary(share: CpuShare, calls: int) -> dict[str, float]:
    """The window's CPU, and per call or join: relay figures include the media forwarded
    until the last first frame, server figures every call event of the burst."""
    return {
        "wall_s": share.wall_s,
        "generator_s": share.generator_s,
        "server_s": share.server_s,
        "relay_workers_s": share.relay_workers_s,
        "machine_s": share.machine_s,
        "others_s": round(share.others_s, 3),
        "generator_share": round(share.generator_share, 3),
        "server_ms_per_call": round(1000 * share.server_s / calls, 2),
        "relay_ms_per_join": round(1000 * share.relay_workers_s / (2 * calls), 2),
        "generator_ms_per_call": round(1000 * share.generator_s / calls, 2),
    }


class LoopedCamera(StampedVideoTrack):
    """A stamped camera whose moving picture cycles through a few pictures drawn once and
    shared by every call. The encoder, the relay and the viewer's decoder get the same
    work as with StampedVideoTrack; the generator skips drawing 250 pictures a second,
    which a real caller's own device would do, not this machine."""

    LOOP = 16
    _pictures: ClassVar[dict[tuple[int, int], list[Luma]]] = {}

    def draw(self, number: int) -> av.VideoFrame:
        size = (self.width, self.height)
        pictures = self._pictures.get(size)
        if pictures is None:
            pictures = [pattern_luma(Pattern.CAMERA, i, *size) for i in range(self.LOOP)]
            self._pictures[size] = pictures
        return stamp_frame(number, now_ms(), *size, background=pictures[number % self.LOOP])


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
        "LIVEASSIST_LIMITS_IP_CONNECTS_PER_SECOND": "100000",
        "LIVEASSIST_LIMITS_IP_CONNECT_BURST": "100000",
        "LIVEASSIST_LOG_LEVEL": os.environ.get("LIVEASSIST_LOG_LEVEL", "DEBUG"),
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


async def prepare(url: str, data_dir: Path, calls: int) -> list[tuple[LeanCustomer, LeanStaff]]:
    admin = LeanStaff(url)
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
    agents = [LeanStaff(url) for _ in emails]
    for agent, email in zip(agents, emails, strict=True):
        await agent.sign_in(email, PASSWORD)
        await agent.connect()
        await agent.go_online()
    print(f"  {calls} agents online", flush=True)
    pairs: list[tuple[LeanCustomer, LeanStaff]] = []
    by_id = {agent.user["id"]: agent for agent in agents}
    for i in range(calls):
        customer = LeanCustomer(url)
        await customer.open_chat(name=f"Load Customer {i}")
        await customer.connect()
        await customer.say("hello")
        chat = await customer.next("chat.updated", where=lambda c: c["state"] == "active")
        pairs.append((customer, by_id[chat["assignee_id"]]))
    print(f"  {calls} chats assigned", flush=True)
    return pairs


class ClipCaller(CallPeer):
    """A caller whose camera is a ClipSender (loadtest/clip_sender.py): its m-line has no
    aiortc track, and the sender starts once the peer connection is up."""

    def __init__(self, customer: Requester, clip: Clip, certificate: RTCCertificate) -> None:
        # Read at the RTP level like the agent (nothing arrives; nothing to decode).
        super().__init__(customer, 0, frame_index=clip.video_index(), certificate=certificate)
        self.camera = ClipSender(clip)
        self._starting: asyncio.Task[None] | None = None

    def media_flags(self) -> dict[str, bool]:
        return {**super().media_flags(), "camera": True}

    async def join(self) -> dict[str, Any]:
        ack = await super().join()
        self._starting = asyncio.create_task(self._start_camera())
        return ack

    async def _start_camera(self) -> None:
        while self.connected_at is None:  # noqa: ASYNC110  (a state change, polled)
            await asyncio.sleep(0.01)
        self.camera.start(self.transceivers["camera"])

    async def close(self) -> None:
        if self._starting is not None:
            self._starting.cancel()
        await self.camera.stop()
        await super().close()


def make_peers(
    customer: LeanCustomer,
    agent: LeanStaff,
    fps: float,
    timing: CallTiming,
    certificate: RTCCertificate,
    clip: Clip | None = None,
) -> None:
    """The call's two headless participants (no peer connection yet). The call id is
    known only once call.start acks; a peer connection built before it (pre-warmed, or the
    caller's while call.start travels) has no ICE servers: this measures a relay reached
    directly, as on this machine. With a `clip`, the caller sends it and the agent reads
    RTP; without, the caller encodes a live camera and the agent decodes it. All share
    the generator's one `certificate` (cheap_generator)."""

    def first(role: str) -> None:
        if role == "camera":
            timing.first.set()

    caller: CallPeer
    if clip is not None:
        caller = ClipCaller(customer, clip, certificate)
        viewer = CallPeer(
            agent,
            0,
            frame_index=clip.video_index(),
            on_first_frame=first,
            certificate=certificate,
        )
    else:
        camera = LoopedCamera(320, 240, fps)
        caller = CallPeer(customer, 0, {"camera": camera}, certificate=certificate)
        viewer = CallPeer(
            agent, 0, read_stamps=False, on_first_frame=first, certificate=certificate
        )
    timing.peers = [viewer, caller]


def cheap_generator() -> RTCCertificate:
    """Make this process's aiortc peers as cheap to build as a relay worker's (relay/rtc/
    worker_process.py: bandwidth estimators built on first use, host addresses cached, codecs
    negotiated without deep copies) and give them one certificate: what 100 callers on one
    machine cost is the load run's overhead, not what a caller's own device would spend."""
    worker_process.prepare()
    return ReusableCertificate.generateCertificate()


def camera_clip(fps: float) -> Clip:
    """The callers' camera, encoded once: 10 s of stamped 320x240 VP8 at 300 kbit/s with a
    keyframe every 2 s (~1.5 s of CPU before the run)."""
    return build_clip(seconds=10, bitrate=300_000, width=320, height=240, fps=max(1, round(fps)))


async def one_call(
    customer: LeanCustomer, agent: LeanStaff, clicked: float, timing: CallTiming
) -> None:
    loop = asyncio.get_running_loop()

    def since_click() -> float:
        return round((loop.time() - clicked) * 1000, 1)

    viewer, caller = timing.peers
    try:
        # A caller that was not pre-warmed builds its peer connection while call.start
        # travels, the callee while it rings (while call.accept travels).
        call, _ = await asyncio.gather(
            customer.request("call.start", {"chat_id": customer.chat_id}),
            asyncio.sleep(0) if caller.prepared else caller.prepare(),
        )
        caller.call_id = viewer.call_id = call["id"]
        await agent.next("call.ringing", where=lambda c: c["id"] == call["id"], timeout=30)
        timing.ringing_ms = since_click()
        await asyncio.gather(
            agent.request("call.accept", {"call_id": call["id"]}, timeout=30),
            asyncio.sleep(0) if viewer.prepared else viewer.prepare(),
        )
        timing.active_ms = since_click()
        await asyncio.gather(viewer.join(), caller.join())
        timing.answered_ms = since_click()
        async with asyncio.timeout(30):
            await timing.first.wait()
        if viewer.connected_at is not None and caller.connected_at is not None:
            up = max(viewer.connected_at, caller.connected_at)
            timing.connected_ms = round((up - clicked) * 1000, 1)
        arrived = viewer.received["camera"].first_frame_at
        assert arrived is not None
        timing.first_frame_ms = round((arrived - clicked) * 1000, 1)
    except Exception as error:  # one failed call is a result, not the end of the run
        timing.error = f"{type(error).__name__}: {error}"


async def show_progress(timings: list[CallTiming], clicked: float, every: float = 1.0) -> None:
    """A line a second: how many calls have reached each step so far."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(every)
        counts = {
            "ringing": sum(t.ringing_ms is not None for t in timings),
            "active": sum(t.active_ms is not None for t in timings),
            "answered": sum(t.answered_ms is not None for t in timings),
            "connected": sum(t.connected for t in timings),
            "first frame": sum(t.first_frame_ms is not None for t in timings),
            "failed": sum(t.error is not None for t in timings),
        }
        line = "  ".join(f"{name} {count}" for name, count in counts.items())
        print(f"  {loop.time() - clicked:5.1f} s  {line}", flush=True)


async def watch_loop_lag(lags: list[float], every: float = 0.05) -> None:
    """How late this process's event loop wakes up: the generator's own share of delays."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + every
        await asyncio.sleep(every)
        lags.append((loop.time() - due) * 1000)


async def write_stats(url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as http, http.get(url + "/healthz") as resp:
        return dict((await resp.json())["components"]["database"]["writes"])


def server_timings(log: Path) -> tuple[list[float], list[float]]:
    """(call.join time in the server, relay answer time) per join, from its debug log."""
    text = log.read_text(errors="replace")
    joins = [float(m) for m in re.findall(r"join by \w+ took (\d+) ms", text)]
    answers = [float(m) for m in re.findall(r"relay answered \w+ in (\d+) ms", text)]
    return joins, answers


async def run(calls: int, workers: int, fps: float, prewarm: bool, media: str = "clip") -> Report:
    data_dir = Path(tempfile.mkdtemp(prefix="liveassist-load-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(data_dir, port, workers)
    try:
        async with aiohttp.ClientSession() as http:
            await wait_ready(url, http)
            async with http.get(url + "/healthz") as resp:
                relay = (await resp.json())["components"]["relay"]
        print(
            f"server up at {url} with {relay['workers']} relay worker(s); data in {data_dir}",
            flush=True,
        )
        pairs = await prepare(url, data_dir, calls)
        lags: list[float] = []
        lag = asyncio.create_task(watch_loop_lag(lags))
        timings = [CallTiming() for _ in pairs]
        clip = camera_clip(fps) if media == "clip" else None
        certificate = cheap_generator()
        for (customer, agent), timing in zip(pairs, timings, strict=True):
            make_peers(customer, agent, fps, timing, certificate, clip)
        if prewarm:
            await asyncio.gather(*(peer.prepare() for t in timings for peer in t.peers))
            print(f"  {2 * calls} peer connections pre-warmed (built and gathered)", flush=True)
        writes_before = await write_stats(url)
        gc.collect()  # the run's set-up (accounts, clip) is never garbage: out of the
        gc.freeze()  # collector's sight, as a relay worker's start-up heap
        cpu_window = CpuWindow(server.pid)
        cpu_window.start()
        clicked = asyncio.get_running_loop().time()
        print(f"  {calls} customers click 'video call' together", flush=True)
        progress = asyncio.create_task(show_progress(timings, clicked))
        await asyncio.gather(
            *(one_call(c, a, clicked, t) for (c, a), t in zip(pairs, timings, strict=True))
        )
        cpu = cpu_window.stop()
        progress.cancel()
        lag.cancel()
        writes_after = await write_stats(url)
        await asyncio.sleep(1.0)
        for timing in timings:
            for peer in timing.peers:
                await peer.close()
        for customer, agent in pairs:
            await customer.close()
            await agent.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    joins, answers = server_timings(data_dir / "serve.err")
    frames = [t.first_frame_ms for t in timings if t.first_frame_ms is not None]
    report = Report(
        calls=calls,
        workers=int(relay["workers"]),
        prewarmed=prewarm,
        media=media,
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
        server_join_p50_ms=percentile(joins, 0.5),
        server_join_p95_ms=percentile(joins, 0.95),
        relay_answer_p50_ms=percentile(answers, 0.5),
        relay_answer_p95_ms=percentile(answers, 0.95),
        db_write_transactions=int(writes_after["transactions"] - writes_before["transactions"]),
        db_write_held_s=round(writes_after["held_seconds"] - writes_before["held_seconds"], 3),
        db_write_waited_s=round(
            writes_after["waited_seconds"] - writes_before["waited_seconds"], 3
        ),
        cpu=cpu_summary(cpu, calls),
    )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--workers", type=int, default=0, help="relay workers (0: one per core)")
    parser.add_argument("--fps", type=float, default=5.0, help="customer camera frame rate")
    parser.add_argument(
        "--prewarm",
        action="store_true",
        help="build and gather every peer connection before the click, as a client that keeps "
        "one ready would (off: built after the click, measured)",
    )
    parser.add_argument(
        "--media",
        choices=("clip", "live"),
        default="clip",
        help="the callers' camera: a clip encoded once, read at RTP level by the agent (the "
        "default), or encoded live and decoded by the agent (the generator then dominates)",
    )
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument(
        "--tree",
        type=Path,
        help="run the server from this checkout (a git worktree of an older commit); the "
        "generator stays this one, so two servers are measured with the same callers",
    )
    args = parser.parse_args()
    if args.tree is not None:
        # The server is started as `liveassist`, whose imports then come from the tree.
        os.environ["PYTHONPATH"] = str(args.tree.resolve())
    report = asyncio.run(run(args.calls, args.workers, args.fps, args.prewarm, args.media))
    print(json.dumps(asdict(report), indent=2))
    target = report.first_frame_p95_ms is not None and report.first_frame_p95_ms <= 1000
    print(
        f"click-to-first-frame p95 {report.first_frame_p95_ms} ms over "
        f"{report.completed}/{report.calls} calls: "
        f"{'meets' if target and report.completed == report.calls else 'misses'} "
        "the 1 s target"
    )
    cpu = report.cpu
    print(
        f"CPU over {cpu['wall_s']} s from the click: generator {cpu['generator_s']} s"
        f" ({100 * cpu['generator_share']:.0f} % of generator + server + relay), server"
        f" {cpu['server_s']} s, relay workers {cpu['relay_workers_s']} s, other processes"
        f" {cpu['others_s']} s"
    )
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2))


if __name__ == "__main__":
    main()
