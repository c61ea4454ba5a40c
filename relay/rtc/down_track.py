"""One subscriber's copy of one published stream: rewrite, remember for NACKs, send."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Protocol

from aiortc.rtp import RtcpSrPacket

from relay.metrics import COUNTERS
from relay.packet.packet_history import PacketHistory
from relay.packet.retransmit_budget import RetransmitBudget
from relay.packet.rtp_header import RtpHeader, padding_packet, parse_header, rtx_packet
from relay.packet.stream_rewriter import StreamRewriter, seq_newer
from relay.rtc.sender_reports import rewrite_sender_report

HELD_WHILE_WAITING = 128
"""Packets kept while waiting for a keyframe, newest last: a keyframe's first packet that is
lost and retransmitted arrives after the rest of its frame, which must then follow it."""


class RtpSink(Protocol):
    """Where a down track's packets go: an SRTP session and an ICE transport, or a test list."""

    def send_rtp(self, packet: bytes) -> None: ...


class RtxStream:
    """The subscriber's RTX stream (RFC 4588): its own SSRC, payload type and numbering."""

    __slots__ = ("payload_type", "sequence_number", "ssrc")

    def __init__(self, *, ssrc: int, payload_type: int, first_sequence_number: int) -> None:
        self.ssrc = ssrc
        self.payload_type = payload_type
        self.sequence_number = first_sequence_number & 0xFFFF

    def wrap(self, packet: bytes) -> bytes:
        out = rtx_packet(
            packet,
            parse_header(packet),
            payload_type=self.payload_type,
            sequence_number=self.sequence_number,
            ssrc=self.ssrc,
        )
        self.sequence_number = (self.sequence_number + 1) & 0xFFFF
        return out


