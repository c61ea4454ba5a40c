"""Tracks that replay a pre-encoded clip (media/clip.py) with fresh timing: no encoder per
participant, so the load generator spends its CPU on sockets, not on libvpx.

aiortc sends an `av.Packet` from a track's recv() as it is (packetised, not re-encoded).
The video track also honours keyframe requests: aiortc marks a PLI from the relay on its
sender, and the track skips ahead to the clip's next keyframe — a subscriber that joins
waits no longer than a browser's encoder would make it wait.

Each video track keeps, per clip frame, when it was last sent and as which sent frame
(`sent_index`): a receiver that reads a frame's stamp (the clip frame number) knows its
send time (end-to-end latency) and its place in the stream (frame loss).
"""

from __future__ import annotations

import asyncio
import fractions
import time
from typing import Any

import av
from aiortc import RTCRtpSender
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.packet import Packet

from media.clip import AUDIO_FRAME, AUDIO_RATE, Clip
from media.stamps import now_ms

SentFrame = tuple[int, float, float]
"""(clip frame number, due time, time handed to the sender), monotonic seconds."""
_FORCE_KEYFRAME = "_RTCRtpSender__force_keyframe"
"""aiortc's flag for 'a PLI arrived' (it only reads it when it encodes frames itself)."""


class _ClipTrack(MediaStreamTrack):
    """Paced like a live source: packet i is due at start + i x interval."""

    def __init__(
        self, packets: list[bytes], interval: float, time_base: fractions.Fraction, ticks: int
    ) -> None:
        super().__init__()
        self._packets, self._interval = packets, interval
        self._time_base, self._ticks = time_base, ticks
        self._count = 0
        self._position = 0
        self._start: float | None = None

    @property
    def count(self) -> int:
        """Packets (frames) sent so far."""
        return self._count

    def _skip(self) -> None:
        """Hook: move `_position` before the next packet is taken."""

    async def _next(self) -> tuple[int, float, Packet[Any]]:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + self._count * self._interval
        if due > now:
            await asyncio.sleep(due - now)
        self._skip()
        number = self._position % len(self._packets)
        packet = av.Packet(self._packets[number])
        packet.pts = self._count * self._ticks
        packet.time_base = self._time_base
        self._count += 1
        self._position = number + 1
        return number, due, packet


class ClipVideoTrack(_ClipTrack):
    kind = "video"

    def __init__(self, clip: Clip, sent: list[SentFrame] | None = None) -> None:
        super().__init__(clip.video, 1 / clip.fps, fractions.Fraction(1, clip.fps), 1)
        self._sent = sent
        self._keyframe_interval = clip.keyframe_interval
        self.sender: RTCRtpSender | None = None
        """Set by whoever sends this track, so keyframe requests reach it."""
        self.sent_index: dict[int, tuple[int, int]] = {}
        """Clip frame number → (its sequence among frames sent, Unix ms), the latest send."""
        self.keyframes_forced = 0

    def _skip(self) -> None:
        if self.sender is not None and getattr(self.sender, _FORCE_KEYFRAME, False):
            setattr(self.sender, _FORCE_KEYFRAME, False)
            interval = self._keyframe_interval
            if self._position % interval:
                self._position += interval - self._position % interval
                self.keyframes_forced += 1

    async def recv(self) -> Packet[Any]:
        number, due, packet = await self._next()
        self.sent_index[number] = (self._count - 1, now_ms())
        if self._sent is not None:
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
