"""RelayControl, embedded: real aiortc clients on loopback, relay rooms in worker processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable

import pytest
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
    VideoStreamTrack,
)
from av import VideoFrame

from relay.control import wire
from relay.control.pool import RelayPool
from relay.interface import (
    BadOffer,
    CloseReason,
    CloseRoom,
    EventLoopKind,
    Join,
    ParticipantId,
    RelayControl,
    RelayLost,
    RoomClosed,
    RoomId,
    UnknownParticipant,
    UnknownRoom,
)

NO_STUN = RTCConfiguration(iceServers=[])
ROOM = RoomId("call-1")
ALICE = ParticipantId("alice")
BOB = ParticipantId("bob")


def prefer_vp8(transceiver: RTCRtpTransceiver) -> None:
    codecs = RTCRtpSender.getCapabilities("video").codecs
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType in ("video/VP8", "video/rtx")])


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def join(
    relay: RelayControl, client: RTCPeerConnection, participant_id: ParticipantId
) -> None:
    await client.setLocalDescription(await client.createOffer())
    answer = await relay.join(ROOM, participant_id, client.localDescription.sdp)
    await client.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))


def test_messages_validate_on_construction_and_round_trip() -> None:
    with pytest.raises(ValueError, match="room_id"):
        Join(RoomId(""), ALICE, "v=0\r\n")
    with pytest.raises(ValueError, match="participant_id"):
        Join(ROOM, ParticipantId("a b"), "v=0\r\n")
    with pytest.raises(ValueError, match="offer_sdp"):
        Join(ROOM, ALICE, "hello")
    with pytest.raises(ValueError, match="reason"):
        CloseRoom(ROOM, "call_ended")  # type: ignore[arg-type]
    command = CloseRoom(ROOM, CloseReason.RELAY_LOST)
    assert wire.command_args(command) == {"room_id": "call-1", "reason": "relay_lost"}
    assert wire.parse_command("close_room", wire.command_args(command)) == command
    with pytest.raises(ValueError):
        wire.parse_command("close_room", {"room_id": "call-1", "reason": "bored"})
    error = wire.error_from_reply(wire.error_reply(3, UnknownRoom("no room x")))
    assert isinstance(error, UnknownRoom) and error.code == "unknown_room"


@pytest.mark.parametrize(("publisher_first", "event_loop"), [(True, "uvloop"), (False, "asyncio")])
async def test_two_clients_through_a_worker_process_then_everything_is_freed(
    publisher_first: bool, event_loop: EventLoopKind
) -> None:
    pool = RelayPool(workers=2, capacity=4, event_loop=event_loop)
    alice = RTCPeerConnection(NO_STUN)
    bob = RTCPeerConnection(NO_STUN)
    closed: list[RoomClosed] = []
    pool.add_room_closed_listener(closed.append)
    try:
        await pool.start()
        stats = await pool.stats()
        pids = {w.pid for w in stats.workers}
        assert len(pids) == 2 and os.getpid() not in pids and stats.capacity == 8
        assert [w.event_loop for w in pool.workers] == [event_loop] * 2  # what each runs
        await pool.open_room(ROOM)
        # The least-loaded worker takes the next room.
        await pool.open_room(RoomId("call-2"))
        assert sorted(w.rooms for w in (await pool.stats()).workers) == [1, 1]
        await pool.close_room(RoomId("call-2"), CloseReason.CALL_ENDED)

        # Alice sends video and can receive; Bob only receives.
        prefer_vp8(alice.addTransceiver(VideoStreamTrack(), direction="sendonly"))
        prefer_vp8(alice.addTransceiver("video", direction="recvonly"))
        prefer_vp8(bob.addTransceiver("video", direction="recvonly"))
        tracks: list[object] = []
        bob.on("track", tracks.append)
        with pytest.raises(BadOffer):
            await pool.join(ROOM, ParticipantId("mallory"), "v=0\r\nm=nonsense\r\n")
        for client, participant_id in [(alice, ALICE), (bob, BOB)][:: 1 if publisher_first else -1]:
            await join(pool, client, participant_id)
        await until(lambda: alice.connectionState == bob.connectionState == "connected")
        await until(lambda: bool(tracks))
        for _ in range(5):
            frame = await asyncio.wait_for(tracks[0].recv(), 5)  # type: ignore[attr-defined]
            assert isinstance(frame, VideoFrame)
            assert (frame.width, frame.height) == (640, 480)

        worker = next(w for w in (await pool.stats()).workers if w.rooms)
        assert (worker.rooms, worker.participants, worker.peer_connections) == (1, 2, 2)

        await pool.leave(ROOM, ALICE)
        with pytest.raises(UnknownParticipant):
            await pool.leave(ROOM, ALICE)
        stats = await pool.stats()
        assert (stats.rooms, stats.peer_connections) == (1, 1)
        await pool.close_room(ROOM, CloseReason.CALL_ENDED)
        stats = await pool.stats()
        assert all(w.alive for w in stats.workers)
        assert (stats.rooms, stats.peer_connections) == (0, 0)
        assert sum(w.participants for w in stats.workers) == 0
        assert closed == [
            RoomClosed(RoomId("call-2"), CloseReason.CALL_ENDED),
            RoomClosed(ROOM, CloseReason.CALL_ENDED),
        ]
        with pytest.raises(UnknownRoom):
            await pool.join(ROOM, BOB, "v=0\r\n")
    finally:
        await alice.close()
        await bob.close()
        await pool.stop()
    assert all(not w.alive for w in pool.workers)
    assert not multiprocessing.active_children()


async def test_a_crashed_worker_ends_its_rooms_with_relay_lost() -> None:
    pool = RelayPool(workers=1, capacity=2)
    lost = asyncio.Event()
    closed: list[RoomClosed] = []

    def on_closed(event: RoomClosed) -> None:
        closed.append(event)
        lost.set()

    pool.add_room_closed_listener(on_closed)
    try:
        await pool.start()
        await pool.open_room(ROOM)
        pool.workers[0].kill()
        await asyncio.wait_for(lost.wait(), 10)
        assert closed == [RoomClosed(ROOM, CloseReason.RELAY_LOST)]
        stats = await pool.stats()
        assert [w.alive for w in stats.workers] == [False] and stats.capacity == 0
        with pytest.raises(UnknownRoom):
            await pool.leave(ROOM, ALICE)
        with pytest.raises(RelayLost):
            await pool.open_room(RoomId("call-2"))
    finally:
        await pool.stop()
    assert not multiprocessing.active_children()


async def test_a_dead_worker_reaped_twice_at_once_is_reaped_once() -> None:
    """The restart and a stop may both reap a worker that died: the second must not touch
    the closed process (seen: ValueError "process object is closed" in the restart task)."""
    pool = RelayPool(workers=1, capacity=2)
    try:
        await pool.start()
        worker = pool.workers[0]
        worker.kill()
        codes = await asyncio.gather(worker.reap(), worker.reap(), worker.reap())
        assert len(set(codes)) == 1 and codes[0] is not None and codes[0] < 0
    finally:
        await pool.stop()
    assert not multiprocessing.active_children()


async def test_stop_closes_open_rooms_and_peer_connections_and_workers_exit_cleanly() -> None:
    pool = RelayPool(workers=1, capacity=2)
    bob = RTCPeerConnection(NO_STUN)
    closed: list[RoomClosed] = []
    pool.add_room_closed_listener(closed.append)
    try:
        await pool.start()
        await pool.open_room(ROOM)
        prefer_vp8(bob.addTransceiver(VideoStreamTrack(), direction="sendrecv"))
        await join(pool, bob, BOB)
        await until(lambda: bob.connectionState == "connected")
        assert (await pool.stats()).peer_connections == 1
        await pool.stop()
        assert closed == [RoomClosed(ROOM, CloseReason.RELAY_SHUTDOWN)]
        assert [w.exitcode for w in pool.workers] == [0]
        # The relay closed its side: the client sees the connection end.
        await until(lambda: bob.connectionState in ("closed", "failed", "disconnected"), 15)
    finally:
        await bob.close()
        await pool.stop()
    assert not multiprocessing.active_children()


async def test_a_receive_slot_carries_on_with_the_next_publisher_after_one_leaves() -> None:
    """Agent reconnects: each new publisher's video reaches the same subscriber m-line."""
    pool = RelayPool(workers=1, capacity=4)
    bob = RTCPeerConnection(NO_STUN)
    clients = [bob]
    try:
        await pool.start()
        await pool.open_room(ROOM)
        prefer_vp8(bob.addTransceiver("video", direction="recvonly"))
        tracks: list[object] = []
        bob.on("track", tracks.append)
        await join(pool, bob, BOB)
        for n in range(3):
            publisher = RTCPeerConnection(NO_STUN)
            clients.append(publisher)
            prefer_vp8(publisher.addTransceiver(VideoStreamTrack(), direction="sendonly"))
            await join(pool, publisher, ParticipantId(f"agent-{n}"))
            for _ in range(3):
                frame = await asyncio.wait_for(tracks[0].recv(), 5)  # type: ignore[attr-defined]
                assert isinstance(frame, VideoFrame)
            await pool.leave(ROOM, ParticipantId(f"agent-{n}"))
            await publisher.close()
        assert len(tracks) == 1
        await pool.close_room(ROOM, CloseReason.CALL_ENDED)
        assert (await pool.stats()).peer_connections == 0
    finally:
        for client in clients:
            await client.close()
        await pool.stop()
    assert not multiprocessing.active_children()


