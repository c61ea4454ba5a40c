"""A supervisor (admin) in a live call through the real server, aiortc at every end:
supervise.list shows the call; monitor receives both sides and is heard by nobody, the
customer told nothing; whisper reaches the agent only (the agent is told, the customer is
not); barge reaches both and the customer is told; every change is in the call's event log
and the audit log; bad offers and other roles are refused with a reason; a supervisor whose
console closes leaves the call, which goes on."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from pathlib import Path
from typing import Any

import pytest
from aiortc import AudioStreamTrack, MediaStreamTrack

from loadtest.call_peer import CallPeer, Role
from loadtest.clients import Participant, ProtocolError, Staff
from loadtest.supervisor_peer import SupervisorPeer
from media.stamps import StampedVideoTrack
from tests.conftest import Server, start_server
from tests.test_calls import SMALL, chat_pair, ring_and_accept


def sending() -> dict[Role, MediaStreamTrack | None]:
    return {"audio": AudioStreamTrack(), "camera": StampedVideoTrack(**SMALL)}


async def voice_heard(peer: CallPeer, frames: int = 10, timeout: float = 4.0) -> bool:
    start = peer.voice_frames
    try:
        async with asyncio.timeout(timeout):
            while peer.voice_frames < start + frames:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    except TimeoutError:
        return False
    return True


async def voice_silent(peer: CallPeer) -> bool:
    await asyncio.sleep(0.3)  # what was in flight at the switch
    start = peer.voice_frames
    await asyncio.sleep(1.2)
    return peer.voice_frames - start < 5


async def refused(person: Participant, event: str, payload: Any) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        await person.request(event, payload)
    return caught.value


async def test_monitor_whisper_barge_and_who_is_told(server: Server) -> None:
    admin: Staff = await server.staff("admin@demo.local", online=False)
    supervisor = SupervisorPeer(AudioStreamTrack())
    async with chat_pair(server) as (customer, agent):
        call_id = await ring_and_accept(customer, agent, customer.chat_id)
        them = CallPeer(customer, call_id, sending(), hears_voice=True)
        us = CallPeer(agent, call_id, sending(), hears_voice=True)
        try:
            await asyncio.gather(them.join(), us.join())
            await asyncio.gather(them.wait_frames("camera", 3), us.wait_frames("camera", 3))

            listed = (await admin.request("supervise.list"))["calls"]
            (row,) = [c for c in listed if c["call_id"] == call_id]
            assert row["customer_name"] == "Carla" and row["supervisor"] is None

            offer, tracks, sources = await supervisor.offer()
            joined = await admin.request(
                "supervise.join",
                {"call_id": call_id, "offer": offer, "tracks": tracks, "sources": sources},
                timeout=30,
            )
            assert joined["supervisor"]["mode"] == "monitor"
            await supervisor.accept(joined["answer"])
            for party in ("customer", "agent"):
                for role in ("camera", "audio"):
                    async with asyncio.timeout(15):
                        while supervisor.frames[(party, role)] < 3:  # noqa: ASYNC110
                            await asyncio.sleep(0.05)
            assert await voice_silent(them) and await voice_silent(us)

            whisper = {"call_id": call_id, "mode": "whisper"}
            assert (await admin.request("supervise.mode", whisper))["mode"] == "whisper"
            told = await agent.next("call.supervisor")
            assert told == {
                "call_id": call_id,
                "supervisor": {"user_id": admin.user["id"], "name": "Ada Admin", "mode": "whisper"},
            }
            assert await voice_heard(us)
            assert await voice_silent(them)

            await admin.request("supervise.mode", {"call_id": call_id, "mode": "barge"})
            shown = await customer.next("call.supervisor")
            assert shown["supervisor"]["mode"] == "barge" and shown["supervisor"]["name"]
            assert await voice_heard(them) and await voice_heard(us)

            await admin.request("supervise.mode", {"call_id": call_id, "mode": "monitor"})
            assert (await customer.next("call.supervisor"))["supervisor"] is None
            assert await voice_silent(them) and await voice_silent(us)

            # The customer was told of the barge only: never of the monitor or the whisper.
            assert customer.drain("call.supervisor") == []
            listed = (await admin.request("supervise.list"))["calls"]
            assert [c["supervisor"]["mode"] for c in listed if c["call_id"] == call_id] == [
                "monitor"
            ]

            # Closing the console leaves the call; the call itself goes on.
            await admin.close()
            await supervisor.close()
            await asyncio.sleep(0.5)
            them.reset_received("camera")
            await them.wait_frames("camera", 5)
            call = await agent.request("call.get", {"call_id": call_id})
            assert call["state"] == "active"
        finally:
            await them.close()
            await us.close()
            await supervisor.close()
            await admin.close()

    record_reader = await server.staff("admin@demo.local", online=False)
    try:
        record = await record_reader.rest("GET", f"/api/calls/{call_id}")
        kinds = [e["kind"] for e in record["events"]]
        for kind in ("supervisor_monitor", "supervisor_whisper", "supervisor_barge"):
            assert kind in kinds, kinds
        left = next(e for e in record["events"] if e["kind"] == "supervisor_left")
        assert left["detail"]["why"] == "disconnected"
        audit = await record_reader.rest("GET", "/api/audit?per_page=50")
        actions = [line["action"] for line in audit["items"]]
        for action in ("supervisor.monitor", "supervisor.whisper", "supervisor.barge"):
            assert action in actions, actions
    finally:
        await record_reader.close()


async def test_only_admins_supervise_and_bad_offers_are_refused_with_a_reason(
    server: Server,
) -> None:
    admin = await server.staff("admin@demo.local", online=False)
    supervisor = SupervisorPeer(AudioStreamTrack())
    async with chat_pair(server) as (customer, agent):
        call_id = await ring_and_accept(customer, agent, customer.chat_id)
        try:
            offer, tracks, sources = await supervisor.offer()
            good = {"call_id": call_id, "offer": offer, "tracks": tracks, "sources": sources}
            assert (await refused(agent, "supervise.list", None)).code == "forbidden"
            assert (await refused(agent, "supervise.join", good)).code == "forbidden"
            assert (await refused(customer, "supervise.join", good)).code in (
                "unknown_event",
                "forbidden",
            )
            error = await refused(admin, "supervise.join", {**good, "sources": {}})
            assert error.code == "invalid_payload" and "sources" in str(error)
            party_mid = next(iter(sources))
            wrong = {**good, "sources": {**sources, party_mid: "someone"}}
            assert "customer or agent" in str(await refused(admin, "supervise.join", wrong))
            error = await refused(admin, "supervise.join", {**good, "offer": "v=0\r\nnope\r\n"})
            assert error.code == "bad_offer" and "seven m-lines" in str(error)
            error = await refused(admin, "supervise.join", {**good, "call_id": call_id + 999})
            assert error.code == "not_found"
            error = await refused(admin, "supervise.mode", {"call_id": call_id, "mode": "whisper"})
            assert error.code == "conflict" and "supervise.join first" in str(error)
            error = await refused(admin, "supervise.mode", {"call_id": call_id, "mode": "shout"})
            assert error.code == "invalid_payload"
            # After all that, the call is untouched and a good offer joins.
            joined = await admin.request("supervise.join", good, timeout=30)
            assert joined["answer"].startswith("v=0")
        finally:
            await supervisor.close()
            await admin.close()


async def test_a_supervisor_sees_only_the_calls_of_agents_in_their_groups(server: Server) -> None:
    """The demo supervisor's group is Billing: Alex (agent1) is in it, Bo (agent2) is not."""
    sam = await server.staff("supervisor@demo.local", online=False)
    admin = await server.staff("admin@demo.local", online=False)
    bo = await server.staff("agent2@demo.local")
    customer = await server.customer(name="Dora")
    supervisor = SupervisorPeer(AudioStreamTrack())
    try:
        await customer.say("Hello?")
        await bo.next("chat.assigned")
        call_id = await ring_and_accept(customer, bo, customer.chat_id)
        assert call_id in [c["call_id"] for c in (await admin.request("supervise.list"))["calls"]]
        assert (await sam.request("supervise.list"))["calls"] == []
        offer, tracks, sources = await supervisor.offer()
        good = {"call_id": call_id, "offer": offer, "tracks": tracks, "sources": sources}
        assert (await refused(sam, "supervise.join", good)).code == "not_found"
        assert (await refused(sam, "presence.set", {"status": "online"})).code == "forbidden"
        figures = await sam.rest("GET", "/api/kpis/live")
        assert figures["calls"]["active"] == 1
        await sam.rest("GET", "/api/tickets", expect=403)
    finally:
        await supervisor.close()
        await customer.request("chat.end", {"chat_id": customer.chat_id})
        for person in (customer, bo, admin, sam):
            await person.close()


