"""A caller's camera for load runs at a fraction of aiortc's per-packet cost: a clip packetised
once, each packet sent with one header write, one SRTP protect and one sendto.

aiortc's sender builds an RtpPacket per packet, stamps abs-send-time from the wall clock,
serialises its header extensions and goes through three coroutine layers to the socket:
~200 µs of the load generator's CPU per packet on the project's VM, three quarters of its
CPU in a 50-call burst (docs/benchmarks.md, "Relay join and call setup"). Real callers
spend that on their own devices. This sender puts the same VP8 packets on the wire (the
clip's frames, aiortc's packetisation, the negotiated payload type, SSRC and MID) from a
task of its own, through the relay's DtlsRtpSink; aiortc's sender for the m-line is left
without a track. A keyframe request (PLI) skips to the clip's next keyframe, as
ClipVideoTrack does.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from typing import Any

from aiortc.codecs.vpx import Vp8Encoder

from media.clip import Clip
from relay.rtc.dtls_sink import DtlsRtpSink
from relay.rtc.negotiated import negotiated_stream

_HEADER = struct.Struct("!BBHII")
_FORCE_KEYFRAME = "_RTCRtpSender__force_keyframe"
"""aiortc's flag for 'a PLI arrived' on an RTCRtpSender (it sets it whoever sends)."""
VIDEO_CLOCK = 90_000

_PACKETISED: dict[int, list[list[bytes]]] = {}


def packetised(clip: Clip) -> list[list[bytes]]:
    """The clip's frames as VP8 RTP payloads (picture id = frame number), made once per clip."""
    frames = _PACKETISED.get(id(clip))
    if frames is None:
        frames = _PACKETISED[id(clip)] = [
            Vp8Encoder._packetize(frame, number % (1 << 15))
            for number, frame in enumerate(clip.video)
        ]
    return frames


class ClipSender:
    """Lifecycle: new → sending (start(transceiver) once its peer connection is connected) →
    stopped (stop(), idempotent). `sent` counts frames."""

    def __init__(self, clip: Clip) -> None:
        self._clip = clip
        self._frames = packetised(clip)
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    def start(self, transceiver: Any) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(transceiver))

    async def _run(self, transceiver: Any) -> None:
        stream = negotiated_stream(transceiver)
        extensions = stream.outgoing_extensions().block
        first_byte = 0x90 if extensions else 0x80  # version 2, extension bit
        sink = DtlsRtpSink(transceiver.sender.transport)
        sender = transceiver.sender
        interval = 1 / self._clip.fps
        ticks = VIDEO_CLOCK // self._clip.fps
        sequence = 0
        position = 0
        started = time.monotonic()
        with contextlib.suppress(ConnectionError):
            while True:
                due = started + self.sent * interval
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if getattr(sender, _FORCE_KEYFRAME, False):
                    setattr(sender, _FORCE_KEYFRAME, False)
                    keyframes = self._clip.keyframe_interval
                    position += -position % keyframes
                payloads = self._frames[position % len(self._frames)]
                timestamp = (self.sent * ticks) & 0xFFFFFFFF
                last = len(payloads) - 1
                for i, payload in enumerate(payloads):
                    second = stream.payload_type | (0x80 if i == last else 0)
                    header = _HEADER.pack(
                        first_byte, second, sequence, timestamp, stream.local_ssrc
                    )
                    sink.send_rtp(header + extensions + payload)
                    sequence = (sequence + 1) & 0xFFFF
                position += 1
                self.sent += 1

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
