"""A recording outlives its room: a rejoin starts new segments in the same room, and a call
that moves to another worker records into the same directory from the new room; the
converted files hold every segment in time order with the gaps between them."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from loadtest.recorded_call import AGENT, CAMERA, CUSTOMER, Sender
from loadtest.relay_peer import RelayPeer, until
from media.recording import manifest as manifest_file
from media.recording.convert import convert
from media.recording.decoded import video_frames
from media.recording.recover import recover
from media.stamps import read_stamp
from relay.control.pool import RelayPool
from relay.interface import CloseReason, RecordingState, RoomId

FIRST, SECOND = RoomId("call-9"), RoomId("call-9.2")


async def join(pool: RelayPool, room: RoomId, peers: dict[str, RelayPeer]) -> None:
    for name, peer in peers.items():
        offer, tracks = await peer.offer()  # a fresh peer connection each time
        await peer.accept(await pool.join(room, name, offer, tracks, replace=True))  # type: ignore[arg-type]
    await until(lambda: all(p.connected for p in peers.values()), 20)
    for peer in peers.values():
        await peer.frames_grow("camera", 3, 20)


async def test_rejoin_and_move_continue_the_recording_in_new_segments(tmp_path: Path) -> None:
    directory = tmp_path / "recording"
    senders = {CUSTOMER: Sender(), AGENT: Sender()}
    peers = {
        name: RelayPeer(sources={"camera": sender.sources(name)["camera"]}, audio=False)
        for name, sender in senders.items()
    }
    pool = RelayPool(workers=2, capacity=10)
    events: list[RecordingState] = []
    pool.add_recording_listener(events.append)
    try:
        await pool.start()
        first_worker = await pool.open_room(FIRST)
        await join(pool, FIRST, peers)
        await pool.start_recording(FIRST, "rec-9", str(directory))
        await asyncio.sleep(1.5)
        await join(pool, FIRST, {CUSTOMER: peers[CUSTOMER]})  # the customer reloads
        await asyncio.sleep(1.5)
        # The worker dies; the call moves to a room on the other worker, which records on
        # into the same directory.
        pool.workers[first_worker].kill()
        await until(lambda: any(e.state == "failed" for e in events), 10)
        second_worker = await pool.open_room(SECOND)
        assert second_worker != first_worker
        await asyncio.sleep(1.0)  # what the move costs: a gap
        await join(pool, SECOND, peers)
        await pool.start_recording(SECOND, "rec-9", str(directory))
        await asyncio.sleep(1.5)
        await pool.stop_recording(SECOND)
        await pool.close_room(SECOND, CloseReason.CALL_ENDED)
    finally:
        for peer in peers.values():
            await peer.close()
        await pool.stop()
    assert [(e.room_id, e.state, e.reason) for e in events] == [
        (FIRST, "recording", None),
        (FIRST, "failed", "relay_lost"),
        (SECOND, "recording", None),
        (SECOND, "stopped", None),
    ]
    report = recover(directory)
    assert report.interrupted_sessions == 1 and report.tracks == 5
    manifest = manifest_file.load(directory)
    assert [s.room_id for s in manifest.sessions] == [FIRST, SECOND]
    assert [s.state for s in manifest.sessions] == ["interrupted", "complete"]
    segments = sorted((t.participant, t.segment, t.session) for t in manifest.tracks)
    assert segments == [
        (AGENT, 1, 0),
        (AGENT, 2, 1),
        (CUSTOMER, 1, 0),
        (CUSTOMER, 2, 0),
        (CUSTOMER, 3, 1),
    ]
    outputs = {o.participant: o for o in convert(directory, tmp_path / "out")}
    assert set(outputs) == {CUSTOMER, AGENT}
    for name, output in outputs.items():
        frames = [(t, read_stamp(f)) for t, f in video_frames(output.path)]
        assert all(stamp is not None for _t, stamp in frames)
        times = [t for t, _stamp in frames]
        assert times == sorted(times)
        gaps = sorted(b - a for a, b in itertools.pairwise(times))
        # The move left a gap of at least the second between the rooms; frames at 15 fps
        # otherwise (a new track's stamps start again from 0 at each rejoin).
        assert gaps[-1] >= 1.0, (name, gaps[-3:])
        assert sorted(gaps)[len(gaps) // 2] <= 1.5 / CAMERA.fps