async def test_a_supervisor_of_the_agent_s_group_monitors_the_call(server: Server) -> None:
    sam = await server.staff("supervisor@demo.local", online=False)
    supervisor = SupervisorPeer(AudioStreamTrack())
    async with chat_pair(server) as (customer, agent):
        call_id = await ring_and_accept(customer, agent, customer.chat_id)
        them = CallPeer(customer, call_id, sending())
        us = CallPeer(agent, call_id, sending())
        try:
            await asyncio.gather(them.join(), us.join())
            (row,) = (await sam.request("supervise.list"))["calls"]
            assert row["call_id"] == call_id and row["agent_name"] == "Alex Agent"
            offer, tracks, sources = await supervisor.offer()
            joined = await sam.request(
                "supervise.join",
                {"call_id": call_id, "offer": offer, "tracks": tracks, "sources": sources},
                timeout=30,
            )
            await supervisor.accept(joined["answer"])
            async with asyncio.timeout(15):
                while supervisor.frames[("customer", "camera")] < 3:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            assert joined["supervisor"]["name"] == "Sam Supervisor"
        finally:
            await them.close()
            await us.close()
            await supervisor.close()
            await sam.close()


async def test_a_supervisor_gets_turn_credentials_of_their_own(tmp_path: Path) -> None:
    """With TURN configured the supervisor's peer connection gets a credential naming the call
    and the supervisor, valid as coturn's shared-secret check computes it; agents get none."""
    secret = "supervision-turn-secret-0123456789"
    server, runner = await start_server(
        tmp_path / "d",
        calls={"ice_servers": ["stun:127.0.0.1:3478", "turn:127.0.0.1:3478?transport=udp"]},
        turn={"secret": secret},
    )
    try:
        admin = await server.staff("admin@demo.local", online=False)
        async with chat_pair(server) as (customer, agent):
            call_id = await ring_and_accept(customer, agent, customer.chat_id)
            handed = await admin.request("supervise.ice_servers", {"call_id": call_id})
            stun, turn = handed["ice_servers"]
            assert stun == {"urls": ["stun:127.0.0.1:3478"]}
            assert turn["username"].endswith(f":call-{call_id}-supervisor-{admin.user['id']}")
            digest = hmac.new(secret.encode(), turn["username"].encode(), hashlib.sha1).digest()
            assert turn["credential"] == base64.b64encode(digest).decode()
            assert handed["expires_at"]
            error = await refused(agent, "supervise.ice_servers", {"call_id": call_id})
            assert error.code == "forbidden"
        await admin.close()
    finally:
        await runner.cleanup()
