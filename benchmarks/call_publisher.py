"""Load-generator process: N aiortc publishers, each sending the clip's VP8 (30 fps) and Opus.

Each publisher is a real RTCPeerConnection with sendonly audio and video; its tracks hand
aiortc pre-encoded packets (no per-publisher encoder). Every video frame handed to the
sender is recorded with its clip number and the time, the reference for loss and latency.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import av
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.packet import Packet

from benchmarks.call_clip import AUDIO_FRAME, AUDIO_RATE, FPS, Clip
from benchmarks.call_rpc import serve
from benchmarks.call_subscriber import NO_STUN

SentFrame = tuple[int, float, float]
"""(clip frame number, due time, time handed to the sender), monotonic seconds."""


class _ClipTrack(MediaStreamTrack):
    """Paced like a live source: packet i is due at start + i x interval."""

    def __init__(
        self, packets: list[bytes], interval: float, time_base: fractions.Fraction, ticks: int
    ) -> None:
        super().__init__()
        self._packets, self._interval = packets, interval
        self._time_base, self._ticks = time_base, ticks
        self._count = 0
        self._start: float | None = None

    async def _next(self) -> tuple[int, float, Packet[Any]]:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + self._count * self._interval
        if due > now:
            await asyncio.sleep(due - now)
        number = self._count % len(self._packets)
        packet = av.Packet(self._packets[number])
        packet.pts = self._count * self._ticks
        packet.time_base = self._time_base
        self._count += 1
        return number, due, packet


class ClipVideoTrack(_ClipTrack):
    kind = "video"

    def __init__(self, clip: Clip, sent: list[SentFrame]) -> None:
        super().__init__(clip.video, 1 / FPS, fractions.Fraction(1, FPS), 1)
        self._sent = sent

    async def recv(self) -> Packet[Any]:
        number, due, packet = await self._next()
        self._sent.append((number, due, time.monotonic()))
        return packet


class ClipAudioTrack(_ClipTrack):
    kind = "audio"

    def __init__(self, clip: Clip) -> None:
        super().__init__(
            clip.audio, AUDIO_FRAME / AUDIO_RATE, fractions.Fraction(1, AUDIO_RATE), AUDIO_FRAME
        )

    async def recv(self) -> Packet[Any]:
        return (await self._next())[2]


def prefer_vp8(transceiver: Any) -> None:
    codecs = RTCRtpSender.getCapabilities("video").codecs
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType in ("video/VP8", "video/rtx")])


class Publishers:
    """The process's publishers by stream number; ops are called by the orchestrator."""

    def __init__(self, clip: Clip) -> None:
        self._clip = clip
        self._pcs: dict[int, RTCPeerConnection] = {}
        self._sent: dict[int, list[SentFrame]] = {}

    async def op_offer(self, stream: int) -> str:
        pc = self._pcs[stream] = RTCPeerConnection(NO_STUN)
        sent = self._sent[stream] = []
        prefer_vp8(pc.addTransceiver(ClipVideoTrack(self._clip, sent), direction="sendonly"))
        pc.addTransceiver(ClipAudioTrack(self._clip), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)

    async def op_answer(self, stream: int, sdp: str) -> None:
        await self._pcs[stream].setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def op_states(self) -> dict[int, str]:
        return {stream: pc.connectionState for stream, pc in self._pcs.items()}

    async def op_collect(self, start: float, end: float) -> dict[int, list[SentFrame]]:
        """Frames handed to each sender in [start, end]; older records are dropped."""
        window: dict[int, list[SentFrame]] = {}
        for stream, sent in self._sent.items():
            window[stream] = [s for s in sent if start <= s[2] <= end]
            sent[:] = [s for s in sent if s[2] > end]
        return window

    async def op_close_all(self) -> None:
        await asyncio.gather(*(pc.close() for pc in self._pcs.values()))
        self._pcs.clear()
        self._sent.clear()

    async def close(self) -> None:
        await self.op_close_all()


def main(conn: Connection, clip_path: str) -> None:
    """Process entry point (multiprocessing spawn target)."""
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(serve(conn, Publishers(Clip.load(Path(clip_path)))))
