"""What recording costs the relay: 1:1 video calls with screen share, forwarded only vs
forwarded and recorded, side by side in one run with the same clients.

    .venv/bin/python -m benchmarks.recording [--calls 4] [--seconds 10] [--rounds 2]

One relay worker process (uvloop, as in production). Each call is two aiortc peers
(customer, agent) in this process, each sending pre-encoded media (benchmarks/call_clip.py:
640x480 VP8 at 30 fps, ~1 Mbit/s, as camera *and* as screen, plus Opus) and receiving the
other's three streams without decoding them (their receivers only count packets), so the
load generator stays light. The worker's CPU (all its threads: the disk writer counts) is
read from /proc over a window, forwarding only, then with every call recorded to disk,
alternating `--rounds` times (the machine is shared: compare within a round). Then one
recording is converted (x real time), composited (x real time), and a separate short
recorded call with stamped video and tone bursts gives the audio-video and screen-camera
skew of the converted files.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from benchmarks import environment
from benchmarks.procstat import cpu_percent, sample
from benchmarks.report import write_json
from loadtest.call_peer import NO_STUN, ROLES
from loadtest.clip_tracks import ClipAudioTrack, ClipVideoTrack
from loadtest.recorded_call import (
    AGENT,
    BURST_PERIOD,
    CUSTOMER,
    recorded_call,
    sleep_for,
    started_ms,
)
from media.clip import FPS, Clip, build
from media.recording.composite import composite_timed
from media.recording.convert import convert
from media.recording.sync import burst_offsets, frame_offsets
from relay.control.pool import RelayPool
from relay.interface import CloseReason, ParticipantId, RoomId, TrackRole

RESULTS = Path(__file__).parent / "results"


class BenchPeer:
    """Sends the clip on all three m-lines; receives without decoding (counts packets)."""

    def __init__(self, clip: Clip, screen_fps: float) -> None:
        self.clip = clip
        self.screen_fps = screen_fps
        self.pc = RTCPeerConnection(NO_STUN)
        self.received = 0

    def _track(self, role: str) -> MediaStreamTrack:
        if role == "audio":
            return ClipAudioTrack(self.clip)
        return _Unrecorded(self.clip, FPS if role == "camera" else self.screen_fps)

    async def offer(self) -> tuple[str, dict[str, TrackRole]]:
        codecs = RTCRtpSender.getCapabilities("video").codecs
        roles: dict[int, TrackRole] = {}
        for role in ROLES:
            kind = "audio" if role == "audio" else "video"
            transceiver = self.pc.addTransceiver(self._track(role), direction="sendrecv")
            if kind == "video":
                transceiver.setCodecPreferences(
                    [c for c in codecs if c.mimeType in ("video/VP8", "video/rtx")]
                )
            roles[id(transceiver)] = role
        await self.pc.setLocalDescription(await self.pc.createOffer())
        tracks = {str(t.mid): roles[id(t)] for t in self.pc.getTransceivers()}
        return str(self.pc.localDescription.sdp), tracks

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        for transceiver in self.pc.getTransceivers():

            async def count(packet: Any, arrival_time_ms: int = 0) -> None:
                self.received += 1

            transceiver.receiver._handle_rtp_packet = count  # type: ignore[method-assign]

    async def close(self) -> None:
        await self.pc.close()


class _Unrecorded(ClipVideoTrack):
    """The clip's video at `fps` (a screen sends fewer frames than a camera), without a
    record of every frame sent (not needed here)."""

    def __init__(self, clip: Clip, fps: float) -> None:
        super().__init__(clip)
        self._interval = 1 / fps
        self._ticks = round(FPS / fps)

    async def recv(self) -> Any:
        return await super().recv()


async def _window(pid: int, seconds: float, peers: list[BenchPeer]) -> dict[str, float]:
    received = sum(p.received for p in peers)
    before = sample(pid)
    await asyncio.sleep(seconds)
    after = sample(pid)
    return {
        "cpu_percent": cpu_percent(before, after),
        "packets_per_second": (sum(p.received for p in peers) - received) / seconds,
    }


async def measure_cpu(
    clip: Clip, calls: int, seconds: float, rounds: int, screen_fps: float, work: Path
) -> dict[str, Any]:
    pool = RelayPool(workers=1, capacity=10_000)
    peers: list[BenchPeer] = []
    rooms = [RoomId(f"call-{i}") for i in range(calls)]
    results: dict[str, Any] = {"rounds": []}
    try:
        await pool.start()
        pid = pool.workers[0].pid
        assert pid is not None
        for room in rooms:
            await pool.open_room(room)
            for name in (CUSTOMER, AGENT):
                peer = BenchPeer(clip, screen_fps)
                peers.append(peer)
                offer, tracks = await peer.offer()
                await peer.accept(await pool.join(room, ParticipantId(name), offer, tracks))
        async with asyncio.timeout(30):
            while not all(p.pc.connectionState == "connected" for p in peers):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        await asyncio.sleep(3)  # keyframes, bandwidth estimates settle
        for number in range(rounds):
            forwarding = await _window(pid, seconds, peers)
            directories = [work / f"round{number}" / room for room in rooms]
            for room, directory in zip(rooms, directories, strict=True):
                await pool.start_recording(room, f"rec-{number}-{room}", str(directory))
            await asyncio.sleep(1.5)  # first flush, files opened
            recording = await _window(pid, seconds, peers)
            summaries = [await pool.stop_recording(room) for room in rooms]
            results["rounds"].append(
                {
                    "forwarding": forwarding,
                    "recording": recording,
                    "bytes_written": sum(s.bytes for s in summaries),
                    "dropped_bytes": sum(s.dropped_bytes for s in summaries),
                    "directories": [str(d) for d in directories],
                }
            )
            per_packet = [
                window["cpu_percent"] * 1e4 / max(window["packets_per_second"], 1.0)
                for window in (forwarding, recording)
            ]
            print(
                f"round {number + 1}: forwarding {forwarding['cpu_percent']:.1f} % of a core, "
                f"forwarding + recording {recording['cpu_percent']:.1f} %  "
                f"({forwarding['packets_per_second']:.0f} / "
                f"{recording['packets_per_second']:.0f} packets/s received by the peers; "
                f"{per_packet[0]:.0f} / {per_packet[1]:.0f} µs of relay CPU per forwarded packet)",
                flush=True,
            )
        for room in rooms:
            await pool.close_room(room, CloseReason.CALL_ENDED)
    finally:
        for peer in peers:
            with contextlib.suppress(Exception):
                await peer.close()
        await pool.stop()
    return results


def conversion_speed(directory: Path, media_seconds: float, work: Path) -> dict[str, float]:
    started, cpu = time.monotonic(), time.process_time()
    outputs = convert(directory, work / "converted")
    convert_wall, convert_cpu = time.monotonic() - started, time.process_time() - cpu
    _output, stats = composite_timed(outputs, work / "composite.webm")
    return {
        "media_seconds": media_seconds,
        "convert_wall_seconds": convert_wall,
        "convert_cpu_seconds": convert_cpu,
        "convert_x_realtime": media_seconds / convert_wall,
        "convert_x_realtime_cpu": media_seconds / convert_cpu,
        "composite_media_seconds": stats.media_seconds,
        "composite_wall_seconds": stats.wall_seconds,
        "composite_cpu_seconds": stats.cpu_seconds,
        "composite_x_realtime": stats.speed,
        "composite_x_realtime_cpu": stats.media_seconds / stats.cpu_seconds,
    }


async def measure_skew(work: Path) -> dict[str, float]:
    directory = work / "skew"
    call = await recorded_call(directory, sleep_for(8.0))
    outputs = {(o.participant, o.role): o for o in convert(directory, work / "skew-out")}
    base = started_ms(directory)
    offsets: dict[str, float] = {}
    for participant in (CUSTOMER, AGENT):
        for role in ("camera", "screen"):
            found = frame_offsets(outputs[(participant, role)], base)
            offsets[f"{participant}.{role}"] = statistics.median(o for _n, o in found)
        tone = call.senders[participant].tone
        assert tone is not None and tone.started_at is not None
        heard = burst_offsets(outputs[(participant, "audio")], base, tone.started_at, BURST_PERIOD)
        offsets[f"{participant}.audio"] = statistics.median(heard)
    skew = {
        f"{p}.audio-camera": offsets[f"{p}.audio"] - offsets[f"{p}.camera"]
        for p in (CUSTOMER, AGENT)
    } | {
        f"{p}.screen-camera": offsets[f"{p}.screen"] - offsets[f"{p}.camera"]
        for p in (CUSTOMER, AGENT)
    }
    skew["customer-agent.camera"] = offsets["customer.camera"] - offsets["agent.camera"]
    return skew


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=4, help="1:1 calls at once (default 4)")
    parser.add_argument("--seconds", type=float, default=10, help="measuring window (10)")
    parser.add_argument("--rounds", type=int, default=2, help="forwarding/recording pairs (2)")
    parser.add_argument(
        "--screen-fps", type=float, default=5, help="frames per second of the screen share (5)"
    )
    options = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    clip_path = RESULTS / "recording-clip.pkl"
    if clip_path.exists():
        clip = Clip.load(clip_path)
    else:
        clip = build(seconds=4)
        clip.save(clip_path)
    with tempfile.TemporaryDirectory(prefix="rec-bench-") as scratch:
        work = Path(scratch)
        cpu = asyncio.run(
            measure_cpu(
                clip, options.calls, options.seconds, options.rounds, options.screen_fps, work
            )
        )
        speed = conversion_speed(
            Path(cpu["rounds"][-1]["directories"][0]), options.seconds + 1.5, work
        )
        skew = asyncio.run(measure_skew(work))
    forwarding = [r["forwarding"]["cpu_percent"] for r in cpu["rounds"]]
    recording = [r["recording"]["cpu_percent"] for r in cpu["rounds"]]
    per_call_fwd = statistics.mean(forwarding) / options.calls
    per_call_rec = statistics.mean(recording) / options.calls
    overheads = [100 * (b - a) / a for a, b in zip(forwarding, recording, strict=True)]
    results = {
        "environment": environment.describe(),
        "options": vars(options),
        "cpu": cpu,
        "speed": speed,
        "skew_ms": skew,
        "per_call_percent_forwarding": per_call_fwd,
        "per_call_percent_recording": per_call_rec,
        "recording_overhead_percent": overheads,
        "recorded_calls_per_core": 100 / per_call_rec,
        "forwarded_calls_per_core": 100 / per_call_fwd,
    }
    path = RESULTS / f"recording-{time.strftime('%Y%m%d-%H%M%S')}.json"
    write_json(results, path)
    bytes_per_call = statistics.mean(r["bytes_written"] for r in cpu["rounds"]) / options.calls
    print(
        f"\n{options.calls} 1:1 calls with screen share (each side: 640x480 VP8 camera at 30 fps,"
        f" the same clip as screen at {options.screen_fps:g} fps, Opus), 1 relay worker,"
        f" {options.seconds:.0f} s windows,"
        f" {options.rounds} rounds\n"
        f"relay CPU per call: forwarding {per_call_fwd:.2f} % of a core, forwarding + recording"
        f" {per_call_rec:.2f} %; recording adds {', '.join(f'{o:+.1f} %' for o in overheads)}"
        f" (mean {statistics.mean(overheads):+.1f} %)\n"
        f"extrapolated per relay core: {100 / per_call_fwd:.0f} forwarded calls,"
        f" {100 / per_call_rec:.0f} recorded calls\n"
        f"written: {bytes_per_call / (options.seconds + 1.5) / 1024:.0f} KiB/s per call,"
        f" dropped {sum(r['dropped_bytes'] for r in cpu['rounds'])} bytes\n"
        f"convert ({speed['media_seconds']:.1f} s of a call, 6 tracks): "
        f"{speed['convert_x_realtime']:.0f}x real time (wall), "
        f"{speed['convert_x_realtime_cpu']:.0f}x (CPU)\n"
        f"composite (1280x720 VP8 15 fps + 2 Opus streams): {speed['composite_x_realtime']:.1f}x"
        f" real time (wall), {speed['composite_x_realtime_cpu']:.1f}x (CPU)\n"
        "skew of the converted files (ms, stamped video and tone bursts): "
        + ", ".join(f"{k} {v:+.1f}" for k, v in skew.items())
        + f"\nresults: {path}"
    )


if __name__ == "__main__":
    main()
