"""relay.public_ip: a relay behind a 1:1 NAT announces the address clients reach it at, beside
its own, in every answer — from the config, through the pool, into each worker process."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from aioice.candidate import Candidate

from loadtest.call_peer import CallPeer
from media.stamps import StampedVideoTrack
from relay.rtc.announce import announce_address
from tests.conftest import start_server
from tests.test_calls import SMALL, chat_pair, ring_and_accept

PUBLIC = "203.0.113.7"  # TEST-NET-3: a documentation address, as an elastic IP would be
ANSWER = "\r\n".join(
    [
        "v=0",
        "m=audio 40000 UDP/TLS/RTP/SAVPF 96",
        "a=mid:0",
        "a=candidate:f957a2332b1715da3b0ef8ba684454eb 1 udp 2130706431 10.0.0.5 40000 typ host",
        "a=candidate:d0bcf3d9c29a2bc887618212a1623bfa 1 udp 2130706431 fd00::5 40001 typ host",
        "a=candidate:0c1d 1 udp 1694498815 198.51.100.9 40002 typ srflx raddr 10.0.0.5 rport 4",
        "a=candidate:77aa 1 udp 2130706431 4f1c5a3e-1b2c.local 40003 typ host",
        "a=end-of-candidates",
        "",
    ]
)


def candidates(sdp: str) -> list[Candidate]:
    return [
        Candidate.from_sdp(line[len("a=candidate:") :])
        for line in sdp.splitlines()
        if line.startswith("a=candidate:")
    ]


def test_a_public_address_follows_each_host_candidate_of_its_family() -> None:
    announced = announce_address(ANSWER, PUBLIC)
    assert announced.endswith("\r\n") and "\n" not in announced.replace("\r\n", "")
    found = candidates(announced)
    assert len(found) == len(candidates(ANSWER)) + 1  # one IPv4 host candidate
    public = next(c for c in found if c.host == PUBLIC)
    # Same port as the private address it maps to (1:1 NAT), that address as its base, a
    # lower priority than host candidates (clients inside the network still go direct).
    assert (public.type, public.port) == ("srflx", 40000)
    assert (public.related_address, public.related_port) == ("10.0.0.5", 40000)
    assert public.priority < 2130706431 and public.foundation != "f957a2332b1715da3b0ef8ba684454eb"
    lines = announced.split("\r\n")
    assert lines.index(f"a=candidate:{public.to_sdp()}") == 4  # right after its host candidate

    v6 = candidates(announce_address(ANSWER, "2001:db8::7"))
    assert [(c.host, c.port) for c in v6 if c.host == "2001:db8::7"] == [("2001:db8::7", 40001)]
    assert announce_address(ANSWER, "") == ANSWER


async def test_the_relay_worker_announces_relay_public_ip_in_its_answers(tmp_path: Path) -> None:
    srv, runner = await start_server(tmp_path / "d", relay={"public_ip": PUBLIC})
    try:
        async with chat_pair(srv) as (customer, agent):
            call_id = await ring_and_accept(customer, agent, customer.chat_id)
            them = CallPeer(customer, call_id, {"camera": StampedVideoTrack(**SMALL)})
            us = CallPeer(agent, call_id)
            try:
                acks = await asyncio.gather(them.join(), us.join())
                for ack in acks:
                    found = candidates(ack["answer"])
                    hosts = {(c.host, c.port) for c in found if c.type == "host" and "." in c.host}
                    announced = {
                        (c.related_address, c.related_port)
                        for c in found
                        if c.host == PUBLIC and c.type == "srflx" and c.port == c.related_port
                    }
                    assert hosts and announced == hosts, ack["answer"]
                    assert re.search(rf"a=candidate:\S+ 1 udp \d+ {PUBLIC} ", ack["answer"])
                # Clients on the relay's own network still connect on its host candidates.
                await us.wait_frames("camera", 5)
            finally:
                await them.close()
                await us.close()
    finally:
        await runner.cleanup()
