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
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection

from loadtest.call_peer import CallPeer
from loadtest.clients import Customer, Participant, ProtocolError, Staff
from media.stamps import StampedVideoTrack
from media.tone import ToneAudioTrack, dominant_frequency
from signaling.types import CallParty
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


async def rejoin_after_move(
    peer: CallPeer, person: Participant, timeout: float = 15.0
) -> dict[str, Any]:
    """What a client does on a relay move: wait for the new relay_session, join it afresh,
    and see the other side's camera again. Returns the call as the move showed it."""
    moved = await person.next("call.updated", where=peer.moved, timeout=timeout)
    peer.tracks["camera"] = StampedVideoTrack(**SMALL)  # the old sender's track is spent
    peer.reset_received("camera")
    await peer.join()
    await peer.wait_frames("camera", 5)
    return moved


async def three_line_offer(
    policy: RTCBundlePolicy = RTCBundlePolicy.MAX_BUNDLE, voice: str | None = None
) -> str:
    """An aiortc offer with the protocol's three m-lines (mids 0, 1, 2), and with `voice` a
    fourth audio m-line (mid 3) in that direction."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=policy))
    try:
        for kind in ("audio", "video", "video"):
            pc.addTransceiver(kind, direction="sendrecv")
        if voice is not None:
            pc.addTransceiver("audio", direction=voice)
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)
    finally:
        await pc.close()


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


async def test_quality_samples_grade_the_call_and_offer_a_step_down(server: Server) -> None:
    server.runtime.config.calls.poor_samples = 2
    async with chat_pair(server) as (customer, agent):
        call_id = await ring_and_accept(customer, agent, customer.chat_id)
        them, us = CallPeer(customer, call_id), CallPeer(agent, call_id)
        try:
            await asyncio.gather(them.join(), us.join())
            good = await customer.request("call.stats", await them.stats())
            assert good["level"] == "good" and good["mos"] > 4.0
            seen = await agent.next("call.quality")
            assert seen["participant"] == "customer" and seen["mos"] == good["mos"]
            bad = {"call_id": call_id, "rtt_ms": 900, "jitter_ms": 80, "loss_pct": 12}
            for _ in range(2):
                poor = await customer.request("call.stats", {**bad, "bitrate_kbps": 90})
                assert poor["level"] == "poor"
            offer = await agent.next("call.downgrade")
            assert offer == {
                "call_id": call_id,
                "to": "screen_only",
                "applied": False,
                "reason": offer["reason"],
            }
            assert "customer" in offer["reason"]
            with pytest.raises(ProtocolError) as nope:
                await customer.request("call.downgrade", {"call_id": call_id, "to": "audio"})
            assert nope.value.code == "forbidden"
            await agent.request("call.downgrade", {"call_id": call_id, "to": "audio"})
            applied = await customer.next("call.downgrade")
            assert applied["to"] == "audio" and applied["applied"] is True
            with pytest.raises(ProtocolError) as negative:
                await customer.request("call.stats", {**bad, "bitrate_kbps": -1})
            assert negative.value.code == "invalid_payload"
            ended = await agent.request("call.downgrade", {"call_id": call_id, "to": "chat"})
            assert ended["state"] == "ended" and ended["end_reason"] == "poor_quality"
        finally:
            await them.close()
            await us.close()
        record = await agent.rest("GET", f"/api/calls/{call_id}")
        levels = [(s["participant"], s["level"]) for s in record["quality_samples"]]
        assert levels == [("customer", "good"), ("customer", "poor"), ("customer", "poor")]
        steps = [e["detail"]["to"] for e in record["events"] if e["kind"] == "downgrade"]
        assert steps == ["audio", "chat"]


async def test_both_sides_see_the_relays_measure_of_each_link(server: Server) -> None:
    """call.link: the relay's own figures per participant (round trip from its sender
    reports' echoes, loss and jitter each way), graded, with no call.stats from anyone."""
    async with chat_pair(server) as (customer, agent):
        call_id = await ring_and_accept(customer, agent, customer.chat_id)
        them = CallPeer(
            customer, call_id, {"audio": ToneAudioTrack(440.0), "camera": stamped_camera()}
        )
        us = CallPeer(agent, call_id, {"audio": ToneAudioTrack(660.0), "camera": stamped_camera()})
        try:
            await asyncio.gather(them.join(), us.join())
            for party in ("customer", "agent"):
                link = await agent.next(
                    "call.link",
                    where=lambda seen, party=party: (
                        seen["participant"] == party
                        and seen["rtt_ms"] is not None
                        and seen["downlink_loss_pct"] is not None
                    ),
                    timeout=15,
                )
                assert link["call_id"] == call_id
                assert 0 < link["rtt_ms"] < 500, link
                # Loopback: nothing lost (a busy machine may drop the odd datagram), a good grade.
                assert link["uplink_loss_pct"] <= 2 and link["downlink_loss_pct"] <= 2, link
                assert link["uplink_jitter_ms"] is not None and link["uplink_jitter_ms"] < 200
                assert link["level"] in ("good", "fair") and link["mos"] > 3.5, link
            seen = await customer.next("call.link")
            assert seen["call_id"] == call_id
        finally:
            await them.close()
            await us.close()


