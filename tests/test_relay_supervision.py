"""A supervisor in a call's relay room, through a real worker process: it receives each
party's media on m-lines pinned to that party, and its voice reaches nobody (monitor), the
agent only (whisper) or both (barge) as set_audience says, switched live with nothing else
in the call disturbed. Real aiortc peers over loopback."""

from __future__ import annotations

import asyncio

from aiortc import AudioStreamTrack

from loadtest.relay_peer import RelayPeer, until
from loadtest.supervisor_peer import SupervisorPeer
from relay.control.pool import RelayPool
from relay.interface import BadOffer, ParticipantId, RoomId, UnknownParticipant

ROOM = RoomId("call-supervised")
CUSTOMER, AGENT, SUPERVISOR = (ParticipantId(p) for p in ("customer", "agent", "supervisor-7"))


async def heard(peer: RelayPeer, frames: int = 10) -> bool:
    """Whether `peer`'s voice m-line decodes `frames` more frames within 3 s."""
    try:
        await peer.frames_grow("voice", frames, timeout=3)
    except TimeoutError:
        return False
    return True


async def silent(peer: RelayPeer) -> bool:
    """Whether nothing arrives on `peer`'s voice m-line for a second (after 0.3 s to drain)."""
    await asyncio.sleep(0.3)
    before = peer.frames["voice"]
    try:
        await peer.frames_grow("voice", 60, timeout=1.3)
    except TimeoutError:
        return peer.frames["voice"] - before < 20  # a packet or two in flight at the switch
    return False


async def test_the_supervisor_s_voice_goes_only_where_the_mode_says() -> None:
    pool = RelayPool(workers=1, capacity=4)
    customer = RelayPeer(hears_voice=True)
    agent = RelayPeer(hears_voice=True)
    supervisor = SupervisorPeer(AudioStreamTrack())
    try:
        await pool.start()
        await pool.open_room(ROOM)
        for peer, name in ((customer, CUSTOMER), (agent, AGENT)):
            offer, tracks = await peer.offer()
            await peer.accept(await pool.join(ROOM, name, offer, tracks))
        offer, tracks, sources = await supervisor.offer()
        pinned = {mid: ParticipantId(party) for mid, party in sources.items()}
        answer = await pool.join(
            ROOM, SUPERVISOR, offer, tracks, sources=pinned, audience=(), recorded=False
        )
        await supervisor.accept(answer)
        await until(lambda: customer.connected and agent.connected and supervisor.connected)

        # Monitor: both parties' camera and audio reach the supervisor, each on its own m-line.
        for party in ("customer", "agent"):
            for role in ("camera", "audio"):
                await until(lambda p=party, r=role: supervisor.frames[(p, r)] >= 5, 10)
        assert await silent(customer) and await silent(agent)

        await pool.set_audience(ROOM, SUPERVISOR, [AGENT])  # whisper
        assert await heard(agent)
        assert await silent(customer)

        await pool.set_audience(ROOM, SUPERVISOR, None)  # barge
        assert await heard(customer) and await heard(agent)

        await pool.set_audience(ROOM, SUPERVISOR, [])  # back to monitoring
        assert await silent(customer) and await silent(agent)

        # The call itself went on throughout, and the supervisor still sees it.
        await customer.frames_grow("camera", 5)
        await agent.frames_grow("camera", 5)
        before = supervisor.frames[("customer", "camera")]
        await until(lambda: supervisor.frames[("customer", "camera")] > before + 5)
    finally:
        for peer in (customer, agent):
            await peer.close()
        await supervisor.close()
        await pool.stop()


async def test_audience_and_sources_are_checked_before_anything_changes() -> None:
    pool = RelayPool(workers=1, capacity=4)
    customer = RelayPeer(hears_voice=True)
    try:
        await pool.start()
        await pool.open_room(ROOM)
        offer, tracks = await customer.offer()
        await customer.accept(await pool.join(ROOM, CUSTOMER, offer, tracks))
        await until(lambda: customer.connected)
        try:
            await pool.set_audience(ROOM, SUPERVISOR, [AGENT])
        except UnknownParticipant as error:
            assert "supervisor-7" in error.detail
        else:
            raise AssertionError("set_audience of a participant not in the room")
        for bad in (["no spaces allowed"], ["x" * 200]):
            try:
                await pool.set_audience(ROOM, CUSTOMER, bad)
            except ValueError as error:
                assert "audience" in str(error)
            else:
                raise AssertionError(f"audience {bad!r} accepted")
        # A voice role on a video m-line is refused by the relay, the room unchanged.
        other = RelayPeer()
        offer, tracks = await other.offer()
        video_mid = next(mid for mid, role in tracks.items() if role == "camera")
        try:
            await pool.join(ROOM, AGENT, offer, {**tracks, video_mid: "voice"})
        except (BadOffer, ValueError) as error:
            assert "voice" in str(error)
        else:
            raise AssertionError("a voice role on a video m-line was accepted")
        finally:
            await other.close()
        assert customer.connected
        assert (await pool.stats()).workers[0].participants == 1
    finally:
        await customer.close()
        await pool.stop()
