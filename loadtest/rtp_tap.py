"""Receiving a call's media at the RTP level, for load runs: no jitter buffer, no decoder.

A load generator that decodes every frame it receives measures its own CPU, not the
server's (issue 10's first runs were generator-bound at a handful of calls). What the
participants send is a pre-encoded clip (media/clip.py), so a received video frame is known
by its leading bytes, without decoding: the tap assembles each frame from its packets and
looks its clip frame number up; audio packets are counted as the 20 ms frames they carry.
Loss comes from the sequence numbers. What arrives is not repaired (no NACK, no PLI from
here): on loopback and on a healthy LAN that costs nothing; under loss, decode instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiortc.codecs.vpx import VpxPayloadDescriptor
from aiortc.rtcrtpreceiver import RTCRtpReceiver

from media.clip import KEY_BYTES

FrameSeen = Callable[[int | None, float], None]
"""Told (clip frame number, or None for a frame not in the clip; loop time) per frame."""


class RtpTap:
    """One remote m-line's packets: per-SSRC sequence tracking and, for video, frames."""

    def __init__(self, video: bool, index: dict[bytes, int], on_frame: FrameSeen) -> None:
        self._video = video
        self._index = index
        self._on_frame = on_frame
        self._highest: dict[int, int] = {}
        self._first: dict[int, int] = {}
        self.packets = 0
        self._frame_ts: int | None = None
        self._frame_head = b""
        self._next_seq: int | None = None

    @property
    def expected(self) -> int:
        return sum(self._highest[s] - self._first[s] + 1 for s in self._highest)

    @property
    def lost(self) -> int:
        return max(0, self.expected - self.packets)

    def _extended(self, ssrc: int, seq: int) -> int:
        last = self._highest.get(ssrc)
        if last is None:
            self._first[ssrc] = self._highest[ssrc] = seq
            return seq
        ext = last + ((seq - last + 0x8000) & 0xFFFF) - 0x8000
        self._highest[ssrc] = max(ext, last)
        return ext

    def on_packet(self, packet: Any, now: float) -> None:
        self.packets += 1
        ext = self._extended(packet.ssrc, packet.sequence_number)
        if not self._video:
            self._on_frame(None, now)
            return
        if not packet.payload:  # padding: no frame data
            self._next_seq = ext + 1
            return
        descriptor, data = VpxPayloadDescriptor.parse(packet.payload)
        if descriptor.partition_start and descriptor.partition_id == 0:
            self._frame_ts, self._frame_head = packet.timestamp, data[:KEY_BYTES]
        elif packet.timestamp != self._frame_ts or ext != self._next_seq:
            self._frame_ts = None  # a gap: this frame is incomplete
        self._next_seq = ext + 1
        if packet.marker and packet.timestamp == self._frame_ts:
            self._frame_ts = None
            self._on_frame(self._index.get(self._frame_head), now)


def install(receiver: RTCRtpReceiver, tap: RtpTap, clock: Callable[[], float]) -> None:
    """Packets reach the tap instead of aiortc's jitter buffer and decoder (RTCP, DTLS and
    SRTP are untouched)."""

    async def handle(packet: Any, arrival_time_ms: int = 0) -> None:
        tap.on_packet(packet, clock())

    receiver._handle_rtp_packet = handle  # type: ignore[method-assign]
