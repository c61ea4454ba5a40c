"""MediaFlow events: the relay says when a participant's media stops arriving and when it is
back, through a worker process and the pool's listener, with real aiortc peers."""

from __future__ import annotations

import asyncio
import multiprocessing

from aiortc import RTCConfiguration

from loadtest.relay_peer import NO_STUN, RelayPeer, join_room_pair, until
from relay.control.pool import RelayPool
from relay.interface import CloseReason, MediaFlow, ParticipantId, RoomId
from relay.rtc.media_flow import MediaFlowMonitor
from relay.rtc.room import Room

ROOM = RoomId("call-flow")
ALICE = ParticipantId("alice")
BOB = ParticipantId("bob")


async def test_stopping_and_resuming_a_camera_is_reported_through_the_pool() -> None:
    pool = RelayPool(workers=1, capacity=4)
    events: list[tuple[float, MediaFlow]] = []
    loop = asyncio.get_running_loop()
    pool.add_media_flow_listener(lambda event: events.append((loop.time(), event)))
    alice, bob = RelayPeer(), RelayPeer()

    def seen(who: ParticipantId, role: str, flowing: bool, after: float = 0.0) -> bool:
        return any(
            (e.participant_id, e.role, e.flowing) == (who, role, flowing) and at >= after
            for at, e in events
        )

    try:
        await pool.start()
        await pool.open_room(ROOM)
        for peer, name in ((alice, ALICE), (bob, BOB)):
            offer, tracks = await peer.offer()
            await peer.accept(await pool.join(ROOM, name, offer, tracks))
        try:
            await until(
                lambda: all(seen(p, r, True) for p in (ALICE, BOB) for r in ("audio", "camera")),
                15,
            )
        except TimeoutError:
            states = [p.pc.connectionState if p.pc else None for p in (alice, bob)]
            dropped = (await pool.stats()).workers[0].dropped
            raise AssertionError((events, states, dropped)) from None

        stopped = loop.time()
        alice.set_sending("camera", False)
        await until(lambda: seen(ALICE, "camera", False), 5)
        stop_took = next(at for at, e in events if not e.flowing) - stopped
        assert stop_took < 3.5, stop_took

        resumed = loop.time()
        alice.set_sending("camera", True)
        await until(lambda: seen(ALICE, "camera", True, after=resumed), 5)
        resume_took = next(at for at, e in events if e.flowing and at >= resumed) - resumed
        assert resume_took < 2.0, resume_took
        print(f"camera stop reported after {stop_took:.2f} s, resumption after {resume_took:.2f} s")
        await bob.frames_grow("camera", 5)

        # Nothing else stopped: one event per start, one stop and one resumption.
        assert sorted((str(e.participant_id), e.role, e.flowing) for _, e in events) == [
            ("alice", "audio", True),
            ("alice", "camera", False),
            ("alice", "camera", True),
            ("alice", "camera", True),
            ("bob", "audio", True),
            ("bob", "camera", True),
        ]
        assert all(e.room_id == ROOM for _, e in events)
    finally:
        await alice.close()
        await bob.close()
        await pool.stop()
    assert not multiprocessing.active_children()


async def test_a_rejoin_with_media_continuing_reports_nothing() -> None:
    configuration = RTCConfiguration(iceServers=[], bundlePolicy=NO_STUN.bundlePolicy)
    room = Room(ROOM, configuration)
    events: list[MediaFlow] = []
    monitor = MediaFlowMonitor(lambda: [room], events.append)
    alice, bob = RelayPeer(), RelayPeer()
    try:
        await join_room_pair(room, alice, bob)
        await bob.frames_grow("camera", 3)
        monitor.check()
        assert {(e.participant_id, e.role) for e in events if e.flowing} == {
            (p, r) for p in (ALICE, BOB) for r in ("audio", "camera")
        }
        events.clear()

        offer, tracks = await alice.offer()  # a reload: a fresh peer connection
        await alice.accept(await room.join(ALICE, offer, tracks, replace=True))
        await bob.frames_grow("camera", 3)
        for _ in range(3):
            monitor.check()
            await asyncio.sleep(0.3)
        assert events == []

        await room.leave(ALICE)  # a leave is news of its own, not a stop
        monitor.check()
        monitor.check()
        monitor.check()
        assert all(e.participant_id == BOB for e in events)
    finally:
        await room.close(CloseReason.CALL_ENDED)
        await alice.close()
        await bob.close()
