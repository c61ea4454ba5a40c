"""IceGuard on real aioice connections over a real UDP socket: what an attacker's datagrams
cost and what still gets through (issue 8, defect 4)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import aioice
import pytest
from aioice import Candidate
from aioice.ice import CandidatePair

from relay.rtc.ice_guard import QUEUE_LIMIT, DropCounters, IceGuard, SourceBudget

STUN_REQUEST = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + bytes(12)  # binding, no credentials


@pytest.fixture
async def pair() -> AsyncIterator[tuple[aioice.Connection, aioice.Connection]]:
    """Two connected aioice agents on this host's (non-loopback) addresses."""
    a = aioice.Connection(ice_controlling=True)
    b = aioice.Connection(ice_controlling=False)
    await asyncio.gather(a.gather_candidates(), b.gather_candidates())
    for near, far in ((a, b), (b, a)):
        for candidate in far.local_candidates:
            await near.add_remote_candidate(candidate)
        await near.add_remote_candidate(None)
        near.remote_username, near.remote_password = far.local_username, far.local_password
    await asyncio.gather(a.connect(), b.connect())
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


def local_address(connection: aioice.Connection) -> tuple[str, int]:
    sockname = connection._nominated[1].protocol.transport.get_extra_info("sockname")
    return str(sockname[0]), int(sockname[1])


async def until(condition: object, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_foreign_datagrams_are_dropped_at_the_socket_and_the_peer_still_gets_through(
    pair: tuple[aioice.Connection, aioice.Connection],
) -> None:
    a, b = pair
    drops = DropCounters()
    guard = IceGuard(b, drops)
    host, port = local_address(b)
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as s:
        for first in (0x80, 0x17, 0x90, 0xFF):  # SRTP-, DTLS-, RTCP-looking, junk
            s.sendto(bytes([first]) + bytes(99), (host, port))
        for _ in range(20):  # a STUN flood from one source: its budget, then nothing
            for _ in range(10):  # paced, so the kernel's buffer does not drop any under load
                s.sendto(STUN_REQUEST, (host, port))
            await asyncio.sleep(0.001)
        s.sendto(b"", (host, port))
        await until(lambda: drops.foreign + drops.empty == 5 and drops.stun_over_budget >= 140)
    assert drops.foreign == 4 and drops.empty == 1
    # 50 in the burst, and what refills (50/s) while they arrive, went to aioice.
    assert 140 <= drops.stun_over_budget <= 150, drops.as_dict()
    assert b._queue.qsize() == 0  # nothing of it waits for aiortc

    await a.send(b"\x80media")  # the nominated peer: straight through
    assert await asyncio.wait_for(b.recv(), 2) == b"\x80media"

    guard.close()
    guard.close()
    for protocol in b._protocols:
        assert "datagram_received" not in vars(protocol)
    assert "put_nowait" not in vars(b._queue)


async def test_media_from_any_pair_ice_proved_passes_not_only_the_last_nominated_one(
    pair: tuple[aioice.Connection, aioice.Connection],
) -> None:
    """With IPv4 and IPv6, the relay's side may nominate another pair than the peer uses,
    and the peer's may still be in progress here when its DTLS arrives. Both seen under
    load in a worker: the peer's DTLS was dropped as foreign and it never connected."""
    a, b = pair
    drops = DropCounters()
    guard = IceGuard(b, drops)
    elsewhere = CandidatePair(
        b._protocols[-1],
        Candidate(
            foundation="other",
            component=1,
            transport="udp",
            priority=1,
            host="203.0.113.1",
            port=9,
            type="host",
        ),
    )
    elsewhere.state = CandidatePair.State.SUCCEEDED
    chosen = b._nominated[1]
    b._nominated[1] = elsewhere  # nominated here; `a` still sends on the pair it chose,
    chosen.state = CandidatePair.State.IN_PROGRESS  # whose check has not even succeeded here
    await a.send(b"\x80media")
    assert await asyncio.wait_for(b.recv(), 2) == b"\x80media"
    assert drops.foreign == 0
    guard.close()


async def test_what_waits_for_aiortc_is_capped_and_the_close_sentinel_still_passes(
    pair: tuple[aioice.Connection, aioice.Connection],
) -> None:
    a, b = pair
    drops = DropCounters()
    guard = IceGuard(b, drops)
    for n in range(QUEUE_LIMIT + 44):  # nobody reads b: what is queued stays queued
        await a.send(b"\x17dtls" + n.to_bytes(2, "big"))
    await until(lambda: drops.queue_full == 44)
    assert b._queue.qsize() == QUEUE_LIMIT
    await b.close()  # aioice puts None for a pending recv(): never refused
    assert b._queue.qsize() == QUEUE_LIMIT + 1
    guard.close()


def test_source_budget_refills_and_shares_one_bucket_past_its_source_limit() -> None:
    now = [0.0]
    budget = SourceBudget(rate=10, burst=5, max_sources=2, clock=lambda: now[0])
    assert [budget.allow("198.51.100.1", 1) for _ in range(6)] == [True] * 5 + [False]
    now[0] += 0.3  # three tokens back
    assert sum(budget.allow("198.51.100.1", 1) for _ in range(5)) == 3
    assert budget.allow("198.51.100.2", 1)
    # A third, fourth... source shares the overflow bucket: spraying sources buys nothing.
    sprayed = sum(budget.allow("203.0.113.9", port) for port in range(100))
    assert sprayed == 5 and budget.sources == 2
    now[0] += 10  # idle sources are forgotten when room is needed
    assert budget.allow("203.0.113.9", 7) and budget.sources == 1
