"""Calls end to end: real aiortc clients over loopback, through the real server and a real
relay worker process. Media is stamped (frame number + send time in the pixels) so what
arrives is checked frame by frame, not just counted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import pytest

from loadtest.call_peer import CallPeer
from loadtest.clients import Customer, ProtocolError, Staff
from media.stamps import StampedVideoTrack
from media.tone import ToneAudioTrack, dominant_frequency
from tests.conftest import Server

SMALL = {"width": 320, "height": 240, "fps": 15}


@asynccontextmanager
async def chat_pair(server: Server) -> AsyncIterator[tuple[Customer, Staff]]:
    """A customer whose chat the agent has taken."""
    agent = await server.staff("agent1@demo.local")
    customer = await server.customer(name="Carla")
    try:
        await customer.say("Can you see my screen?")
        await agent.next("chat.assigned")
        yield customer, agent
    finally:
        if customer.sio.connected:  # end the chat so the agent's capacity frees up
            await customer.request("chat.end", {"chat_id": customer.chat_id})
        await customer.close()
        await agent.close()


async def ring_and_accept(caller: Any, callee: Any, chat_id: int, media: str = "video") -> int:
    call = await caller.request("call.start", {"chat_id": chat_id, "media": media})
    assert call["state"] == "ringing"
    ringing = await callee.next("call.ringing", where=lambda c: c["id"] == call["id"])
    assert ringing["started_by"] in ("customer", "agent")
    accepted = await callee.request("call.accept", {"call_id": call["id"]})
    assert accepted["state"] == "active"
    return int(call["id"])


def stamped_camera() -> StampedVideoTrack:
    return StampedVideoTrack(**SMALL)


async def test_video_call_with_screen_share_pli_and_a_complete_record(server: Server) -> None:
    async with chat_pair(server) as (customer, agent):
        call_id = await ring_and_accept(customer, agent, customer.chat_id)
        camera = stamped_camera()
        them = CallPeer(customer, call_id, {"audio": ToneAudioTrack(440.0), "camera": camera})
        us = CallPeer(agent, call_id, {"camera": stamped_camera()}, keep_audio=True)
        try:
            await asyncio.gather(them.join(), us.join())
            # Stamped camera frames arrive decodable, numbered as sent, in order.
            got = await us.wait_frames("camera", 30)
            numbers = got.numbers
            assert len(numbers) >= 25, f"only {len(numbers)} of {got.frames} frames had stamps"
            assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
            assert numbers[-1] < camera.frames_sent
            assert all(0 <= delay < 1000 for _n, delay in got.stamps)
            await them.wait_frames("camera", 15)  # and the other way
            # The customer's 440 Hz tone arrives as audio.
            audio = await us.wait_frames("audio", 50)
            samples = np.concatenate(audio.audio[-40:])
            assert abs(dominant_frequency(samples, 48_000) - 440.0) < 5
            # No screen yet: the screen m-line is silent.
            assert us.received["screen"].frames == 0

            # Screen share starts on its own m-line, marked as screen, and stops cleanly.
            await them.set_track("screen", StampedVideoTrack(640, 360, 5, pattern="screen"))
            update = await agent.next(
                "call.updated", where=lambda c: c["participants"]["customer"]["screen"]
            )
            assert update["media_used"]["screen"] is True
            screen = await us.wait_frames("screen", 5)
            assert screen.size == (640, 360)
            assert screen.numbers[:1] and screen.numbers == sorted(screen.numbers)
            assert us.received["camera"].size == (320, 240)  # camera unaffected
            await them.set_track("screen", None)
            await agent.next(
                "call.updated", where=lambda c: not c["participants"]["customer"]["screen"]
            )
            frames_then = us.received["screen"].frames
            await asyncio.sleep(1.0)
            assert us.received["screen"].frames <= frames_then + 1
            camera_before = us.received["camera"].frames
            await asyncio.sleep(0.5)
            assert us.received["camera"].frames > camera_before

            # A subscriber that rejoins needs a keyframe: the relay's PLI reaches the publisher.
            plis = count_plis(them)
            us.reset_received("camera")
            await us.join()
            await us.wait_frames("camera", 5)
            assert plis() >= 1

            ended = await agent.request("call.hangup", {"call_id": call_id})
            assert ended["state"] == "ended" and ended["end_reason"] == "hung_up"
            seen = await customer.next("call.updated", where=lambda c: c["state"] == "ended")
            assert seen["ended_by"] == "agent"
        finally:
            await them.close()
            await us.close()

        record = await agent.rest("GET", f"/api/calls/{call_id}")
        assert record["chat_id"] == customer.chat_id and record["ticket_id"]
        assert record["answered_at"] and record["ended_at"] and record["end_reason"] == "hung_up"
        assert record["media_used"] == {"audio": True, "camera": True, "screen": True}
        kinds = [e["kind"] for e in record["events"]]
        for kind in ("ringing", "accepted", "joined", "media", "reconnected", "ended"):
            assert kind in kinds, kinds
        transcript = await agent.rest("GET", f"/api/chats/{customer.chat_id}/messages")
        assert any("Video call ended" in m["text"] for m in transcript["items"])


def count_plis(peer: CallPeer) -> Any:
    """Count PLIs arriving at `peer`'s camera sender (what makes its encoder send a keyframe)."""
    from aiortc.rtp import RtcpPsfbPacket

    sender = peer.transceivers["camera"].sender
    original = sender._handle_rtcp_packet
    seen = [0]

    async def spy(packet: Any) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == 1:
            seen[0] += 1
        await original(packet)

    sender._handle_rtcp_packet = spy
    return lambda: seen[0]


async def test_decline_missed_and_cancelled_calls(server: Server) -> None:
    srv = server
    srv.runtime.config.calls.ring_seconds = 1.0
    async with chat_pair(srv) as (customer, agent):
        call = await agent.request("call.start", {"chat_id": customer.chat_id, "media": "audio"})
        await customer.next("call.ringing")
        with pytest.raises(ProtocolError) as busy:
            await customer.request("call.start", {"chat_id": customer.chat_id})
        assert busy.value.code == "conflict"
        with pytest.raises(ProtocolError) as own:
            await agent.request("call.accept", {"call_id": call["id"]})
        assert own.value.code == "conflict"
        declined = await customer.request("call.decline", {"call_id": call["id"]})
        assert declined["end_reason"] == "declined" and declined["ended_by"] == "customer"

        missed = await customer.request("call.start", {"chat_id": customer.chat_id})
        update = await agent.next(
            "call.updated", where=lambda c: c["id"] == missed["id"] and c["state"] == "ended"
        )
        assert update["end_reason"] == "missed" and update["end_reason_text"]

        cancelled = await customer.request("call.start", {"chat_id": customer.chat_id})
        done = await customer.request("call.hangup", {"call_id": cancelled["id"]})
        assert done["end_reason"] == "cancelled"
        lines = [
            m["text"]
            for m in (await customer.request("chat.sync", {"chat_id": customer.chat_id}))[
                "messages"
            ]
        ]
        assert "Audio call declined" in lines and "Missed video call" in lines
        calls = await agent.rest("GET", f"/api/calls?chat_id={customer.chat_id}")
        assert [c["end_reason"] for c in calls["items"]] == ["cancelled", "missed", "declined"]
