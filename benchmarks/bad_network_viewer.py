"""The subscriber side of benchmarks/bad_network.py: a full aiortc receiver (jitter buffer,
NACK, PLI, REMB, decoder) in its own namespace, timing every frame as it leaves the decoder."""

from __future__ import annotations

import asyncio
import logging
import queue
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from benchmarks import netns
from benchmarks.call_subscriber import NO_STUN, UNKNOWN
from loadtest.rpc import serve
from media.clip import KEY_BYTES, Clip


def in_netns(conn: Connection, name: str, target: Callable[..., None], *args: Any) -> None:
    """Child entry point: enter the namespace first, then serve as `target` would."""
    netns.enter(name)
    target(conn, *args)


class _Records:
    """One subscriber's raw records (monotonic seconds), sent to the orchestrator."""

    def __init__(self) -> None:
        self.decoded: list[tuple[int, float]] = []
        self.audio: list[tuple[float, int]] = []
        """(time, samples) of each decoded audio frame: the rest of the time was concealed."""
        self.packets: dict[str, list[tuple[float, int, int, int]]] = {"audio": [], "video": []}
        """kind → (arrival, ssrc, sequence number, payload bytes), RTX included."""
        self.numbers: dict[int, int] = {}
        """Decoder timestamp → clip frame number, noted as a complete frame enters it."""

    def take(self) -> dict[str, Any]:
        taken = {"decoded": self.decoded, "audio": self.audio, "packets": self.packets}
        self.decoded, self.audio, self.packets = [], [], {"audio": [], "video": []}
        return taken


class _NotingQueue(queue.Queue[Any]):
    """aiortc's queue into the decoder thread: notes each frame's clip number on the way in
    (its first bytes, as call_subscriber identifies frames)."""

    def __init__(self, records: _Records, index: dict[bytes, int]) -> None:
        super().__init__()
        self._records, self._index = records, index

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is not None:
            frame = item[1]
            self._records.numbers[frame.timestamp] = self._index.get(
                bytes(frame.data[:KEY_BYTES]), UNKNOWN
            )
        super().put(item, block, timeout)


async def _drain(track: MediaStreamTrack, records: _Records) -> None:
    """Read decoded frames as a player would, timing each."""
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        if track.kind == "audio":
            records.audio.append((time.monotonic(), int(getattr(frame, "samples", 0))))
        else:
            number = records.numbers.pop(getattr(frame, "pts", -1), UNKNOWN)
            records.decoded.append((number, time.monotonic()))


_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
"""aiortc's queue into its decoder thread; replaced before the receiver starts (receive())."""


def _tap(receiver: Any, kind: str, records: _Records) -> None:
    """Note every RTP packet's arrival, then hand it to aiortc's own handling."""
    original = receiver._handle_rtp_packet

    async def handle(packet: Any, arrival_time_ms: int) -> None:
        records.packets[kind].append(
            (time.monotonic(), packet.ssrc, packet.sequence_number, len(packet.payload))
        )
        await original(packet, arrival_time_ms=arrival_time_ms)

    receiver._handle_rtp_packet = handle


class Viewers:
    """Full aiortc subscribers by stream number; the ops call_paths' paths expect."""

    def __init__(self, clip: Clip) -> None:
        self._index = clip.video_index()
        self._pcs: dict[int, RTCPeerConnection] = {}
        self._records: dict[int, _Records] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def _watch(self, stream: int, pc: RTCPeerConnection) -> None:
        """Before the receivers start: tap packet arrivals and the decoder queue."""
        records = self._records[stream] = _Records()
        for transceiver in pc.getTransceivers():
            receiver, kind = transceiver.receiver, transceiver.kind
            _tap(receiver, kind, records)
            if kind == "video":
                setattr(receiver, _DECODER_QUEUE, _NotingQueue(records, self._index))

    def _drain_tracks(self, stream: int, pc: RTCPeerConnection) -> None:
        """Once the remote description has made the receivers' tracks: read them."""
        for transceiver in pc.getTransceivers():
            task = asyncio.ensure_future(_drain(transceiver.receiver.track, self._records[stream]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def op_offer(self, stream: int, decode: bool = False) -> str:
        pc = self._pcs[stream] = RTCPeerConnection(NO_STUN)
        video = pc.addTransceiver("video", direction="recvonly")
        codecs = RTCRtpSender.getCapabilities("video").codecs
        video.setCodecPreferences([c for c in codecs if c.mimeType in ("video/VP8", "video/rtx")])
        pc.addTransceiver("audio", direction="recvonly")
        self._watch(stream, pc)
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)

    async def op_answer(self, stream: int, sdp: str) -> None:
        pc = self._pcs[stream]
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        self._drain_tracks(stream, pc)

    async def op_accept(self, stream: int, sdp: str, decode: bool = False) -> str:
        pc = self._pcs[stream] = RTCPeerConnection(NO_STUN)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        self._watch(stream, pc)
        self._drain_tracks(stream, pc)
        await pc.setLocalDescription(await pc.createAnswer())
        return str(pc.localDescription.sdp)

    async def op_receiving(self) -> list[int]:
        return [s for s, r in self._records.items() if any(n >= 0 for n, _ in r.decoded[-30:])]

    async def op_collect(self, stream: int) -> dict[str, Any]:
        """Everything recorded since the last collect (then forgotten), and where from."""
        taken = self._records[stream].take()
        pc = self._pcs[stream]
        remote = pc.remoteDescription.sdp if pc.remoteDescription else ""
        taken["remote_candidates"] = sorted(
            {" ".join(line.split()[4:6]) for line in remote.splitlines() if "candidate:" in line}
        )
        return taken

    async def op_close_all(self) -> None:
        await asyncio.gather(*(pc.close() for pc in self._pcs.values()))
        self._pcs.clear()
        self._records.clear()

    async def close(self) -> None:
        await self.op_close_all()


def viewers_main(conn: Connection, clip_path: str) -> None:
    """Process entry point (multiprocessing spawn target)."""
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(serve(conn, Viewers(Clip.load(Path(clip_path)))))
