"""What a recording survives: a killed worker, a full or unusable directory (the call goes
on), and packets that arrive reordered, twice or repaired (recorded once, in order)."""

from __future__ import annotations

import asyncio
import fractions
import random
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from aiortc.codecs import get_encoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from loadtest.recorded_call import CUSTOMER, ROOM, RecordedCall, recorded_call, started_ms
from loadtest.relay_peer import RelayPeer
from media.recording import manifest as manifest_file
from media.recording.convert import convert
from media.recording.decoded import video_frames
from media.recording.manifest import Manifest, Session, TrackEntry
from media.recording.rawfile import RecordType, SenderReport, file_header, read_track, record
from media.recording.recover import recover
from media.stamps import read_stamp, stamp_frame
from relay.control import wire
from relay.control.pool import RelayPool
from relay.interface import (
    PauseRecording,
    RecordingFailed,
    RecordingState,
    ResumeRecording,
    StartRecording,
    StopRecording,
)
from relay.packet.recording_writer import DiskWriter


def test_a_worker_killed_mid_call_leaves_a_recording_recover_and_convert_make_playable(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "recording"

    async def kill_the_worker(
        pool: RelayPool, _customer: RelayPeer, _agent: RelayPeer, call: RecordedCall
    ) -> None:
        await asyncio.sleep(4.0)
        call.stopped_at = time.time()
        pool.workers[0].kill()
        await asyncio.sleep(1.0)  # the pool notices

    call = asyncio.run(recorded_call(directory, kill_the_worker, stop=False))
    assert [e.state for e in call.events] == ["recording", "failed"]
    assert call.events[-1].reason == "relay_lost"
    before = manifest_file.load(directory)
    assert before.stopped_at_us is None and len(before.tracks) == 6
    report = recover(directory)
    assert report.tracks == 6 and report.interrupted_sessions == 1
    assert report.last_record_at_us is not None
    # What was written reaches to within ~2 s of the kill (flushed once a second).
    assert call.stopped_at - report.last_record_at_us / 1e6 <= 2.0
    assert recover(directory).truncated == {}  # idempotent: nothing more to do
    after = manifest_file.load(directory)
    assert after.recovered and after.sessions[0].state == "interrupted"
    outputs = convert(directory, tmp_path / "out")
    assert len(outputs) == 6
    base = started_ms(directory)
    for output in outputs:
        end_ms = base + output.start_offset_ms + output.duration_ms
        assert call.stopped_at * 1000 - end_ms <= 2500, (output, call.stopped_at)
        if output.role != "audio":
            numbers = [read_stamp(f) for _t, f in video_frames(output.path)]
            assert all(n is not None for n in numbers)


def test_a_torn_last_record_is_cut_and_the_rest_reads(tmp_path: Path) -> None:
    directory = tmp_path / "recording"
    directory.mkdir()
    path = directory / "customer.audio.001.rtprec"
    meta = {"participant": "customer", "role": "audio", "segment": 1, "kind": "audio"}
    meta |= {"mime_type": "audio/opus", "started_at_us": 1000}
    body = file_header(meta) + b"".join(
        record(RecordType.RTP, 1000 + i, bytes(30)) for i in range(5)
    )
    path.write_bytes(body + record(RecordType.RTP, 2000, bytes(30))[:20])
    track = read_track(path)
    assert len(track.records) == 5 and track.torn and not track.ended
    assert track.valid_length == len(body)
    manifest_file.write_atomically(directory, manifest_file.encode(Manifest("rec-1", 900)))
    report = recover(directory)
    assert report.truncated == {path.name: 20} and report.added == [path.name]
    assert path.stat().st_size == len(body) and not read_track(path).torn


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Path:
    """A 384 KiB tmpfs (root only: CI and this project's machines run tests as root)."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=384k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_fails_the_recording_not_the_call(small_filesystem: Path) -> None:
    directory = small_filesystem / "recording"

    async def fill_the_disk(
        pool: RelayPool, customer: RelayPeer, agent: RelayPeer, call: RecordedCall
    ) -> None:
        async with asyncio.timeout(30):
            while not any(e.state == "failed" for e in call.events):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        # Media keeps flowing both ways after the recording gave up.
        for peer in (customer, agent):
            await peer.frames_grow("camera", 10, 10)
            await peer.frames_grow("audio", 25, 10)

    call = asyncio.run(recorded_call(directory, fill_the_disk))
    failed = next(e for e in call.events if e.state == "failed")
    assert failed.reason is not None and "No space left on device" in failed.reason
    assert call.summary is not None and call.summary.outcome == "failed"
    assert call.summary.dropped_bytes > 0 and call.summary.bytes > 0
    assert call.events[-1].state == "stopped" and call.events[-1].reason == failed.reason
    # What did reach the disk is still a recording (once there is room to finish it).
    copy = small_filesystem.parent / "copy"
    shutil.copytree(directory, copy)
    assert recover(copy).tracks >= 1
    assert convert(copy, small_filesystem.parent / "out")


async def test_a_directory_that_cannot_be_made_is_refused_and_the_call_goes_on(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    pool = RelayPool(workers=1, capacity=4)
    events: list[RecordingState] = []
    pool.add_recording_listener(events.append)
    peer = RelayPeer()
    try:
        await pool.start()
        await pool.open_room(ROOM)
        offer, tracks = await peer.offer()
        await peer.accept(await pool.join(ROOM, CUSTOMER, offer, tracks))
        with pytest.raises(RecordingFailed, match="Not a directory") as refused:
            await pool.start_recording(ROOM, "rec-1", str(blocker / "recording"))
        assert refused.value.code == "recording_failed"
        with pytest.raises(ValueError, match="absolute"):
            await pool.start_recording(ROOM, "rec-1", "relative/dir")
        # The room still works, and can record somewhere else.
        await pool.start_recording(ROOM, "rec-1", str(tmp_path / "ok"))
        await pool.start_recording(ROOM, "rec-1", str(tmp_path / "ok"))  # again: no-op
        with pytest.raises(RecordingFailed, match="records rec-1"):
            await pool.start_recording(ROOM, "rec-2", str(tmp_path / "other"))
        summary = await pool.stop_recording(ROOM)
        assert await pool.stop_recording(ROOM) == summary  # again: the same summary
        assert (await pool.stats()).workers[0].recordings == 0
    finally:
        await peer.close()
        await pool.stop()
    assert [e.state for e in events] == ["recording", "stopped"]


def _vp8_packets(count: int) -> list[bytes]:
    """`count` stamped 640x480 frames, VP8-encoded and packetized as aiortc sends them."""
    codec = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=96)
    encoder = get_encoder(codec)
    packets: list[bytes] = []
    seq = 65_000  # wraps past 65,535 on the way
    for number in range(count):
        frame = stamp_frame(number, 1_000_000 + number * 100, 640, 480)
        frame.pts = number * 9000
        frame.time_base = fractions.Fraction(1, 90_000)
        payloads, timestamp = encoder.encode(frame, force_keyframe=number == 0)
        for i, payload in enumerate(payloads):
            packet = RtpPacket(payload_type=96, sequence_number=seq & 0xFFFF, timestamp=timestamp)
            packet.ssrc = 1234
            packet.marker = int(i == len(payloads) - 1)
            packet.payload = payload
            packets.append(packet.serialize())
            seq += 1
    return packets


def test_reordered_duplicated_and_repaired_packets_are_recorded_once_in_order(
    tmp_path: Path,
) -> None:
    """The relay records packets as they come (a NACK repair arrives late, an RTX copy
    twice); the converter plays each once, in sequence order."""
    packets = _vp8_packets(20)
    rng = random.Random(7)
    arrivals = list(enumerate(packets))
    rng.shuffle(arrivals[5:])  # reordered after the first keyframe's packets
    assert len(arrivals) > 20
    repaired = [arrivals.pop(8), arrivals.pop(len(arrivals) - 4)]  # lost, repaired later
    arrivals += repaired
    arrivals += [arrivals[3], arrivals[12], arrivals[12]]  # duplicates (RTX copies)
    directory = tmp_path / "recording"
    directory.mkdir()
    start_us = 1_000_000_000_000
    report = SenderReport(1234, ((start_us // 1_000_000 + 2_208_988_800) << 32), 0, 0, 0)
    body = bytearray(
        file_header(
            {
                "participant": "customer",
                "role": "camera",
                "kind": "video",
                "mime_type": "video/VP8",
                "clock_rate": 90_000,
            }
        )
    )
    body += record(RecordType.SENDER_REPORT, start_us, report.pack())
    for i, (_index, packet) in enumerate(arrivals):
        body += record(RecordType.RTP, start_us + 10_000 + i * 5_000, packet)
    (directory / "customer.camera.001.rtprec").write_bytes(bytes(body))
    manifest = Manifest("rec-1", start_us, [Session("call-1", 1, start_us)])
    manifest.tracks.append(
        TrackEntry(
            "customer.camera.001.rtprec", "customer", "camera", 1, "video", "video/VP8", 0, start_us
        )
    )
    manifest_file.write_atomically(directory, manifest_file.encode(manifest))
    (output,) = convert(directory, tmp_path / "out")
    frames = list(video_frames(output.path))
    numbers = [stamp.number for _t, f in frames if (stamp := read_stamp(f)) is not None]
    assert numbers == list(range(20))
    times = [t for t, _f in frames]
    assert times == sorted(times) and abs(times[-1] - 19 * 0.1) < 0.002  # RTP time, not arrival


async def test_a_disk_that_does_not_keep_up_refuses_chunks_instead_of_queueing_them(
    tmp_path: Path,
) -> None:
    """The writer's queue is bounded in bytes: while the disk is stuck, append() says no
    (the recorder drops that second of recording, counts it and reports `degraded`) and
    nothing waits; once the disk moves again, what was queued is written."""
    writer = DiskWriter(tmp_path, max_pending=64 * 1024)
    writer.start()
    stuck = threading.Event()
    blocked = asyncio.ensure_future(writer.call(stuck.wait))  # the "disk" hangs here
    writer.open("t.rtprec", b"header")
    accepted = [writer.append("t.rtprec", bytes(16 * 1024)) for _ in range(6)]
    assert accepted == [True, True, True, False, False, False]
    stuck.set()
    await blocked
    await writer.aclose()
    assert (tmp_path / "t.rtprec").stat().st_size == len(b"header") + 3 * 16 * 1024
    assert writer.error is None and writer.pending == 0


def test_recording_commands_validate_on_construction_and_cross_the_pipe() -> None:
    for bad in ("relative/dir", "/a/../b", "/with\x00nul", "/" + "x" * 5000):
        with pytest.raises(ValueError, match="directory"):
            StartRecording(ROOM, "rec-1", bad)
    with pytest.raises(ValueError, match="recording_id"):
        StartRecording(ROOM, "rec 1", "/tmp/x")
    command = StartRecording(ROOM, "rec-1", "/srv/recordings/org1/call7")
    assert wire.parse_command("start_recording", wire.command_args(command)) == command
    for cls in (PauseRecording, ResumeRecording, StopRecording):
        assert wire.parse_command(wire.OP_NAMES[cls], {"room_id": ROOM}) == cls(ROOM)
    with pytest.raises(ValueError, match="state"):
        RecordingState(ROOM, "rec-1", "exploded", None, 0, 0)  # type: ignore[arg-type]
    error = wire.error_from_reply(wire.error_reply(1, RecordingFailed("disk full")))
    assert isinstance(error, RecordingFailed) and error.code == "recording_failed"
