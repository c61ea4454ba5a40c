"""The 50-calls load test's cheap parts: the clip sender puts decodable VP8 through a relay room,
a load run's pair of peers (one shared certificate, RTP read without decoders) completes a
call through the real server, and the CPU window reads what processes used."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import pytest
from aiortc import RTCConfiguration
from aiortc.codecs.vpx import VpxPayloadDescriptor

from loadtest.call_peer import NO_STUN, CallPeer
from loadtest.calls import ClipCaller
from loadtest.clip_sender import ClipSender, packetised
from loadtest.cpu_share import CpuWindow, children, cpu_seconds
from loadtest.relay_peer import RelayPeer, join_room_pair
from media.clip import Clip, build
from relay.interface import CloseReason, RoomId
from relay.rtc import aiortc_compat
from relay.rtc.room import Room
from tests.conftest import Server
from tests.test_calls import chat_pair, ring_and_accept


@pytest.fixture(scope="module")
def clip() -> Clip:
    return build(seconds=2, bitrate=200_000, width=320, height=240, fps=5, keyframe_seconds=1)


def test_the_packetised_clip_carries_each_frame_whole(clip: Clip) -> None:
    frames = packetised(clip)
    assert packetised(clip) is frames  # made once per clip
    for number, payloads in enumerate(frames):
        parts = [VpxPayloadDescriptor.parse(p) for p in payloads]
        assert parts[0][0].partition_start and not any(d.partition_start for d, _ in parts[1:])
        assert {d.picture_id for d, _ in parts} == {number}
        assert b"".join(data for _, data in parts) == clip.video[number]


@pytest.fixture
async def room() -> AsyncIterator[Room]:
    opened = Room(
        RoomId("clip-1"), RTCConfiguration(iceServers=[], bundlePolicy=NO_STUN.bundlePolicy)
    )
    try:
        yield opened
    finally:
        await opened.close(CloseReason.CALL_ENDED)


async def test_a_clip_sender_camera_is_decoded_by_the_other_side(room: Room, clip: Clip) -> None:
    caller, viewer = RelayPeer(camera=False, audio=False), RelayPeer(camera=False, audio=False)
    sender = ClipSender(clip)
    try:
        await join_room_pair(room, caller, viewer)
        assert caller.pc is not None
        camera = caller.pc.getTransceivers()[1]  # audio, camera, screen
        sender.start(camera)
        await viewer.frames_grow("camera", 3)  # aiortc's decoder took them: valid VP8
        assert sender.sent >= 3
    finally:
        await sender.stop()
        await caller.close()
        await viewer.close()


async def test_a_load_runs_peers_share_one_certificate_and_read_rtp_without_decoders(
    server: Server, clip: Clip
) -> None:
    certificate = aiortc_compat.ReusableCertificate.generateCertificate()
    (fingerprint,) = [f.value for f in certificate.getFingerprints() if f.algorithm == "sha-256"]
    async with chat_pair(server) as (customer, agent):
        call_id = await ring_and_accept(customer, agent, customer.chat_id)
        caller = ClipCaller(customer, clip, certificate)
        viewer = CallPeer(agent, call_id, frame_index=clip.video_index(), certificate=certificate)
        caller.call_id = call_id
        try:
            await asyncio.gather(caller.join(), viewer.join())
            await viewer.wait_frames("camera", 3)  # whole clip frames, known by number
            assert set(viewer.received["camera"].numbers) <= set(range(len(clip.video)))
            for peer in (caller, viewer):
                assert peer.pc is not None
                assert fingerprint in peer.pc.localDescription.sdp
                for transceiver in peer.pc.getTransceivers():
                    assert not aiortc_compat.decoder_thread(transceiver.receiver)
        finally:
            await caller.close()
            await viewer.close()


def test_a_cpu_window_counts_a_busy_child_and_this_process() -> None:
    burn = (
        "import time\nend = time.process_time() + 0.3\n"
        "while time.process_time() < end: pass\ntime.sleep(30)"
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys; subprocess.run([sys.executable, '-c', {burn!r}])",
        ]
    )
    try:
        deadline = time.monotonic() + 10
        while not children(server.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        window = CpuWindow(server.pid)
        window.start()
        end = time.process_time() + 0.1
        while time.process_time() < end:
            pass
        worker = children(server.pid)[0]
        while cpu_seconds(worker) < 0.3 and time.monotonic() < deadline:
            time.sleep(0.02)
        share = window.stop()
    finally:
        for pid in children(server.pid):
            os.kill(pid, 9)
        server.kill()
        server.wait()
    assert share.generator_s >= 0.09
    assert share.relay_workers_s >= 0.1  # the child burnt most of its 0.3 s in the window
    assert share.machine_s >= share.generator_s
    assert 0 < share.generator_share < 1
