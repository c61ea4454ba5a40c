"""What the relay received of one publisher's stream, as an RTCP receiver report block says it.

aiortc's receiver never sees the packets the relay forwards (relay/rtc/transport_tap.py takes
them first), so the receiver reports a publisher gets would carry no report blocks: a browser
then learns nothing about loss, jitter or round-trip time on its uplink, and its loss-based
bandwidth estimate never moves. These counters are kept from the forwarded packets
themselves, per RFC 3550 appendix A.1 (sequence numbers), A.3 (loss) and A.8 (jitter).
"""

from __future__ import annotations

from aiortc.rtp import RtcpReceiverInfo

_SEQ_MOD = 1 << 16
_MAX_DROPOUT = 3000
"""A forward jump up to this many is loss; a larger one is taken as a restart only when
the next packet follows it (RFC 3550 A.1)."""
_MAX_MISORDER = 100
_U32 = 0xFFFFFFFF
_LOST_MIN, _LOST_MAX = -(1 << 23), (1 << 23) - 1  # the report block's 24-bit signed field


class ReceiveStatistics:
    """Counters of one source SSRC. Lifecycle: fed by on_packet() (hot path: a few integer
    operations, no allocation) and on_sender_report(); read by report_block(), which also
    starts the next reporting interval."""

    __slots__ = (
        "_bad_seq",
        "_base_seq",
        "_clock_rate",
        "_cycles",
        "_expected_prior",
        "_jitter",
        "_last_sr_arrival",
        "_last_sr_middle",
        "_last_timestamp",
        "_last_transit",
        "_max_seq",
        "_received_prior",
        "fraction_lost",
        "received",
    )

    def __init__(self, clock_rate: int) -> None:
        if clock_rate <= 0:
            raise ValueError(f"clock rate must be positive, got {clock_rate}")
        self._clock_rate = clock_rate
        self._base_seq: int | None = None
        self._max_seq = 0
        self._cycles = 0
        self._bad_seq = -1
        self._expected_prior = 0
        self._received_prior = 0
        self._last_timestamp: int | None = None
        self._last_transit = 0
        self._jitter = 0.0
        self._last_sr_middle = 0
        self._last_sr_arrival: float | None = None
        self.received = 0
        self.fraction_lost = 0
        """Of the last reporting interval, in 1/256 (what the last report block said)."""

    def on_packet(self, seq: int, timestamp: int, arrival: float) -> None:
        """One original packet (not a retransmission) arrived; `arrival` in seconds."""
        if self._base_seq is None:
            self._restart(seq)
        else:
            delta = (seq - self._max_seq) % _SEQ_MOD
            if delta < _MAX_DROPOUT:
                if seq < self._max_seq:
                    self._cycles += _SEQ_MOD
                self._max_seq = seq
            elif delta <= _SEQ_MOD - _MAX_MISORDER:
                # A very large jump: a restarted sender if the next packet follows it.
                if seq != self._bad_seq:
                    self._bad_seq = (seq + 1) % _SEQ_MOD
                    return
                self._restart(seq)
            # else: a duplicate or a packet out of order, counted below
        self.received += 1
        if timestamp != self._last_timestamp:
            # Jitter per frame, not per packet: a frame's packets share one timestamp and
            # leave the sender paced, which is not network jitter (libwebrtc does the same).
            transit = (round(arrival * self._clock_rate) - timestamp) & _U32
            if self._last_timestamp is not None:
                d = ((transit - self._last_transit + (1 << 31)) & _U32) - (1 << 31)
                self._jitter += (abs(d) - self._jitter) / 16
            self._last_transit = transit
            self._last_timestamp = timestamp

    def _restart(self, seq: int) -> None:
        self._base_seq = seq
        self._max_seq = seq
        self._cycles = 0
        self._bad_seq = -1
        self._expected_prior = 0
        self._received_prior = 0
        self.received = 0

    def on_sender_report(self, ntp_timestamp: int, arrival: float) -> None:
        """The publisher's SR for this SSRC: its time goes back in the next block (LSR/DLSR),
        so the publisher can work out the round trip."""
        self._last_sr_middle = (ntp_timestamp >> 16) & _U32
        self._last_sr_arrival = arrival

    @property
    def extended_highest(self) -> int:
        return self._cycles + self._max_seq

    @property
    def expected(self) -> int:
        if self._base_seq is None:
            return 0
        return self.extended_highest - self._base_seq + 1

    @property
    def cumulative_lost(self) -> int:
        """Expected minus received since the start (negative with duplicates, as RFC 3550 says)."""
        return self.expected - self.received

    @property
    def jitter_seconds(self) -> float:
        return self._jitter / self._clock_rate

    def report_block(self, ssrc: int, now: float) -> RtcpReceiverInfo | None:
        """The block for the next receiver report (None before the first packet)."""
        if self._base_seq is None:
            return None
        expected = self.expected
        expected_interval = expected - self._expected_prior
        received_interval = self.received - self._received_prior
        self._expected_prior = expected
        self._received_prior = self.received
        lost_interval = expected_interval - received_interval
        if expected_interval <= 0 or lost_interval <= 0:
            self.fraction_lost = 0
        else:
            self.fraction_lost = min((lost_interval << 8) // expected_interval, 255)
        lsr = dlsr = 0
        if self._last_sr_arrival is not None:
            lsr = self._last_sr_middle
            dlsr = min(max(round((now - self._last_sr_arrival) * 65536), 0), _U32)
        return RtcpReceiverInfo(
            ssrc=ssrc,
            fraction_lost=self.fraction_lost,
            packets_lost=min(max(self.cumulative_lost, _LOST_MIN), _LOST_MAX),
            highest_sequence=self.extended_highest & _U32,
            jitter=min(round(self._jitter), _U32),
            lsr=lsr,
            dlsr=dlsr,
        )
