"""Load-generator process: N aiortc publishers, each sending the clip's VP8 (30 fps) and Opus.

Each publisher is a real RTCPeerConnection with sendonly audio and video; its tracks hand
aiortc pre-encoded packets (no per-publisher encoder). Every video frame handed to the
sender is recorded with its clip number and the time, the reference for loss and latency.
"""

from __future__ import annotations

import asyncio
import logging
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription

from benchmarks.call_subscriber import NO_STUN
from loadtest.clip_tracks import ClipAudioTrack, ClipVideoTrack, SentFrame
from loadtest.rpc import serve
from media.clip import Clip


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
