"""Round-trip time of one leg (a client's transport) from the report blocks it sends back.

The relay sends each subscriber sender reports (the publisher's, rewritten per down track);
the subscriber's report blocks about that SSRC echo the SR's time (LSR) and how long it held
it (DLSR), so RTT = now - when we sent that SR - DLSR (RFC 3550 6.4.1). A client that also
publishes does so on the same transport, so this is its uplink's round trip too: what the
relay's upstream NACK and keyframe timing need.
"""

from __future__ import annotations

from collections import deque

_U32 = 0xFFFFFFFF
_KEPT = 8
"""Sender reports remembered per SSRC (one a second or so: the last ~8 s can be echoed)."""
_MAX_RTT = 10.0
"""Anything longer is a stale or forged echo, not a round trip."""


class RoundTrip:
    """Lifecycle: sent_sender_report() for each SR the relay sends on the leg,
    on_report_block() for each block the client sends back; `rtt` is the smoothed value
    (seconds, None until the first echo)."""

    def __init__(self, smoothing: float = 0.125) -> None:
        self._sent: dict[int, deque[tuple[int, float]]] = {}
        self._smoothing = smoothing
        self.rtt: float | None = None
        self.samples = 0

    def sent_sender_report(self, ssrc: int, ntp_timestamp: int, when: float) -> None:
        sent = self._sent.get(ssrc)
        if sent is None:
            sent = self._sent[ssrc] = deque(maxlen=_KEPT)
        sent.append(((ntp_timestamp >> 16) & _U32, when))

    def forget(self, ssrc: int) -> None:
        self._sent.pop(ssrc, None)

    def on_report_block(self, ssrc: int, lsr: int, dlsr: int, now: float) -> float | None:
        """A block about `ssrc` arrived at `now`; returns the new sample, if it made one."""
        if lsr == 0:
            return None
        sent = self._sent.get(ssrc)
        if not sent:
            return None
        when = next((at for middle, at in reversed(sent) if middle == lsr), None)
        if when is None:
            return None
        sample = now - when - dlsr / 65536
        if not 0 <= sample <= _MAX_RTT:
            return None
        self.samples += 1
        self.rtt = sample if self.rtt is None else self.rtt + (sample - self.rtt) * self._smoothing
        return sample
