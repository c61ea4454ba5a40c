"""Arrival times for transport-cc feedback (relay/rtc/arrival_clock.py): the kernel's receive
time of each datagram, not the moment a busy loop got round to it. Read at the handler, the
publisher's estimator saw a queue on a clean link whenever the relay's loop was busy."""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from typing import Any

from relay.metrics import COUNTERS
from relay.rtc.arrival_clock import ArrivalClock

GAP_S = 0.02


async def test_packets_that_waited_for_a_busy_loop_keep_the_spacing_they_arrived_with() -> None:
    loop = asyncio.get_running_loop()
    arrivals: list[tuple[int, int]] = []  # (the clock's µs, the handler's own µs)
    clock: ArrivalClock | None = None
    wanted = 1
    enough = asyncio.Event()

    class Receiver(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            assert clock is not None
            arrivals.append((clock.now_us(), time.monotonic_ns() // 1000))
            if len(arrivals) >= wanted:
                enough.set()

    kernel, fallback = COUNTERS.arrival_stamps_kernel, COUNTERS.arrival_stamps_fallback
    transport, _ = await loop.create_datagram_endpoint(Receiver, local_addr=("127.0.0.1", 0))
    fd = transport.get_extra_info("socket").fileno()
    clock = ArrivalClock(lambda: fd)
    address = transport.get_extra_info("sockname")
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sender.sendto(b"first", address)  # the first read turns the kernel's stamping on
        await asyncio.wait_for(enough.wait(), 5)
        arrivals.clear()
        enough.clear()
        wanted = 5

        def send() -> None:
            for n in range(5):
                sender.sendto(b"packet %d" % n, address)
                time.sleep(GAP_S)

        thread = threading.Thread(target=send)
        thread.start()
        time.sleep(0.25)  # noqa: ASYNC251 (the loop kept busy: every packet waits in the socket)
        thread.join()
        await asyncio.wait_for(enough.wait(), 5)
    finally:
        sender.close()
        transport.close()
    stamped = [b[0] - a[0] for a, b in itertools.pairwise(arrivals)]
    handled = [b[1] - a[1] for a, b in itertools.pairwise(arrivals)]
    assert max(handled) < 5_000, handled  # the handler saw them all at once
    assert all(0.6 * GAP_S * 1e6 < gap < 3 * GAP_S * 1e6 for gap in stamped), stamped
    assert arrivals[-1][0] < arrivals[-1][1] - 100_000  # the last one waited ≥ 0.1 s
    assert COUNTERS.arrival_stamps_kernel - kernel == 6
    assert COUNTERS.arrival_stamps_fallback == fallback


def test_an_unknown_or_closed_socket_falls_back_to_the_handlers_time() -> None:
    kernel, fallback = COUNTERS.arrival_stamps_kernel, COUNTERS.arrival_stamps_fallback
    unknown = ArrivalClock(lambda: None)
    before = time.monotonic_ns() // 1000
    assert before <= unknown.now_us() <= time.monotonic_ns() // 1000
    closed_fd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    fd = closed_fd.fileno()
    closed_fd.close()
    closed = ArrivalClock(lambda: fd)
    before = time.monotonic_ns() // 1000
    assert before <= closed.now_us() <= time.monotonic_ns() // 1000
    assert COUNTERS.arrival_stamps_fallback - fallback == 2
    assert COUNTERS.arrival_stamps_kernel == kernel
