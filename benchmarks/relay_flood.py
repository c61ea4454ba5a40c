"""A UDP flood at one participant's relay port: does the call survive, how fast does video return?

    .venv/bin/python -m benchmarks.relay_flood [--seconds 10] [--senders 1] [--payload random]

One relay worker process (uvloop, as in production) hosts a room with two RelayPeers
(audio + camera each, VP8) in this process. After a warm-up, `--senders` processes send
garbage datagrams (a tight sendto loop over 256 pre-built payloads) for `--seconds` at the
relay's port of the first peer (the address its ICE nominated, i.e. what an attacker sees
in the answer's candidates), from another socket. Printed: the flood rate achieved, the
relay worker's CPU during the flood (all of its threads, from /proc), camera frames
decoded during the flood per direction, the time from the flood's end to the next
decoded camera frame per direction, the longest gap between camera frames, every
connection state either side reported, and the worker's dropped-datagram counters.

Payloads: `random` (random bytes: STUN-, DTLS-, RTP- and RTCP-looking alike), `rtp` (RTP
version bits, random rest: SRTP that fails authentication), `dtls` (a DTLS record type
byte), `stun` (a STUN binding request header, random transaction, no credentials).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
from dataclasses import dataclass
from typing import Any

from benchmarks.procstat import sample
from loadtest.relay_peer import RelayPeer, join_pair, relay_address
from loadtest.udp_flood import PAYLOADS, Flood
from relay.control.pool import RelayPool
from relay.interface import ParticipantLink, RoomId

ROOM = RoomId("flood")


@dataclass
class Direction:
    """Camera frames one peer decoded, i.e. what the other peer sent through the relay."""

    name: str
    during: int
    resumed_after: float | None
    """Seconds from the flood's end to the next decoded frame (None: none came)."""
    longest_gap: float


def direction(name: str, times: list[float], start: float, end: float, until_: float) -> Direction:
    during = sum(1 for t in times if start <= t < end)
    after = [t for t in times if t >= end]
    window = [t for t in times if start - 1 <= t <= until_]
    gaps = [b - a for a, b in itertools.pairwise(window)]
    if window:
        gaps += [window[0] - (start - 1), until_ - window[-1]]
    return Direction(
        name=name,
        during=during,
        resumed_after=(after[0] - end) if after else None,
        longest_gap=max(gaps, default=until_ - start),
    )


async def run(seconds: float, senders: int, kind: str, watch: float) -> dict[str, Any]:
    pool = RelayPool(workers=1, capacity=4)
    states: list[ParticipantLink] = []
    pool.add_participant_listener(states.append)
    alice, bob = RelayPeer(), RelayPeer()
    loop = asyncio.get_running_loop()
    try:
        await pool.start()
        await pool.open_room(ROOM)
        await join_pair(pool, ROOM, alice, bob, frames=30, timeout=20)
        host, port = relay_address(alice)
        worker_pid = pool.workers[0].pid
        assert worker_pid is not None

        flood = Flood(host, port, seconds, kind=kind, senders=senders)
        cpu_before = sample(worker_pid)
        start = loop.time()
        flood.start()
        sent = await flood.wait()
        end = loop.time()
        cpu_after = sample(worker_pid)
        await asyncio.sleep(watch)
        stop = loop.time()
        raw = await pool.workers[0].request("stats", {})
        assert alice.frame_times is not None and bob.frame_times is not None
        return {
            "target": f"{host}:{port}",
            "sent": sent,
            "rate": sent / (end - start),
            "seconds": end - start,
            "cpu": (cpu_after.cpu_seconds - cpu_before.cpu_seconds) / (end - start),
            "directions": [
                direction(
                    "alice → bob (flooded port's uplink)",
                    bob.frame_times["camera"],
                    start,
                    end,
                    stop,
                ),
                direction(
                    "bob → alice (flooded port's downlink)",
                    alice.frame_times["camera"],
                    start,
                    end,
                    stop,
                ),
            ],
            "states": [f"{s.participant_id}:{s.state}" for s in states],
            "connected": alice.connected and bob.connected,
            "dropped": raw.get("dropped", "n/a (this relay reports no drop counters)"),
        }
    finally:
        await alice.close()
        await bob.close()
        await pool.stop()


def report(result: dict[str, Any], kind: str, senders: int) -> None:
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, relay worker on uvloop")
    print(
        f"flood: {kind} payloads from {senders} process(es) at {result['target']} for "
        f"{result['seconds']:.1f} s: {result['sent']:,} datagrams, {result['rate']:,.0f}/s"
    )
    print(f"relay worker CPU during the flood: {result['cpu'] * 100:.0f} % of a core")
    for d in result["directions"]:
        resumed = "never" if d.resumed_after is None else f"{d.resumed_after:.2f} s"
        print(
            f"{d.name}: {d.during} camera frames during the flood; next frame after its end:"
            f" {resumed}; longest gap {d.longest_gap:.2f} s"
        )
    print(
        f"connection states reported: {result['states'] or 'none'}; "
        f"both connected at the end: {result['connected']}"
    )
    print(f"worker dropped counters: {result['dropped']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--senders", type=int, default=1, help="flooding processes")
    parser.add_argument("--payload", choices=PAYLOADS, default="random")
    parser.add_argument("--watch", type=float, default=10.0, help="seconds watched after it")
    args = parser.parse_args()
    result = asyncio.run(run(args.seconds, args.senders, args.payload, args.watch))
    report(result, args.payload, args.senders)


if __name__ == "__main__":
    main()