async def test_annotations_reach_the_customer_and_are_stored(server: Server) -> None:
    async with chat_pair(server) as (customer, agent):
        call_id = await ring_and_accept(customer, agent, customer.chat_id)
        base = {"call_id": call_id, "surface": "customer_screen"}
        arrow = await agent.request(
            "call.annotate", {**base, "kind": "arrow", "points": [[0.1, 0.2], [0.5, 0.5]]}
        )
        got = await customer.next("call.annotation")
        assert got["id"] == arrow["id"] and got["points"] == [[0.1, 0.2], [0.5, 0.5]]
        assert got["by"] == "agent" and got["ttl_ms"] == 4000
        for i in range(10):  # a burst of pointer moves: all forwarded, few stored
            await agent.request(
                "call.annotate", {**base, "kind": "pointer", "points": [[i / 10, 0.5]]}
            )
        moves = [await customer.next("call.annotation") for _ in range(10)]
        assert [m["points"][0][0] for m in moves] == [i / 10 for i in range(10)]
        with pytest.raises(ProtocolError) as customer_draws:
            await customer.request("call.annotate", {**base, "kind": "pointer", "points": [[0, 0]]})
        assert customer_draws.value.code == "forbidden"
        for wrong in ([[0.1, 0.2]], [[0.1, 0.2, 0.3], [0.4, 0.5]], [[1.5, 0.2], [0, 0]]):
            with pytest.raises(ProtocolError) as bad:
                await agent.request("call.annotate", {**base, "kind": "circle", "points": wrong})
            assert bad.value.code == "invalid_payload"
        await agent.request("call.hangup", {"call_id": call_id})
        record = await agent.rest("GET", f"/api/calls/{call_id}")
        marks = [e["detail"] for e in record["events"] if e["kind"] == "annotation"]
        assert marks[0]["kind"] == "arrow" and marks[0]["surface"] == "customer_screen"
        assert 1 <= sum(1 for m in marks if m["kind"] == "pointer") < 10


async def test_bad_offers_and_strangers_are_refused_and_the_call_goes_on(server: Server) -> None:
    async with chat_pair(server) as (customer, agent):
        call_id = await ring_and_accept(customer, agent, customer.chat_id)
        good = await three_line_offer()
        balanced = await three_line_offer(RTCBundlePolicy.BALANCED)
        speaking = await three_line_offer(voice="sendrecv")
        roles = {"0": "audio", "1": "camera", "2": "screen"}
        with_voice = {**roles, "3": "voice"}
        for offer, tracks, code, says in (
            ("hello", roles, "invalid_payload", "SDP offer"),
            ("v=0\r\nthis is not sdp\r\n", roles, "bad_offer", "three m-lines"),
            ("v=0\r\n" + "a=x\r\n" * 20_000, roles, "payload_too_large", "limit"),
            (good, {}, "invalid_payload", "tracks is required"),
            (good, {**roles, "7": "screen"}, "invalid_payload", "does not have: 7"),
            (good, {"0": "audio", "1": "camera", "2": "camera"}, "invalid_payload", "each role"),
            (good, {"0": "camera", "1": "audio", "2": "screen"}, "invalid_payload", "cannot carry"),
            (balanced, roles, "bad_offer", "separate transports"),
            (
                good.replace("a=group:BUNDLE 0 1 2", "a=group:BUNDLE 0 1"),
                roles,
                "bad_offer",
                "BUNDLE",
            ),
            (good + good[good.index("m=video") :], roles, "bad_offer", "three m-lines"),
            (speaking, roles, "invalid_payload", "each role once"),
            (speaking, with_voice, "bad_offer", "only receives"),
            (speaking, {**roles, "3": "audio"}, "invalid_payload", "each role once"),
        ):
            with pytest.raises(ProtocolError) as refused:
                await customer.request(
                    "call.join", {"call_id": call_id, "offer": offer, "tracks": tracks}
                )
            assert refused.value.code == code, refused.value
            assert says in refused.value.error["message"], refused.value
        with pytest.raises(ProtocolError) as bad_role:
            await customer.request(
                "call.join", {"call_id": call_id, "offer": "v=0\r\n", "tracks": {"0": "movie"}}
            )
        assert bad_role.value.code == "invalid_payload"
        for media in ({"camera": "yes"}, {"microphone": True}, ["audio"]):
            with pytest.raises(ProtocolError) as bad_media:
                await customer.request(
                    "call.join", {"call_id": call_id, "offer": "v=0\r\n", "media": media}
                )
            assert bad_media.value.code == "invalid_payload", media
        stranger = await server.customer(name="Mallory")
        other_agent = await server.staff("agent2@demo.local")
        try:
            for person in (stranger, other_agent):
                with pytest.raises(ProtocolError) as hidden:
                    await person.request("call.hangup", {"call_id": call_id})
                assert hidden.value.code == "not_found"
            # ...and the call still works for its own two parties.
            them, us = CallPeer(customer, call_id), CallPeer(agent, call_id)
            try:
                await asyncio.gather(them.join(), us.join())
                state = await agent.request("call.get", {"call_id": call_id})
                assert state["participants"]["customer"]["state"] == "connected"
            finally:
                await them.close()
                await us.close()
        finally:
            await stranger.close()
            await other_agent.close()


