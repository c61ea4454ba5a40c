"""Calls that break: a reloaded page, a dropped media path, a participant who never comes
back, a relay worker that dies; and a run of calls after which the relay holds nothing."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from loadtest.call_peer import CallPeer
from loadtest.clients import Staff
from media.stamps import StampedVideoTrack
from tests.conftest import Server, start_server
from tests.test_calls import SMALL, chat_pair, rejoin_after_move, ring_and_accept


def link_of(party: str, state: str):  # type: ignore[no-untyped-def]
    return lambda c: c["participants"][party]["state"] == state


async def test_page_reload_rejoins_the_same_call_and_media_resumes(server: Server) -> None:
    async with chat_pair(server) as (customer, agent):
        call_id = await ring_and_accept(customer, agent, customer.chat_id)
        them = CallPeer(customer, call_id, {"camera": StampedVideoTrack(**SMALL)})
        us = CallPeer(agent, call_id, {"camera": StampedVideoTrack(**SMALL)})
        again = Staff(server.url)
        try:
            await asyncio.gather(them.join(), us.join())
            await them.wait_frames("camera", 10)
            # The agent's page reloads: socket and peer connection gone at once.
            await us.drop()
            await agent.sio.disconnect()
            await customer.next("call.updated", where=link_of("agent", "reconnecting"))
            # The new page signs in with the same session and finds the call running.
            again.token = agent.token
            await again.connect()
            resent = await again.next("call.updated", where=lambda c: c["id"] == call_id)
            assert resent["state"] == "active"
            rejoined = CallPeer(again, call_id, {"camera": StampedVideoTrack(**SMALL)})
            them.reset_received("camera")
            await rejoined.join()
            await customer.next("call.updated", where=link_of("agent", "connected"))
            got = await them.wait_frames("camera", 10)  # the agent's camera again
            assert got.numbers, "frames after the rejoin carry readable stamps"
            await rejoined.wait_frames("camera", 10)  # and the customer's reaches the new page
            await rejoined.close()
        finally:
            await them.close()
            await us.close()
            await again.close()
        record = await customer_record(server, call_id)
        kinds = [e["kind"] for e in record["events"]]
        assert kinds.count("joined") == 2 and "reconnecting" in kinds and "reconnected" in kinds
        gap = next(e for e in record["events"] if e["kind"] == "reconnected")["detail"]["gap_ms"]
        assert 0 < gap < 10_000


async def test_dropped_media_path_is_seen_by_the_relay_and_rejoined(server: Server) -> None:
    async with chat_pair(server) as (customer, agent):
        call_id = await ring_and_accept(agent, customer, customer.chat_id)
        them = CallPeer(customer, call_id, {"camera": StampedVideoTrack(**SMALL)})
        us = CallPeer(agent, call_id)
        try:
            await asyncio.gather(them.join(), us.join())
            await us.wait_frames("camera", 5)
            await them.drop()  # the peer connection closes; the socket stays
            update = await agent.next("call.updated", where=link_of("customer", "reconnecting"))
            assert update["state"] == "active"
            us.reset_received("camera")
            # A fresh source: aiortc cancels a closed sender's pending recv() on the track.
            them.tracks["camera"] = StampedVideoTrack(**SMALL)
            await them.join()
            await agent.next("call.updated", where=link_of("customer", "connected"))
            await us.wait_frames("camera", 5)
        finally:
            await them.close()
            await us.close()


async def test_participant_who_does_not_return_ends_the_call_as_network_lost(
    server: Server,
) -> None:
    server.runtime.config.calls.reconnect_seconds = 1.0
    async with chat_pair(server) as (customer, agent):
        call_id = await ring_and_accept(customer, agent, customer.chat_id, "audio")
        them, us = CallPeer(customer, call_id), CallPeer(agent, call_id)
        try:
            await asyncio.gather(them.join(), us.join())
            await them.drop()
            await customer.sio.disconnect()
            ended = await agent.next("call.updated", where=lambda c: c["state"] == "ended")
            assert ended["end_reason"] == "network_lost" and ended["ended_by"] is None
        finally:
            await them.close()
            await us.close()


async def test_killed_relay_worker_is_replaced_and_its_call_moves_within_5_s(
    tmp_path: Path,
) -> None:
    """kill -9 of the worker hosting a video call: both participants are told at once, the
    call moves to the other worker (a new relay_session), both rejoin and media flows both
    ways again within 5 s; the dead worker is replaced, and /healthz is degraded until then."""
    srv, runner = await start_server(tmp_path / "d", relay={"workers": 2, "preload": True})
    try:
        async with chat_pair(srv) as (customer, agent):
            call_id = await ring_and_accept(customer, agent, customer.chat_id)
            them = CallPeer(customer, call_id, {"camera": StampedVideoTrack(**SMALL)})
            us = CallPeer(agent, call_id, {"camera": StampedVideoTrack(**SMALL)})
            try:
                await asyncio.gather(them.join(), us.join())
                await asyncio.gather(them.wait_frames("camera", 5), us.wait_frames("camera", 5))
                pool = srv.runtime.relay.pool
                assert pool is not None
                live = srv.runtime.calls.live[call_id]
                doomed = next(w for w in pool.workers if w.worker_id == live.relay_worker)
                assert doomed.pid is not None
                killed_at = asyncio.get_running_loop().time()
                os.kill(doomed.pid, signal.SIGKILL)
                health = await customer.rest("GET", "/healthz", expect=503)
                assert health["components"]["relay"]["workers_alive"] == 1

                moves = await asyncio.gather(
                    rejoin_after_move(them, customer), rejoin_after_move(us, agent)
                )
                took = asyncio.get_running_loop().time() - killed_at
                assert all(moved["relay_worker"] != doomed.worker_id for moved in moves)
                assert took < 5.0, f"media back after {took:.1f} s"
                async with asyncio.timeout(20):
                    while not all(w.alive for w in pool.workers):  # noqa: ASYNC110
                        await asyncio.sleep(0.1)
                assert doomed not in pool.workers
                health = await customer.rest("GET", "/healthz")
                assert health["components"]["relay"]["restarts"] == 1
                state = await agent.request("call.get", {"call_id": call_id})
                assert state["state"] == "active" and state["relay_session"] == 2
            finally:
                await them.close()
                await us.close()
        record = await customer_record(srv, call_id)
        kinds = [e["kind"] for e in record["events"]]
        assert kinds.index("relay_lost") < kinds.index("relay_moved") < len(kinds)
        assert kinds.count("joined") == 4
        # Recorded (the default policy): the recording goes on in the new room, marked.
        assert kinds.index("recording_started") < kinds.index("recording_interrupted")
        assert kinds.index("relay_moved") <= kinds.index("recording_interrupted")
    finally:
        await runner.cleanup()


async def test_call_ends_as_relay_lost_when_no_worker_takes_it_in_time(tmp_path: Path) -> None:
    srv, runner = await start_server(
        tmp_path / "d", relay={"workers": 1, "preload": True}, calls={"reconnect_seconds": 0.3}
    )
    try:
        async with chat_pair(srv) as (customer, agent):
            call_id = await ring_and_accept(customer, agent, customer.chat_id, "audio")
            them, us = CallPeer(customer, call_id), CallPeer(agent, call_id)
            try:
                await asyncio.gather(them.join(), us.join())
                pool = srv.runtime.relay.pool
                assert pool is not None
                pool.workers[0].kill()
                ended = await customer.next("call.updated", where=lambda c: c["state"] == "ended")
                assert ended["end_reason"] == "relay_lost"
                assert ended["end_reason_text"] == "Media relay lost"
                line = await customer.next("message", where=lambda m: "call" in m["text"])
                assert "Media relay lost" in line["text"]
            finally:
                await them.close()
                await us.close()
    finally:
        await runner.cleanup()


async def test_nothing_leaks_after_many_calls(server: Server) -> None:
    """19 calls, 3 at a time (the agent's chat capacity), each with camera frames flowing,
    then hung up: the worker is back to no rooms and no peer connections, and its tasks
    and file descriptors are where they were after the first call (aiortc warms up once)."""

    async def one_call() -> None:
        async with chat_pair(server) as (customer, agent):
            call_id = await ring_and_accept(customer, agent, customer.chat_id)
            tracks = {"camera": StampedVideoTrack(160 * 2, 120 * 2, 10)}
            them, us = CallPeer(customer, call_id, tracks), CallPeer(agent, call_id)
            try:
                await asyncio.gather(them.join(), us.join())
                await us.wait_frames("camera", 3)
                await agent.request("call.hangup", {"call_id": call_id})
            finally:
                await them.close()
                await us.close()

    await one_call()
    await asyncio.sleep(0.5)
    pool = server.runtime.relay.pool
    assert pool is not None
    baseline = await pool.workers[0].stats()
    for _round in range(6):
        await asyncio.gather(*(one_call() for _ in range(3)))
    await asyncio.sleep(1.0)
    after = await pool.workers[0].stats()
    assert after.rooms == 0 and after.participants == 0 and after.peer_connections == 0
    assert after.recordings == 0  # every call was recorded (the default policy)
    assert after.threads <= baseline.threads, (baseline, after)  # no recording writer left
    assert after.tasks <= baseline.tasks, (baseline, after)
    assert after.open_files <= baseline.open_files, (baseline, after)
    assert after.rss_bytes < baseline.rss_bytes + 64 * 1024 * 1024, (baseline, after)
    assert server.runtime.calls.live == {}
    assert os.getpid() != after.pid  # the media really ran in the worker process


async def customer_record(server: Server, call_id: int) -> dict:  # type: ignore[type-arg]
    admin = await server.staff("admin@demo.local")
    try:
        return dict(await admin.rest("GET", f"/api/calls/{call_id}"))
    finally:
        await admin.close()


async def test_media_that_stops_reaching_the_relay_is_shown_as_stalled(server: Server) -> None:
    """A participant whose camera stops arriving while it says it sends it (a flood, a
    broken uplink) is shown `stalled` to both sides, and recovered when packets return;
    turning the camera off on purpose is not reported."""
    async with chat_pair(server) as (customer, agent):
        call_id = await ring_and_accept(customer, agent, customer.chat_id)
        them = CallPeer(customer, call_id, {"camera": StampedVideoTrack(**SMALL)})
        us = CallPeer(agent, call_id)
        try:
            await asyncio.gather(them.join(), us.join())
            await us.wait_frames("camera", 5)
            # Packets stop, the flags still say "camera on".
            them.transceivers["camera"].sender.replaceTrack(None)
            stalled = await agent.next(
                "call.updated",
                where=lambda c: c["participants"]["customer"]["stalled"] == ["camera"],
                timeout=12,
            )
            assert stalled["participants"]["customer"]["camera"] is True
            them.transceivers["camera"].sender.replaceTrack(StampedVideoTrack(**SMALL))
            await agent.next(
                "call.updated",
                where=lambda c: c["participants"]["customer"]["stalled"] == [],
                timeout=12,
            )
            # Off on purpose: the flags say so, and nothing is stalled.
            await them.set_track("camera", None)
            await asyncio.sleep(5)
            state = await agent.request("call.get", {"call_id": call_id})
            assert state["participants"]["customer"]["stalled"] == []
        finally:
            await them.close()
            await us.close()
        record = await customer_record(server, call_id)
        kinds = [e["kind"] for e in record["events"]]
        assert kinds.count("media_stalled") == 1 and kinds.count("media_resumed") == 1
        stall = next(e for e in record["events"] if e["kind"] == "media_stalled")
        assert stall["actor"] == "customer" and stall["detail"] == {"role": "camera"}
