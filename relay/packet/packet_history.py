"""Recent outgoing packets by sequence number, so a subscriber's NACK is answered locally."""

from __future__ import annotations


class PacketHistory:
    """A fixed ring indexed by seq % size: O(1) put and get, old entries overwritten.

    Stores the packet as sent before SRTP protection (it is re-protected on retransmit),
    and when it was last resent: a receiver asks again for a packet still missing after
    its own idea of the round trip, and a resend that has not had a round trip to arrive
    answers nothing new — on a congested link it only adds to the queue that lost it
    (libwebrtc's sender refuses the same, RtpPacketHistory::VerifyRtt).
    """

    __slots__ = ("_mask", "_packets", "_resent", "_seqs")

    def __init__(self, size: int = 1024) -> None:
        if size <= 0 or size & (size - 1) or size > 0x8000:
            raise ValueError(f"history size must be a power of two <= 32768, got {size}")
        self._mask = size - 1
        self._seqs: list[int] = [-1] * size
        self._packets: list[bytes | None] = [None] * size
        self._resent: list[tuple[int, float] | None] = [None] * size
        """Per slot, (seq, when) of its last resend: a mark names its packet, so put(), on
        the forwarding path, need not clear it."""

    def put(self, sequence_number: int, packet: bytes) -> None:
        slot = sequence_number & self._mask
        self._seqs[slot] = sequence_number
        self._packets[slot] = packet

    def get(self, sequence_number: int) -> bytes | None:
        slot = sequence_number & self._mask
        if self._seqs[slot] != sequence_number:
            return None
        return self._packets[slot]

    def get_for_resend(self, sequence_number: int, now: float, interval: float) -> bytes | None:
        """The packet, unless it was resent less than `interval` seconds before `now` (or
        is not held); mark_resent() once it is sent."""
        slot = sequence_number & self._mask
        if self._seqs[slot] != sequence_number:
            return None
        mark = self._resent[slot]
        if mark is not None and mark[0] == sequence_number and now - mark[1] < interval:
            return None
        return self._packets[slot]

    def mark_resent(self, sequence_number: int, now: float) -> None:
        slot = sequence_number & self._mask
        if self._seqs[slot] == sequence_number:
            self._resent[slot] = (sequence_number, now)

    def close(self) -> None:
        """Drop every stored packet; idempotent."""
        size = self._mask + 1
        self._seqs = [-1] * size
        self._packets = [None] * size
        self._resent = [None] * size