async def test_join_carries_the_media_flags_and_event_appends_share_transactions(
    server: Server,
) -> None:
    """call.join's `media` replaces the first call.media; the events of joins that arrive
    together are committed together, and media_used is written when the call ends."""
    async with chat_pair(server) as (customer, agent):
        call_id = await ring_and_accept(customer, agent, customer.chat_id)
        them = CallPeer(customer, call_id, {"camera": stamped_camera()})
        us = CallPeer(agent, call_id)
        log = server.runtime.calls.events
        before = log.batches
        try:
            joined = await asyncio.gather(them.join(), us.join())
            flags = joined[0]["call"]["participants"]["customer"]
            assert (flags["audio"], flags["camera"], flags["screen"]) == (False, True, False)
            seen = await agent.request("call.get", {"call_id": call_id})
            assert seen["participants"]["customer"]["camera"] is True
            assert seen["media_used"] == {"audio": False, "camera": True, "screen": False}
            assert 1 <= log.batches - before <= 2  # two joins, four events
            before = log.batches
            flips = [{"audio": False, "camera": i % 2 == 0, "screen": False} for i in range(20)]
            await asyncio.gather(
                *(log.append(call_id, [("media", CallParty.CUSTOMER, f)]) for f in flips)
            )
            assert log.batches - before <= 2  # the first alone, the other 19 together
            await us.wait_frames("camera", 2)
        finally:
            await them.close()
            await us.close()
        await agent.request("call.hangup", {"call_id": call_id})
        record = await agent.rest("GET", f"/api/calls/{call_id}")
        assert record["media_used"] == {"audio": False, "camera": True, "screen": False}
        kinds = [(e["kind"], e["actor"]) for e in record["events"]]
        for party in ("customer", "agent"):
            assert kinds.index(("joined", party)) < kinds.index(("media", party)), kinds


H264_FIRST = ("video/H264", "video/VP8")


def sending_codec(peer: CallPeer, role: str = "camera") -> str:
    """The encoder aiortc picked for what this peer sends (the relay's answer decides)."""
    encoder = peer.transceivers[role].sender._RTCRtpSender__encoder  # type: ignore[attr-defined]
    return type(encoder).__name__


async def test_h264_is_forwarded_when_both_offer_it_and_the_room_agrees_on_a_codec(
    server: Server,
) -> None:
    async with chat_pair(server) as (customer, agent):
        # Both prefer H.264: camera and screen travel as H.264, decodable, numbered as sent.
        call_id = await ring_and_accept(customer, agent, customer.chat_id)
        screen = StampedVideoTrack(640, 360, 5, pattern="screen")
        sending = {"camera": stamped_camera(), "screen": screen}
        them = CallPeer(customer, call_id, sending, video_codecs=H264_FIRST)
        us = CallPeer(agent, call_id, {"camera": stamped_camera()}, video_codecs=H264_FIRST)
        try:
            await asyncio.gather(them.join(), us.join())
            camera = await us.wait_frames("camera", 20)
            assert camera.numbers[:1] and camera.numbers == sorted(camera.numbers)
            assert (await us.wait_frames("screen", 3)).size == (640, 360)
            await them.wait_frames("camera", 10)
            assert sending_codec(them) == sending_codec(us) == "H264Encoder"
            assert sending_codec(them, "screen") == "H264Encoder"

            # Rejoining with VP8 only cannot receive the customer's H.264: refused with the
            # reason; the call goes on, and a rejoin that offers H.264 again gets media.
            vp8_only = CallPeer(agent, call_id, video_codecs=("video/VP8",))
            with pytest.raises(ProtocolError) as refused:
                await vp8_only.join()
            assert refused.value.code == "bad_offer"
            assert "H264" in refused.value.error["message"], refused.value.error
            await vp8_only.close()
            us.reset_received("camera")
            await us.join()
            await us.wait_frames("camera", 5)
            await agent.request("call.hangup", {"call_id": call_id})
        finally:
            await them.close()
            await us.close()

        # The agent is in first and takes VP8 only: the customer, who prefers H.264, is
        # asked to send VP8, so the call works.
        call_id = await ring_and_accept(customer, agent, customer.chat_id)
        us = CallPeer(agent, call_id, video_codecs=("video/VP8",))
        them = CallPeer(customer, call_id, {"camera": stamped_camera()}, video_codecs=H264_FIRST)
        try:
            await us.join()
            await them.join()
            camera = await us.wait_frames("camera", 10)
            assert camera.numbers[:1] and camera.numbers == sorted(camera.numbers)
            assert sending_codec(them) == "Vp8Encoder"
        finally:
            await them.close()
            await us.close()
