"""`kill -9` of the whole server in the middle of a recorded call: the next start finds the
recording it cut, finishes it from what reached the disk (to within ~2 s of the kill) and
marks it `interrupted`; nothing is left half-visible."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import av

from loadtest.call_peer import CallPeer
from loadtest.clients import Customer, Staff
from media.stamps import StampedVideoTrack
from media.tone import ToneAudioTrack
from tests.test_calls import SMALL
from tests.test_cli import http, serve_process, serving

READY_TIMEOUT_S = 60.0


def demo_password(printed: str, email: str) -> str:
    found = re.search(rf"{re.escape(email)}\s+password: (\S+)", printed)
    assert found, printed
    return found.group(1)


async def recorded_call_until_killed(url: str, printed: str, pid: int) -> tuple[int, float]:
    """A customer's video call with agent1, recorded by the default policy, media flowing
    for ~4 s; then the server is killed. Returns the call id and the kill's wall-clock time."""
    agent = Staff(url)
    await agent.sign_in("agent1@demo.local", demo_password(printed, "agent1@demo.local"))
    await agent.connect()
    await agent.go_online()
    customer = Customer(url)
    await customer.open_chat(name="Kim Crash", topic="billing")
    await customer.connect()
    peers: list[CallPeer] = []
    try:
        await customer.say("The screen went black")
        chat = (await agent.next("chat.assigned"))["chat"]
        call = await agent.request("call.start", {"chat_id": chat["id"], "media": "video"})
        call_id = int(call["id"])
        await customer.next("call.ringing", where=lambda c: c["id"] == call_id)
        await customer.request("call.accept", {"call_id": call_id})
        peers = [
            CallPeer(
                customer,
                call_id,
                {"audio": ToneAudioTrack(440.0), "camera": StampedVideoTrack(**SMALL)},
            ),
            CallPeer(
                agent,
                call_id,
                {"audio": ToneAudioTrack(660.0), "camera": StampedVideoTrack(**SMALL)},
            ),
        ]
        await asyncio.gather(*(peer.join() for peer in peers))
        await asyncio.gather(*(peer.wait_frames("camera", 10) for peer in peers))
        state = await agent.request("call.get", {"call_id": call_id})
        assert state["recording"]["state"] == "recording", state["recording"]
        await asyncio.sleep(4.0)
        killed_at = time.time()
        os.kill(pid, signal.SIGKILL)
        return call_id, killed_at
    finally:
        for peer in peers:
            await peer.close()
        await customer.close()
        await agent.close()


def ready_recording(url: str, token: str, call_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        status, page = http(url + "/api/recordings", token=token)
        assert status == 200, page
        found = [r for r in page["items"] if r["call_id"] == call_id]
        assert len(found) == 1, page
        if found[0]["state"] == "ready":
            return dict(http(url + f"/api/recordings/{found[0]['id']}", token=token)[1])
        assert found[0]["state"] in ("recording", "processing"), found[0]
        assert time.monotonic() < deadline, f"not ready after {READY_TIMEOUT_S} s: {found[0]}"
        time.sleep(0.5)


def decoded_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(container.streams[0]))


def test_a_server_killed_mid_call_leaves_its_recording_finished_and_marked_interrupted(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with serve_process(data, "--workers", "1") as (process, url, printed, _err):
        call_id, killed_at = asyncio.run(recorded_call_until_killed(url, printed, process.pid))
        process.wait(timeout=10)

    with serving(data) as (url, _printed):
        password = demo_password(printed, "qa@demo.local")
        status, login = http(
            url + "/api/auth/login", {"email": "qa@demo.local", "password": password}
        )
        assert status == 200, login
        recording = ready_recording(url, login["token"], call_id)

    assert recording["interrupted"] is True and recording["reason"] is None
    started = datetime.fromisoformat(recording["started_at"]).timestamp()
    tracks = {(f["participant"], f["role"]): f for f in recording["files"] if f["kind"] == "track"}
    assert {"customer", "agent"} == {participant for participant, _role in tracks}
    folder = data / "recordings" / "org1" / f"call{call_id}" / "files" / "tracks"
    on_disk = {p.name: p for p in folder.iterdir()}
    for (participant, role), file in tracks.items():
        # What reached the disk reaches to within ~2 s of the kill (flushed every second).
        end = started + (file["start_offset_ms"] + file["duration_ms"]) / 1000
        assert killed_at - end <= 2.5, (participant, role, killed_at - end)
        name = next(n for n in on_disk if n.startswith(f"{participant}.{role}"))
        assert decoded_frames(on_disk[name]) > (50 if role == "audio" else 20), name
