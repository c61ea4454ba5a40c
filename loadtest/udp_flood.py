"""Garbage UDP at a relay port from other processes, as fast as a tight sendto() loop goes.

An attacker needs nothing but the address in the relay's SDP answer. The senders are
separate processes (spawned) so the flood does not share the event loop or the GIL of
whoever measures the call.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
import time
from multiprocessing.process import BaseProcess
from multiprocessing.sharedctypes import Synchronized

PAYLOADS = ("random", "rtp", "dtls", "stun")


def garbage(kind: str, count: int = 256) -> list[bytes]:
    """`count` datagrams of 100-199 bytes: `random` bytes (STUN-, DTLS-, RTP- and RTCP-looking
    alike), `rtp` (RTP version bits: SRTP that fails authentication), `dtls` (a DTLS record
    type byte) or `stun` (a binding request header, random transaction, no credentials)."""
    out = []
    for i in range(count):
        data = bytearray(os.urandom(100 + i % 100))
        if kind == "rtp":
            data[0], data[1] = 0x80, 96
        elif kind == "dtls":
            data[0] = 23  # application data record
        elif kind == "stun":
            data[0:4] = b"\x00\x01\x00" + bytes([len(data) - 20])
            data[4:8] = b"\x21\x12\xa4\x42"
        out.append(bytes(data))
    return out


def flood(host: str, port: int, seconds: float, kind: str, sent: Synchronized[int]) -> None:
    """Process target: sendto() in a tight loop until `seconds` have passed."""
    payloads = garbage(kind)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sendto = sock.sendto
        address = (host, port)
        count = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for data in payloads:
                try:  # noqa: SIM105  (contextlib.suppress costs more per datagram)
                    sendto(data, address)
                except OSError:  # ENOBUFS and the like: the kernel is full, go on
                    pass
            count += len(payloads)
    sent.value = count


class Flood:
    """Lifecycle: start() → wait() (returns datagrams sent); processes never outlive wait()."""

    def __init__(
        self, host: str, port: int, seconds: float, *, kind: str = "random", senders: int = 1
    ) -> None:
        if kind not in PAYLOADS:
            raise ValueError(f"payload must be one of {PAYLOADS}")
        context = multiprocessing.get_context("spawn")
        self._counters = [context.Value("q", 0) for _ in range(senders)]
        self._processes: list[BaseProcess] = [
            context.Process(target=flood, args=(host, port, seconds, kind, c), daemon=True)
            for c in self._counters
        ]

    def start(self) -> None:
        for process in self._processes:
            process.start()

    async def wait(self) -> int:
        def join() -> None:
            for process in self._processes:
                process.join()

        await asyncio.to_thread(join)
        return sum(int(c.value) for c in self._counters)
