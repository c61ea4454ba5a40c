"""Path (b), aiortc's decoded path, in its own process: the publisher's tracks go through
aiortc.contrib.media.MediaRelay to each subscriber's peer connection, so aiortc decodes
the VP8/Opus it receives and encodes it again for the subscriber.

aiortc's VP8 encoder starts at 500 kbit/s and follows the subscriber's REMB; the benchmark
subscribers send none, so its start rate is set to the clip's rate (1 Mbit/s) to forward
the same bitrate as the other paths.
"""

from __future__ import annotations

import asyncio
import logging
from multiprocessing.connection import Connection
from typing import Any

import aiortc.codecs.vpx
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

from benchmarks.call_subscriber import NO_STUN
from loadtest.rpc import serve


class DecodedRelay:
    """One publisher and one subscriber per stream number."""

    def __init__(self) -> None:
        self._relay = MediaRelay()
        self._pcs: list[RTCPeerConnection] = []
        self._tracks: dict[int, dict[str, Any]] = {}

    async def _answer(self, pc: RTCPeerConnection, offer: str) -> str:
        await pc.setLocalDescription(await pc.createAnswer())
        return str(pc.localDescription.sdp)

    async def op_publish(self, stream: int, sdp: str) -> str:
        pc = RTCPeerConnection(NO_STUN)
        self._pcs.append(pc)
        tracks = self._tracks[stream] = {}
        pc.on("track", lambda track: tracks.__setitem__(track.kind, track))
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        return await self._answer(pc, sdp)

    async def op_subscribe(self, stream: int, sdp: str) -> str:
        pc = RTCPeerConnection(NO_STUN)
        self._pcs.append(pc)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        for track in self._tracks[stream].values():
            pc.addTrack(self._relay.subscribe(track))
        return await self._answer(pc, sdp)

    async def op_close_all(self) -> None:
        await asyncio.gather(*(pc.close() for pc in self._pcs))
        self._pcs.clear()
        self._tracks.clear()

    async def close(self) -> None:
        await self.op_close_all()


def main(conn: Connection, bitrate: int) -> None:
    """Process entry point (multiprocessing spawn target)."""
    logging.basicConfig(level=logging.ERROR)
    aiortc.codecs.vpx.DEFAULT_BITRATE = bitrate
    asyncio.run(serve(conn, DecodedRelay()))
