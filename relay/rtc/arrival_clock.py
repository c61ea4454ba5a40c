"""When the kernel received the packet the relay is handling now, on the monotonic clock.

The transport-cc feedback the relay writes for a publisher (relay/rtc/transport_cc.py) carries
each packet's arrival time, and the publisher's send-side estimator reads a growing queue
from them. Read with `time.monotonic_ns()` when the handler runs, an arrival time includes
however long the packet waited in the socket while the relay's loop did other work (a
keyframe forwarded, a batch of datagrams read at once): to the publisher that is a queue on
the path, and on a clean loopback its estimate fell to 409 to 1,120 kbit/s in half the runs
(docs/benchmarks.md, "The clean-link dip and freezes, looked into").

Linux keeps the receive time of the last datagram read from a socket (`SIOCGSTAMPNS`, which
also turns the stamping on at its first use); uvloop hands each datagram to its protocol
right after reading it, so asked from the handler it is this packet's. It is wall-clock
time: the packet's age (now - then, both wall clock) is taken off the monotonic now. A
failed read, a first packet before stamping was on, an age outside [0, MAX_AGE) or a
socket that is not the one the packet came on fall back to the handler's time.
"""

from __future__ import annotations

import fcntl
import struct
import time
from typing import Any

from relay.metrics import COUNTERS

SIOCGSTAMPNS = 0x8907
"""linux/sockios.h: the last received datagram's time as a struct timespec."""
_TIMESPEC = struct.Struct("@qq")
MAX_AGE_NS = 500_000_000
"""A stamp older than this is not the packet in hand (a socket the packet did not come on)."""


class ArrivalClock:
    """Lifecycle: one per transport; `now_us()` per packet, in its handler. Each answer is
    counted (relay/metrics.py) as the kernel's stamp or a fall-back to the handler's time."""

    __slots__ = ("_buffer", "_fd", "_socket_of")

    def __init__(self, socket_of: Any) -> None:
        self._socket_of = socket_of
        """Returns the receiving socket's file descriptor (None: not known yet)."""
        self._fd: int | None = None
        self._buffer = bytearray(_TIMESPEC.size)

    def now_us(self) -> int:
        monotonic = time.monotonic_ns()
        fd = self._fd
        if fd is None:
            fd = self._fd = self._socket_of()
            if fd is None:
                COUNTERS.arrival_stamps_fallback += 1
                return monotonic // 1000
        try:
            fcntl.ioctl(fd, SIOCGSTAMPNS, self._buffer, True)
        except OSError:
            self._fd = None  # closed or replaced: look the socket up again next time
            COUNTERS.arrival_stamps_fallback += 1
            return monotonic // 1000
        seconds, nanoseconds = _TIMESPEC.unpack(self._buffer)
        age: int = time.time_ns() - (int(seconds) * 1_000_000_000 + int(nanoseconds))
        if not 0 <= age < MAX_AGE_NS:
            COUNTERS.arrival_stamps_fallback += 1
            return monotonic // 1000
        COUNTERS.arrival_stamps_kernel += 1
        return (monotonic - age) // 1000
