"""SIGTERM to the real `liveassist serve` with 50 connected sockets and a call with media
flowing (issue 15, defect 7): it exits within 5 s, telling every socket `server.closing`,
and the call ends with `server_shutdown` and its transcript line instead of vanishing."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from loadtest.call_peer import CallPeer
from loadtest.clients import Customer, Participant, Staff
from media.stamps import StampedVideoTrack
from tests.test_calls import SMALL, ring_and_accept
from tests.test_cli import environment, http, serve_process

SOCKETS = 50
EXIT_WITHIN_S = 5.0


def demo_password(data_dir: Path, email: str) -> str:
    for line in (data_dir / "demo-accounts.txt").read_text().splitlines():
        if not line.startswith("#") and line.split("\t")[1] == email:
            return line.split("\t")[2]
    raise AssertionError(f"no demo account {email}")


async def test_sigterm_with_50_sockets_and_a_call_exits_within_5_s(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # 48 more guests than the per-address defaults allow in a burst, all from 127.0.0.1.
    env = environment(
        LIVEASSIST_LIMITS_IP_GUEST_SESSION_BURST="100",
        LIVEASSIST_LIMITS_IP_CONNECT_BURST="200",
    )
    with serve_process(data, "--workers", "1", env=env) as (process, url, _printed, err_path):
        agent = Staff(url)
        await agent.sign_in("agent1@demo.local", demo_password(data, "agent1@demo.local"))
        await agent.connect()
        await agent.go_online()
        caller = Customer(url)
        await caller.open_chat(name="Cleo")
        await caller.connect()
        people: list[Participant] = [agent, caller]
        peers: list[CallPeer] = []
        try:
            await caller.say("can we talk?")
            await agent.next("chat.assigned")
            call_id = await ring_and_accept(caller, agent, caller.chat_id)
            peers = [
                CallPeer(person, call_id, {"camera": StampedVideoTrack(**SMALL)})
                for person in (caller, agent)
            ]
            await asyncio.gather(*(peer.join() for peer in peers))
            await peers[0].wait_frames("camera", 5)

            async def guest(i: int) -> Customer:
                person = Customer(url)
                await person.open_chat(name=f"Guest {i}")
                await person.connect()
                return person

            for start in range(0, SOCKETS - 2, 12):
                batch = range(start, min(start + 12, SOCKETS - 2))
                people += await asyncio.gather(*(guest(i) for i in batch))
            assert sum(person.sio.connected for person in people) == SOCKETS

            sent = time.monotonic()
            process.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(process.wait, 15)
            took = time.monotonic() - sent
            assert code == 0, err_path.read_text()
            assert took < EXIT_WITHIN_S, f"exited {took:.1f} s after SIGTERM"
            assert "Traceback" not in err_path.read_text()

            told = [person.drain("server.closing") for person in people]
            assert all(notice == [{"reason": "shutdown"}] for notice in told), told
            for person in (caller, agent):
                ended = [c for c in person.drain("call.updated") if c["state"] == "ended"]
                assert [c["end_reason"] for c in ended] == ["server_shutdown"]
                lines = [m["text"] for m in person.drain("message") if "call" in m["text"]]
                assert len(lines) == 1 and lines[0].endswith("): Server restarted"), lines
            print(f"\nSIGTERM with {SOCKETS} sockets and a call: exited in {took:.2f} s")
        finally:
            for peer in peers:
                await peer.close()
            for person in people:
                await person.close()


async def test_sigterm_with_a_drain_time_turns_unready_first_then_closes(tmp_path: Path) -> None:
    """server.drain_seconds: right after SIGTERM /healthz answers 503 "draining" while the
    server still serves (sockets stay up, a sign-in works), and only after the drain time
    are sockets told `server.closing` and the process exits 0."""
    data = tmp_path / "data"
    env = environment(LIVEASSIST_SERVER_DRAIN_SECONDS="2")
    with serve_process(data, "--workers", "1", env=env) as (process, url, _printed, err_path):
        assert http(url + "/healthz")[0] == 200
        agent = Staff(url)
        try:
            await agent.sign_in("agent1@demo.local", demo_password(data, "agent1@demo.local"))
            await agent.connect()
            sent = time.monotonic()
            process.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.3)
            status, health = await asyncio.to_thread(http, url + "/healthz")
            assert (status, health["status"]) == (503, "draining")
            again = Staff(url)
            await again.sign_in("agent1@demo.local", demo_password(data, "agent1@demo.local"))
            await again.close()
            assert agent.sio.connected and agent.drain("server.closing") == []
            code = await asyncio.to_thread(process.wait, 15)
            took = time.monotonic() - sent
            assert code == 0, err_path.read_text()
            assert 2.0 <= took < 2.0 + EXIT_WITHIN_S, f"exited {took:.1f} s after SIGTERM"
            assert agent.drain("server.closing") == [{"reason": "shutdown"}]
        finally:
            await agent.close()
