"""A UDP flood at a relay port: the call through a real worker process keeps its media and
video is back within a second of the flood's end (issue 8, defect 4)."""

from __future__ import annotations

import asyncio
import multiprocessing
import socket

from aiortc import RTCConfiguration

from loadtest.relay_peer import NO_STUN, RelayPeer, join_pair, join_room_pair, relay_address, until
from loadtest.udp_flood import Flood
from relay.control.pool import RelayPool
from relay.interface import CloseReason, ParticipantId, ParticipantLink, RoomId
from relay.rtc.room import Room

ROOM = RoomId("call-flood")
FLOOD_SECONDS = 3.0


def first_after(times: list[float], moment: float) -> float | None:
    return next((t - moment for t in times if t >= moment), None)


async def test_video_resumes_within_a_second_of_a_flood_and_the_call_is_never_torn_down() -> None:
    pool = RelayPool(workers=1, capacity=4)
    links: list[ParticipantLink] = []
    pool.add_participant_listener(links.append)
    alice, bob = RelayPeer(), RelayPeer()
    loop = asyncio.get_running_loop()
    try:
        await pool.start()
        await pool.open_room(ROOM)
        await join_pair(pool, ROOM, alice, bob, frames=10, timeout=15)

        # Garbage from another socket at the port Alice's media comes in on.
        flood = Flood(*relay_address(alice), FLOOD_SECONDS)
        flood.start()
        sent = await flood.wait()
        ended = loop.time()
        rate = sent / FLOOD_SECONDS
        await asyncio.sleep(1.5)

        assert bob.frame_times is not None and alice.frame_times is not None
        uplink = first_after(bob.frame_times["camera"], ended)  # Alice's camera, to Bob
        downlink = first_after(alice.frame_times["camera"], ended)
        assert uplink is not None and uplink < 1.0, (uplink, f"{rate:,.0f} datagrams/s")
        assert downlink is not None and downlink < 1.0, (downlink, f"{rate:,.0f} datagrams/s")
        await bob.frames_grow("camera", 10, timeout=5)

        # Never torn down: no state change reported after connecting, both still connected.
        assert sorted(link.state for link in links) == ["connected"] * 2 + ["connecting"] * 2
        assert alice.connected and bob.connected
        (worker,) = (await pool.stats()).workers
        assert worker.peer_connections == 2
        # The garbage was dropped at the socket callback, counted.
        assert worker.dropped["foreign"] > sent / 100, (worker.dropped, sent)
        print(
            f"flood: {sent:,} datagrams in {FLOOD_SECONDS} s ({rate:,.0f}/s); "
            f"video back after {uplink:.2f} s / {downlink:.2f} s; dropped {worker.dropped}"
        )
    finally:
        await alice.close()
        await bob.close()
        await pool.stop()
    assert not multiprocessing.active_children()


async def test_one_empty_datagram_from_anyone_does_not_end_a_participants_transport() -> None:
    """aiortc's receive loop reads data[0] of every queued datagram: an empty one used to
    end it (IndexError) — the DTLS transport closed, silently, and no RTCP was read again."""
    configuration = RTCConfiguration(iceServers=[], bundlePolicy=NO_STUN.bundlePolicy)
    room = Room(RoomId("call-empty"), configuration)
    alice, bob = RelayPeer(), RelayPeer()
    try:
        await join_room_pair(room, alice, bob)
        relay_side = room.participants[ParticipantId("alice")]
        dtls = relay_side.pc.getTransceivers()[0].receiver.transport
        host, port = relay_address(alice)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"", (host, port))
            await asyncio.sleep(0.3)
        assert dtls.state == "connected"
        assert room.drops.empty == 1
        # Its RTCP is still read: Bob's keyframe request reaches Alice through the relay.
        slot = next(s for s in room.participants[ParticipantId("bob")].slots if s.role == "camera")
        assert slot.subscription is not None
        before = slot.subscription.keyframe_requests
        assert bob.pc is not None
        receiver = next(t.receiver for t in bob.pc.getTransceivers() if t.mid == "1")
        await receiver._send_rtcp_pli(slot.transceiver.sender._ssrc)
        subscription = slot.subscription
        await until(lambda: subscription.keyframe_requests > before)
        await bob.frames_grow("camera", 5)
    finally:
        await room.close(CloseReason.CALL_ENDED)
        await alice.close()
        await bob.close()
