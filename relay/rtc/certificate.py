"""The DTLS certificate of one relay worker process, shared by all its peer connections.

aiortc makes a key pair and a certificate for every RTCPeerConnection, hashes it three ways
for every m-line of every answer, and builds an SSL context for every DTLS handshake: about
1 ms of a join's CPU (docs/benchmarks.md, "Relay join and call setup"). Clients see the
same fingerprint in every answer of a worker, as with Janus or mediasoup; each handshake
still has its own ephemeral keys and SRTP keys, and verifies the client's own certificate.
Workers are spawned processes, so no two workers share one. A certificate is replaced once it is a
day old (aiortc's are valid for 30 days); peer connections keep the one they started with.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from relay.rtc.aiortc_compat import ReusableCertificate

MAX_AGE_S = 24 * 3600.0


class WorkerCertificate:
    """Lifecycle: none until the first current() → one certificate, replaced by the first
    current() after `max_age` seconds."""

    def __init__(
        self, max_age: float = MAX_AGE_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_age = max_age
        self._clock = clock
        self._certificate: ReusableCertificate | None = None
        self._made_at = 0.0

    def current(self) -> ReusableCertificate:
        now = self._clock()
        if self._certificate is None or now - self._made_at >= self.max_age:
            self._certificate = ReusableCertificate.generateCertificate()
            self._made_at = now
        return self._certificate


WORKER_CERTIFICATE = WorkerCertificate()
"""This process's: every RelayParticipant's peer connection takes its current one."""
