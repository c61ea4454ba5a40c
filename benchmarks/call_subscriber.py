"""Load-generator process: N aiortc subscribers that time frames at RTP arrival, cheaply.

Each subscriber is a real RTCPeerConnection (recvonly audio and video), but its receivers'
`_handle_rtp_packet` is replaced on the instance: aiortc's jitter buffer, NACKs and
decoder never run. Per packet the tap records (arrival, seq) for loss; per video frame it
records (clip frame number, arrival of the frame's last packet). On a forwarding path the
frame is recognised by its leading VP8 bytes (the clip's index); when the path re-encodes
(decode=True) the subscriber decodes the frame itself and reads media/stamps.py's stamp.
"""

from __future__ import annotations

import asyncio
import logging
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import av
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.codecs.vpx import VpxPayloadDescriptor

from loadtest.rpc import serve
from media.clip import KEY_BYTES, Clip
from media.stamps import read_stamp

NO_STUN = RTCConfiguration(iceServers=[])
UNKNOWN = -1
"""Frame number of a frame that was received but could not be identified."""


class StreamTap:
    """What one subscriber received, timestamped with time.monotonic()."""

    def __init__(self, index: dict[bytes, int], decode: bool) -> None:
        self._index = index
        self._decoder = av.CodecContext.create("libvpx", "r") if decode else None
        self.frames: list[tuple[int, float]] = []
        self.packets: dict[int, list[tuple[float, int]]] = {}
        self._ext: dict[int, int] = {}
        self._frame_ts: int | None = None
        self._frame_key: int | bytes | None = None
        self._frame_parts: list[bytes] = []
        self._next_seq = 0

    def _extend(self, ssrc: int, seq: int) -> int:
        last = self._ext.get(ssrc)
        if last is None:
            self._ext[ssrc] = seq
            return seq
        ext = last + ((seq - last + 0x8000) & 0xFFFF) - 0x8000
        self._ext[ssrc] = max(ext, last)
        return ext

    def on_packet(self, packet: Any, kind: str) -> None:
        now = time.monotonic()
        ext = self._extend(packet.ssrc, packet.sequence_number)
        self.packets.setdefault(packet.ssrc, []).append((now, ext))
        if kind == "video" and packet.payload:
            self._on_video(packet, ext, now)

    def _on_video(self, packet: Any, ext: int, now: float) -> None:
        descriptor, data = VpxPayloadDescriptor.parse(packet.payload)
        if descriptor.partition_start and descriptor.partition_id == 0:
            self._frame_ts = packet.timestamp
            self._frame_key = data[:KEY_BYTES]
            self._frame_parts = [data]
        elif packet.timestamp == self._frame_ts and ext == self._next_seq:
            self._frame_parts.append(data)
        else:
            self._frame_ts = None  # a gap: this frame is incomplete
        self._next_seq = ext + 1
        if packet.marker and packet.timestamp == self._frame_ts:
            self.frames.append((self._identify(), now))
            self._frame_ts = None

    def _identify(self) -> int:
        if self._decoder is None:
            assert isinstance(self._frame_key, bytes)
            return self._index.get(self._frame_key, UNKNOWN)
        try:
            decoded = self._decoder.decode(av.Packet(b"".join(self._frame_parts)))
        except av.FFmpegError:
            return UNKNOWN
        stamps = [read_stamp(frame) for frame in decoded]
        return stamps[-1].number if stamps and stamps[-1] is not None else UNKNOWN

    def collect(self, start: float, end: float, frames_until: float) -> dict[str, Any]:
        """Frames arriving in [start, frames_until] and packet counts for [start, end]."""
        frames = [f for f in self.frames if start <= f[1] <= frames_until]
        received = expected = 0
        for entries in self.packets.values():
            seqs = {seq for t, seq in entries if start <= t <= end}
            if seqs:
                received += len(seqs)
                expected += max(seqs) - min(seqs) + 1
        self.frames = [f for f in self.frames if f[1] > frames_until]
        for ssrc, entries in self.packets.items():
            self.packets[ssrc] = [e for e in entries if e[0] > end]
        return {"frames": frames, "packets": received, "expected_packets": expected}


def install_taps(pc: RTCPeerConnection, tap: StreamTap) -> None:
    for transceiver in pc.getTransceivers():
        kind = transceiver.kind

        async def handle(packet: Any, arrival_time_ms: int = 0, kind: str = kind) -> None:
            tap.on_packet(packet, kind)

        transceiver.receiver._handle_rtp_packet = handle  # type: ignore[method-assign]


class Subscribers:
    """The process's subscribers by stream number; ops are called by the orchestrator."""

    def __init__(self, clip: Clip) -> None:
        self._index = clip.video_index()
        self._pcs: dict[int, RTCPeerConnection] = {}
        self._taps: dict[int, StreamTap] = {}

    def _new(self, stream: int, decode: bool) -> RTCPeerConnection:
        pc = self._pcs[stream] = RTCPeerConnection(NO_STUN)
        self._taps[stream] = StreamTap(self._index, decode)
        return pc

    async def op_offer(self, stream: int, decode: bool) -> str:
        """A recvonly offer (VP8 first), for a relay that answers."""
        pc = self._new(stream, decode)
        video = pc.addTransceiver("video", direction="recvonly")
        codecs = RTCRtpSender.getCapabilities("video").codecs
        video.setCodecPreferences([c for c in codecs if c.mimeType in ("video/VP8", "video/rtx")])
        pc.addTransceiver("audio", direction="recvonly")
        install_taps(pc, self._taps[stream])
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)

    async def op_answer(self, stream: int, sdp: str) -> None:
        await self._pcs[stream].setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def op_accept(self, stream: int, sdp: str, decode: bool) -> str:
        """Answer an offer (from a peer-to-peer publisher, or from Janus)."""
        pc = self._new(stream, decode)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        install_taps(pc, self._taps[stream])
        await pc.setLocalDescription(await pc.createAnswer())
        return str(pc.localDescription.sdp)

    async def op_states(self) -> dict[int, str]:
        return {stream: pc.connectionState for stream, pc in self._pcs.items()}

    async def op_receiving(self) -> list[int]:
        """Streams that have received at least one identified frame."""
        return [s for s, tap in self._taps.items() if any(k >= 0 for k, _ in tap.frames[-30:])]

    async def op_collect(
        self, start: float, end: float, frames_until: float
    ) -> dict[int, dict[str, Any]]:
        return {s: tap.collect(start, end, frames_until) for s, tap in self._taps.items()}

    async def op_close_all(self) -> None:
        await asyncio.gather(*(pc.close() for pc in self._pcs.values()))
        self._pcs.clear()
        self._taps.clear()

    async def close(self) -> None:
        await self.op_close_all()


def main(conn: Connection, clip_path: str) -> None:
    """Process entry point (multiprocessing spawn target)."""
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(serve(conn, Subscribers(Clip.load(Path(clip_path)))))