def padded_offer(sdp: str, size: int) -> str:
    """A valid offer grown to `size` characters with session attributes aiortc ignores."""
    head, rest = sdp.split("t=0 0\r\n", 1)
    pad_line = "a=x-pad:" + "y" * 90 + "\r\n"
    missing = size - len(sdp)
    padding = pad_line * (missing // len(pad_line))
    padding += "a=x-p:" + "z" * (size - len(sdp) - len(padding) - 8) + "\r\n"
    offer = head + "t=0 0\r\n" + padding + rest
    assert len(offer) == size, len(offer)
    return offer


async def test_100_joins_with_offers_at_the_size_limit_kill_no_worker() -> None:
    """A join whose offer was padded to just under call.join's 60,000 characters made a
    uvloop worker exit about 1 time in 4: its pipe read came back half-done."""
    pool = RelayPool(workers=2, capacity=200, event_loop="uvloop")
    client = RTCPeerConnection(NO_STUN)
    try:
        await pool.start()
        pids = {w.pid for w in pool.workers}
        client.addTransceiver("audio")
        client.addTransceiver("video")
        await client.setLocalDescription(await client.createOffer())
        rooms = [RoomId("big-1"), RoomId("big-2")]
        for room in rooms:
            await pool.open_room(room)
        for i in range(100):
            size = 60_000 if i % 2 else 45_000 + 150 * i
            room = rooms[i % 2]
            offer = padded_offer(client.localDescription.sdp, size)
            answer = await pool.join(room, ParticipantId(f"p{i}"), offer)
            assert answer.startswith("v=0")
            await pool.leave(room, ParticipantId(f"p{i}"))
        assert all(w.alive for w in pool.workers)
        assert {w.pid for w in pool.workers} == pids  # the same processes: none died
        assert all(r.restarts == 0 for r in pool.restarts.values())
    finally:
        await client.close()
        await pool.stop()