class DownTrack:
    """Lifecycle: waiting for a keyframe → forwarding → closed (never reused).

    A video down track forwards nothing until a keyframe starts, so a subscriber that
    joins (or whose source changed) never gets a frame it cannot decode. A NACKed packet
    is resent from the history, wrapped as RTX when the subscriber negotiated RTX.
    """

    __slots__ = (
        "_closed",
        "_held",
        "_history",
        "_rewriter",
        "_rtx",
        "_sink",
        "_wait_after_failure",
        "dropped_waiting",
        "filled",
        "refused",
        "retransmitted",
        "send_failed",
        "sent",
        "sent_octets",
        "waiting_for_keyframe",
    )

    def __init__(
        self,
        sink: RtpSink,
        rewriter: StreamRewriter,
        *,
        wait_for_keyframe: bool,
        history_size: int = 512,
        rtx: RtxStream | None = None,
    ) -> None:
        self._sink = sink
        self._rtx = rtx
        self._rewriter = rewriter
        # 0: the subscriber negotiated no NACK (aiortc's audio), so nothing is kept.
        self._history = PacketHistory(history_size) if history_size else None
        self._closed = False
        self._held: deque[tuple[bytes, RtpHeader]] = deque(maxlen=HELD_WHILE_WAITING)
        self.waiting_for_keyframe = wait_for_keyframe
        self.sent = 0
        self.sent_octets = 0
        """Payload octets forwarded (not counting retransmissions), for sender reports."""
        self.dropped_waiting = 0
        self.retransmitted = 0
        self.refused = 0
        """NACKs (or their rest) left unanswered for want of budget."""
        self.filled = 0
        """Padding packets sent in place of packets lost upstream for good."""
        self.send_failed = 0
        self._wait_after_failure = wait_for_keyframe

    @property
    def ssrc(self) -> int:
        return self._rewriter.out_ssrc

    @property
    def last_sequence_number(self) -> int:
        return self._rewriter.last_sequence_number

    @property
    def closed(self) -> bool:
        return self._closed

    def fill_lost(self, source_ssrc: int, lost: Iterable[int]) -> int:
        """Send a padding packet in place of each lost source packet this subscriber has a
        hole for (packets after it were forwarded); returns how many were sent."""
        if self._closed:
            return 0
        filled = 0
        for seq in lost:
            out = self._rewriter.map_sequence(source_ssrc, seq)
            if out is None:
                continue
            packet = padding_packet(
                payload_type=self._rewriter.out_payload_type,
                sequence_number=out,
                timestamp=self._timestamp_before(out),
                ssrc=self._rewriter.out_ssrc,
            )
            if self._history is not None:  # a NACK for it is answered like any other
                self._history.put(out, packet)
            try:
                self._sink.send_rtp(packet)
            except ConnectionError:
                break
            filled += 1
        self.filled += filled
        return filled

    def _timestamp_before(self, out: int) -> int:
        """A filler takes the timestamp of the packet sent just before it, so it joins that
        frame (adding no data). With any other timestamp it is a frame of its own with no
        data, which aiortc's receiver hands its decoder as an empty packet: FFmpeg's
        end-of-stream signal, after which that decoder never decodes again."""
        previous = self._history.get((out - 1) & 0xFFFF) if self._history is not None else None
        if previous is None or len(previous) < 12:
            return self._rewriter.last_timestamp
        return int.from_bytes(previous[4:8], "big")

    def source_changed(self, *, wait_for_keyframe: bool, skip: int = 0) -> None:
        """The published stream restarted: rebase offsets and wait for its next keyframe
        (`skip`: leave that many sequence numbers out before it, see StreamRewriter)."""
        self._rewriter.switch_source(skip=skip)
        self.waiting_for_keyframe = wait_for_keyframe
        self._held.clear()

    def forward(self, data: bytes, header: RtpHeader, keyframe_start: bool) -> None:
        if self._closed:
            return
        if self.waiting_for_keyframe:
            if not keyframe_start:
                self.dropped_waiting += 1
                self._held.append((data, header))
                return
            self.waiting_for_keyframe = False
            if self._held:
                self._start_late_keyframe(data, header)
                return
        out = self._rewriter.rewrite(data, header)
        packet = bytes(out)
        if self._history is not None:
            self._history.put((out[2] << 8) | out[3], packet)
        try:
            self._sink.send_rtp(packet)
        except ConnectionError:
            # The subscriber's transport is not (or no longer) connected: never let this
            # reach the publisher's receive loop; resume cleanly at a keyframe.
            self.send_failed += 1
            COUNTERS.send_failures += 1
            self.waiting_for_keyframe = self._wait_after_failure
            return
        self.sent += 1
        self.sent_octets += len(data) - header.payload_offset
        COUNTERS.packets_forwarded += 1
        COUNTERS.bytes_forwarded += len(packet)

    def _start_late_keyframe(self, data: bytes, header: RtpHeader) -> None:
        """The keyframe starts here, but packets after it may have come first (it was lost
        and retransmitted): send them after it, in order, instead of leaving the subscriber
        a hole no NACK can fill (they were never sent, so its history has none of them)."""
        start = header.sequence_number
        later = [
            (d, h)
            for d, h in self._held
            if h.ssrc == header.ssrc and seq_newer(h.sequence_number, start)
        ]
        self._held.clear()
        later.sort(key=lambda packet: (packet[1].sequence_number - start) & 0xFFFF)
        self.forward(data, header, True)
        for held_data, held_header in later:
            if self._closed or self.waiting_for_keyframe:  # a send failed: wait again
                break
            self.dropped_waiting -= 1
            self.forward(held_data, held_header, False)

    def rewrite_sender_report(self, report: RtcpSrPacket) -> bytes | None:
        """The publisher's SR as this subscriber must see it, or None if not mappable yet.

        NTP time is kept; SSRC, RTP timestamp (through our offset) and the packet/octet
        counts become this down track's; the publisher's report blocks are dropped (they
        describe what the publisher receives, not this stream).
        """
        if self._closed or self.waiting_for_keyframe:
            return None
        rtp_timestamp = self._rewriter.map_timestamp(report.ssrc, report.sender_info.rtp_timestamp)
        if rtp_timestamp is None:
            return None
        return rewrite_sender_report(
            report,
            ssrc=self._rewriter.out_ssrc,
            rtp_timestamp=rtp_timestamp,
            packet_count=self.sent,
            octet_count=self.sent_octets,
        )

    def handle_nack(
        self,
        lost: Iterable[int],
        *,
        now: float = 0.0,
        resend_interval: float = 0.0,
        budget: RetransmitBudget | None = None,
    ) -> int:
        """Resend what the history still holds; returns how many were resent.

        A packet already resent less than `resend_interval` ago (the leg's round trip) is
        not sent again, and `budget`, when given, decides whether the leg has room for each
        resend: on a link that drops for congestion, repeats and unpaced repairs are what
        keep it congested."""
        count = 0
        if self._history is None:
            return 0
        for seq in lost:
            if self._closed:
                break
            packet = self._history.get_for_resend(seq, now, resend_interval)
            if packet is None:
                continue
            if budget is not None and not budget.take(len(packet), now):
                self.refused += 1
                COUNTERS.rtx_refused += 1
                break  # the rest of this NACK is over budget too
            if self._rtx is not None:
                packet = self._rtx.wrap(packet)
            packet = self._rewriter.restamp(packet)
            try:
                self._sink.send_rtp(packet)
            except ConnectionError:
                break
            self._history.mark_resent(seq, now)
            count += 1
        self.retransmitted += count
        COUNTERS.nacks_received += 1
        COUNTERS.rtx_sent += count
        return count

    def close(self) -> None:
        """Stop forwarding and drop the history; idempotent."""
        if not self._closed:
            self._closed = True
            self._held.clear()
            if self._history is not None:
                self._history.close()
