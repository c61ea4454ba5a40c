"""A control call and a control chat keep their quality while other clients attack: junk
frames and event floods from another process, and a stream of offers the relay refuses
(issue 8, "what shows it is done"). Figures are printed for docs/security.md."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

from loadtest.call_peer import CallPeer
from loadtest.clients import Customer, ProtocolError, Staff
from media.stamps import StampedVideoTrack
from tests.conftest import start_server
from tests.test_calls import SMALL, ring_and_accept, three_line_offer

ATTACK_SECONDS = 8.0


async def chat_latencies(customer: Customer, agent: Staff, count: int) -> list[float]:
    """Customer → agent delivery time of `count` messages, 10 per second."""
    delays = []
    for i in range(count):
        text = f"control {time.monotonic()} {i}"
        sent = time.monotonic()
        await customer.say(text)
        await agent.next("message", where=lambda m, t=text: m["text"] == t)  # type: ignore[misc]
        delays.append((time.monotonic() - sent) * 1000)
        await asyncio.sleep(0.1)
    return delays


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


async def frames_in(peers: list[CallPeer], seconds: float) -> list[float]:
    before = [p.received["camera"].frames for p in peers]
    await asyncio.sleep(seconds)
    return [(p.received["camera"].frames - b) / seconds for p, b in zip(peers, before, strict=True)]


async def refused_offers(
    attacker: Customer, call_id: int, until: float, refusals: dict[str, int]
) -> int:
    """Offers of the right shape that the relay itself must refuse (no ICE credentials)."""
    good = await three_line_offer()
    offer = "\r\n".join(line for line in good.split("\r\n") if not line.startswith("a=ice-"))
    tracks = {"0": "audio", "1": "camera", "2": "screen"}
    count = 0
    while time.monotonic() < until:
        try:
            await attacker.request(
                "call.join", {"call_id": call_id, "offer": offer, "tracks": tracks}
            )
        except ProtocolError as refused:
            assert refused.code in ("bad_offer", "rate_limited"), refused
            refusals[refused.code] = refusals.get(refused.code, 0) + 1
        count += 1
        await asyncio.sleep(0.05)
    return count


async def test_control_call_and_chat_keep_their_quality_under_attack(tmp_path: Path) -> None:
    server, runner = await start_server(tmp_path / "d", relay={"workers": 1, "preload": True})
    closing: list[object] = []
    try:
        agent = await server.staff("agent1@demo.local")
        other_agent = await server.staff("agent2@demo.local")
        customer = await server.customer(name="Control", topic="billing")
        closing += [agent, other_agent, customer]
        await customer.say("hello")
        await agent.next("chat.assigned")
        call_id = await ring_and_accept(customer, agent, customer.chat_id)
        them = CallPeer(
            customer, call_id, {"camera": StampedVideoTrack(**SMALL)}, read_stamps=False
        )
        us = CallPeer(agent, call_id, {"camera": StampedVideoTrack(**SMALL)}, read_stamps=False)
        closing += [them, us]
        await asyncio.gather(them.join(), us.join())
        await asyncio.gather(them.wait_frames("camera", 10), us.wait_frames("camera", 10))

        baseline_chat = await chat_latencies(customer, agent, 30)
        baseline_fps = await frames_in([them, us], 3.0)

        # The attackers: a customer with a call of their own (agent2) sending bad offers,
        # and four guest connections flooding from another process.
        offerer = await server.customer(name="Offerer", topic="technical")
        closing.append(offerer)
        await offerer.say("hi")
        await other_agent.next("chat.assigned")
        bad_call = await ring_and_accept(offerer, other_agent, offerer.chat_id)
        guests = [Customer(server.url) for _ in range(4)]
        closing += guests
        for guest in guests:
            await guest.open_chat(name="Flood")
        args = [arg for g in guests for arg in (str(g.token), str(g.chat_id))]
        # The flooding process runs at the lowest priority: on these 2 shared cores its own
        # CPU would otherwise be counted against the server (an attacker has a machine of
        # its own); it still sends whatever the cores leave it.
        flood = await asyncio.create_subprocess_exec(
            "nice",
            "-n",
            "19",
            sys.executable,
            "-m",
            "tests.attackers",
            server.url,
            str(ATTACK_SECONDS),
            *args,
            stdout=asyncio.subprocess.PIPE,
        )
        until = time.monotonic() + ATTACK_SECONDS
        refusals: dict[str, int] = {}
        offers = asyncio.create_task(refused_offers(offerer, bad_call, until, refusals))
        await asyncio.sleep(1.0)  # the flood is under way
        attacked_chat = await chat_latencies(customer, agent, 30)
        attacked_fps = await frames_in([them, us], 2.0)
        out, _ = await flood.communicate()
        offers_sent = await offers

        print(
            f"\nbaseline chat p90 {p90(baseline_chat):.1f} ms, fps {baseline_fps}; "
            f"under attack chat p90 {p90(attacked_chat):.1f} ms, fps {attacked_fps}; "
            f"flood {out.decode().strip()}, offers {offers_sent} {refusals}, "
            f"gate {server.runtime.sio.refused}"
        )
        for before, during in zip(baseline_fps, attacked_fps, strict=True):
            assert during >= 0.7 * before, (baseline_fps, attacked_fps)
        # "Normal bounds": p90 within 3x the quiet figure (or 100 ms, what a person does not
        # notice), median within 3x (or 50 ms).
        assert statistics.median(attacked_chat) <= max(50.0, 3 * statistics.median(baseline_chat))
        assert p90(attacked_chat) <= max(100.0, 3 * p90(baseline_chat)), (
            baseline_chat,
            attacked_chat,
        )
        assert offers_sent >= 20 and refusals["bad_offer"] >= 5 and refusals["rate_limited"] >= 5
        state = await agent.request("call.get", {"call_id": call_id})
        assert state["participants"]["customer"]["state"] == "connected"
    finally:
        for thing in reversed(closing):
            await thing.close()  # type: ignore[attr-defined]
        await runner.cleanup()
