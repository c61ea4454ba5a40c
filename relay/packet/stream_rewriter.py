"""Map one incoming stream onto one subscriber's SSRC so seq and timestamps never jump back."""

from __future__ import annotations

import time
from collections.abc import Callable

from relay.packet.rtp_header import RtpHeader, replace_extension_block, rewrite_header
from relay.packet.send_side_bwe import SentHistory

_monotonic_ns = time.monotonic_ns
_SEQ_MASK = 0xFFFF
_TS_MASK = 0xFFFFFFFF
_FILL_WINDOW = 512
"""How far back a lost packet's hole may be filled (the subscribers' NACK history size)."""


def seq_newer(a: int, b: int) -> bool:
    """True if 16-bit sequence number `a` comes after `b` (RFC 3550 wrap-around)."""
    return a != b and ((a - b) & _SEQ_MASK) < 0x8000


class StreamRewriter:
    """Per subscriber per stream: rewrite SSRC, payload type, seq, timestamp and extensions.

    Offsets are chosen when the first packet of a source (an incoming SSRC) arrives: the
    output continues at last seq + 1 and last timestamp + the wall-clock gap, so a source
    switch or a publisher reconnect looks like a pause to the subscriber, not a new stream.
    """

    __slots__ = (
        "_abs_send_time_at",
        "_clock",
        "_clock_rate",
        "_ext_block",
        "_last_out_seq",
        "_last_out_ts",
        "_last_sent_at",
        "_rebased_at",
        "_sent",
        "_seq_offset",
        "_skip",
        "_source_ssrc",
        "_transport_seq_at",
        "_ts_offset",
        "out_payload_type",
        "out_ssrc",
    )

    def __init__(
        self,
        *,
        out_ssrc: int,
        out_payload_type: int,
        clock_rate: int,
        extension_block: bytes = b"",
        abs_send_time_at: int | None = None,
        transport_seq_at: int | None = None,
        sent_history: SentHistory | None = None,
        first_sequence_number: int = 0,
        first_timestamp: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out_ssrc = out_ssrc
        self.out_payload_type = out_payload_type
        self._clock_rate = clock_rate
        self._ext_block = extension_block
        self._abs_send_time_at = abs_send_time_at
        self._transport_seq_at = transport_seq_at if sent_history is not None else None
        self._sent = sent_history
        """The transport's numbering and send times: every packet this rewriter makes or
        restamps gets the next transport-wide number (shared by all streams of a transport)."""
        self._clock = clock
        self._source_ssrc: int | None = None
        self._seq_offset = 0
        self._ts_offset = 0
        self._rebased_at = first_sequence_number & _SEQ_MASK
        self._skip = 0
        # The output "before" the first packet, so the first one gets first_*.
        self._last_out_seq = (first_sequence_number - 1) & _SEQ_MASK
        self._last_out_ts = first_timestamp
        self._last_sent_at: float | None = None

    @property
    def last_sequence_number(self) -> int:
        """The newest output sequence number so far."""
        return self._last_out_seq

    def map_timestamp(self, source_ssrc: int, timestamp: int) -> int | None:
        """`timestamp` of `source_ssrc` on our output clock, or None if that source's offset is
        not set (nothing of it forwarded yet, or the source changed since)."""
        if source_ssrc != self._source_ssrc:
            return None
        return (timestamp + self._ts_offset) & _TS_MASK

    def map_sequence(self, source_ssrc: int, sequence_number: int) -> int | None:
        """`sequence_number` of `source_ssrc` as this subscriber numbers it, if that falls
        between the current offsets' first output and the newest one (a hole the
        subscriber may be waiting on); else None."""
        if source_ssrc != self._source_ssrc:
            return None
        out = (sequence_number + self._seq_offset) & _SEQ_MASK
        back = (self._last_out_seq - out) & _SEQ_MASK
        since_rebase = (self._last_out_seq - self._rebased_at) & _SEQ_MASK
        if not 0 < back < since_rebase or back > _FILL_WINDOW:
            return None
        return out

    @property
    def last_timestamp(self) -> int:
        return self._last_out_ts

    def switch_source(self, *, skip: int = 0) -> None:
        """Recompute offsets on the next packet even if its SSRC is unchanged (reconnect).

        `skip` sequence numbers are left out before it: a receiver waiting on holes in
        what came before then gives up on them at once (aiortc's video jitter buffer drops
        everything once a packet is 512 ahead of its oldest) and starts at the keyframe."""
        self._source_ssrc = None
        self._skip = skip & _SEQ_MASK

    def rewrite(self, data: bytes, header: RtpHeader) -> bytearray:
        """Return a rewritten copy of `data` (its header already parsed as `header`)."""
        if header.ssrc != self._source_ssrc:
            self._rebase(header)
        out_seq = (header.sequence_number + self._seq_offset) & _SEQ_MASK
        out_ts = (header.timestamp + self._ts_offset) & _TS_MASK
        if seq_newer(out_seq, self._last_out_seq):
            self._last_out_seq = out_seq
            self._last_out_ts = out_ts
            self._last_sent_at = self._clock()
        buf = replace_extension_block(data, header, self._ext_block)
        if self._abs_send_time_at is not None:
            self._stamp_send_time(buf, header.csrc_end + self._abs_send_time_at)
        if self._transport_seq_at is not None:
            self._stamp_transport_seq(buf, header.csrc_end + self._transport_seq_at)
        rewrite_header(
            buf,
            payload_type=self.out_payload_type,
            sequence_number=out_seq,
            timestamp=out_ts,
            ssrc=self.out_ssrc,
        )
        return buf

    def restamp(self, packet: bytes) -> bytes:
        """`packet` (one this rewriter made, or its RTX wrapping) with abs-send-time set to
        now, for a resend: a receiver's delay-based estimator reads a retransmission's
        original send time as that much queueing delay, and lowers its REMB for it."""
        if self._abs_send_time_at is None and self._transport_seq_at is None:
            return packet
        buf = bytearray(packet)
        block_at = 12 + 4 * (buf[0] & 0x0F)
        if self._abs_send_time_at is not None:
            self._stamp_send_time(buf, block_at + self._abs_send_time_at)
        if self._transport_seq_at is not None:
            self._stamp_transport_seq(buf, block_at + self._transport_seq_at)
        return bytes(buf)

    def _stamp_send_time(self, buf: bytearray, at: int) -> None:
        # abs-send-time: seconds in 6.18 fixed point, 24 bits (any epoch).
        buf[at : at + 3] = (int(self._clock() * 262144) & 0xFFFFFF).to_bytes(3, "big")

    def _stamp_transport_seq(self, buf: bytearray, at: int) -> None:
        assert self._sent is not None
        seq = self._sent.on_sent(len(buf), _monotonic_ns() // 1000)
        buf[at : at + 2] = seq.to_bytes(2, "big")

    def _rebase(self, header: RtpHeader) -> None:
        next_seq = (self._last_out_seq + 1 + self._skip) & _SEQ_MASK
        self._skip = 0
        if self._last_sent_at is None:
            next_ts = self._last_out_ts
        else:
            elapsed = max(self._clock() - self._last_sent_at, 0.0)
            next_ts = self._last_out_ts + max(int(elapsed * self._clock_rate), 1)
        self._rebased_at = next_seq
        self._seq_offset = (next_seq - header.sequence_number) & _SEQ_MASK
        self._ts_offset = (next_ts - header.timestamp) & _TS_MASK
        self._source_ssrc = header.ssrc
