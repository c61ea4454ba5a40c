"""Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-
extensions-01, RTCP RTPFB fmt 15): when each packet of a publisher's transport arrived.

Chromium's send-side bandwidth estimator (what it works best with) runs on this feedback:
every packet it sends carries a transport-wide sequence number, and the receiver reports
arrival times back about every 100 ms. The relay is that receiver for a publisher's leg.
Recorded per packet (hot path: one dict store); encoded off it, with two-bit status vector
chunks (seven packets each: not received, small delta, large delta) and arrival deltas of
250 µs (one byte up to 63.75 ms, two signed bytes otherwise).
"""

from __future__ import annotations

import struct

RTPFB = 205
FMT_TRANSPORT_CC = 15
NOT_RECEIVED, SMALL_DELTA, LARGE_DELTA = 0, 1, 2
DELTA_US = 250
REFERENCE_US = 64_000
MAX_PER_FEEDBACK = 1000
"""Packets one feedback covers at most; more are left for the next one."""
MAX_PENDING = 8192
"""A gap this far ahead of the oldest unreported packet means a restart: start over."""
_SEQ_MOD = 1 << 16


class TransportFeedback:
    """Lifecycle: on_packet() for every RTP packet of the transport that carries the
    extension; build() every ~100 ms returns the feedback packet (or None). Sequence
    numbers are unwrapped here; a packet arriving after its number was reported is dropped
    (the sender already counted it lost or late)."""

    def __init__(self, sender_ssrc: int, media_ssrc: int = 0) -> None:
        self.sender_ssrc = sender_ssrc
        self.media_ssrc = media_ssrc
        self._arrivals: dict[int, int] = {}
        """Unwrapped sequence number → arrival (µs, monotonic)."""
        self._next: int | None = None
        """The first unwrapped number the next feedback covers."""
        self._last_unwrapped: int | None = None
        self._count = 0
        self.sent = 0

    def on_packet(self, seq: int, arrival_us: int) -> None:
        last = self._last_unwrapped
        if last is None or self._next is None:
            self._last_unwrapped = self._next = unwrapped = seq
        else:
            delta = (seq - last) % _SEQ_MOD
            if delta >= 0x8000:
                delta -= _SEQ_MOD  # older than the newest: reordered
            unwrapped = last + delta
            if delta > 0:
                self._last_unwrapped = unwrapped
            if unwrapped < self._next:
                return  # already reported
            if unwrapped - self._next > MAX_PENDING:
                self._arrivals.clear()  # the sender restarted its numbering
                self._next = unwrapped
        self._arrivals.setdefault(unwrapped, arrival_us)

    def build(self) -> bytes | None:
        """The next feedback packet, covering from the first unreported number to the
        newest received (at most MAX_PER_FEEDBACK), or None if nothing arrived."""
        if not self._arrivals or self._next is None:
            return None
        base = self._next
        received = sorted(s for s in self._arrivals if s < base + MAX_PER_FEEDBACK)
        if not received:
            self._next = min(self._arrivals)
            return self.build()
        end = received[-1] + 1
        statuses: list[int] = []
        deltas = bytearray()
        reference = self._arrivals[received[0]] // REFERENCE_US
        previous = reference * REFERENCE_US
        for seq in range(base, end):
            arrival = self._arrivals.pop(seq, None)
            if arrival is None:
                statuses.append(NOT_RECEIVED)
                continue
            ticks = (arrival - previous) // DELTA_US
            previous += ticks * DELTA_US  # what the sender adds up: no drift from rounding
            if 0 <= ticks <= 0xFF:
                statuses.append(SMALL_DELTA)
                deltas.append(ticks)
            else:
                statuses.append(LARGE_DELTA)
                deltas += struct.pack("!h", max(min(ticks, 0x7FFF), -0x8000))
        self._next = end
        packet = self._encode(base, statuses, reference, bytes(deltas))
        self._count = (self._count + 1) & 0xFF
        self.sent += 1
        return packet

    def _encode(self, base: int, statuses: list[int], reference: int, deltas: bytes) -> bytes:
        chunks = bytearray()
        for start in range(0, len(statuses), 7):
            group = statuses[start : start + 7]
            group += [NOT_RECEIVED] * (7 - len(group))
            word = 0xC000  # status vector chunk, two-bit symbols
            for i, status in enumerate(group):
                word |= status << (12 - 2 * i)
            chunks += struct.pack("!H", word)
        body = (
            struct.pack(
                "!IIHHI",
                self.sender_ssrc,
                self.media_ssrc,
                base & 0xFFFF,
                len(statuses),
                ((reference & 0xFFFFFF) << 8) | self._count,
            )
            + chunks
            + deltas
        )
        padding = -len(body) % 4
        if padding:  # as libwebrtc pads: P bit set, the last byte says how many
            body += b"\x00" * (padding - 1) + bytes([padding])
        first = 0x80 | (0x20 if padding else 0) | FMT_TRANSPORT_CC
        return struct.pack("!BBH", first, RTPFB, len(body) // 4) + body
