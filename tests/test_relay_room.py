"""A Room in-process with real aiortc clients on loopback: joins, refused rejoins, rejoins."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiortc import RTCConfiguration

from loadtest.relay_peer import NO_STUN, RelayPeer, until
from relay.interface import BadOffer, CloseReason, ParticipantId, RoomId
from relay.rtc.room import Room

ALICE = ParticipantId("alice")
BOB = ParticipantId("bob")


@pytest.fixture
async def room() -> AsyncIterator[Room]:
    configuration = RTCConfiguration(iceServers=[], bundlePolicy=NO_STUN.bundlePolicy)
    opened = Room(RoomId("call-1"), configuration)
    try:
        yield opened
    finally:
        await opened.close(CloseReason.CALL_ENDED)


async def join(room: Room, client: RelayPeer, who: ParticipantId, *, replace: bool = False) -> None:
    offer, tracks = await client.offer()
    await client.accept(await room.join(who, offer, tracks, replace=replace))


async def both_ways(alice: RelayPeer, bob: RelayPeer) -> None:
    """Camera frames and audio keep arriving in both directions."""
    for client in (alice, bob):
        await client.frames_grow("camera", 3)
        await client.frames_grow("audio", 10)


@pytest.mark.parametrize("bad", ["codec_nobody_receives", "role_mismatch"])
async def test_a_refused_rejoin_leaves_the_working_peer_connection_forwarding(
    room: Room, bad: str
) -> None:
    alice, bob = RelayPeer(), RelayPeer()
    tab = RelayPeer(video_codecs=("H264",))  # another tab of Alice's, or a buggy client
    try:
        await join(room, alice, ALICE)
        await join(room, bob, BOB)
        await until(lambda: alice.connected and bob.connected)
        await both_ways(alice, bob)
        before = room.participants[ALICE]

        offer, tracks = await tab.offer()
        if bad == "role_mismatch":
            audio_mid = next(mid for mid, role in tracks.items() if role == "audio")
            tracks[audio_mid] = "camera"
            match = "not camera"
        else:
            match = "H264"  # Bob's camera m-line takes VP8 only
        with pytest.raises(BadOffer, match=match):
            await room.join(ALICE, offer, tracks, replace=True)
        await tab.close()

        # Nothing changed: the same peer connection, media in both directions.
        assert room.participants[ALICE] is before and not before.closed
        assert alice.connected and bob.connected
        await both_ways(alice, bob)

        # A good rejoin still replaces it, and media flows through the new one.
        await join(room, alice, ALICE, replace=True)
        assert room.participants[ALICE] is not before and before.closed
        await until(lambda: alice.connected)
        await both_ways(alice, bob)
        assert len(room.participants) == 2 and room.peer_connections == 2
    finally:
        for client in (alice, bob, tab):
            await client.close()
