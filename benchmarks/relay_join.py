"""CPU a relay worker spends per join: answering the offer, then ICE and DTLS until connected.

    .venv/bin/python -m benchmarks.relay_join [--joins 40] [--rounds 3] [--tree DIR]
    .venv/bin/python -m benchmarks.relay_join --profile [--joins 40]   # cProfile, in-process

One relay worker process (uvloop, as in production, the real RelayPool and worker host)
and, in this process, `--joins` headless aiortc clients (loadtest.relay_peer.RelayPeer with
the protocol's three sendrecv m-lines and no tracks, so no media is forwarded), two per
room. Every client's offer is built and gathered before measuring. Then, reading the
worker's utime+stime from /proc (all its threads):
- *answer*: the joins one after another, from the first Join sent to the last answer;
- *connect*: the clients take their answers; until every peer connection is connected
  (ICE checks, DTLS handshake, SRTP keys) on both sides, plus 0.5 s;
- *idle*: as long again with everyone connected (consent checks, RTCP), subtracted
  from *connect* so the per-join figure is what joining cost, not what the time waited did.
Printed per round and as the median over rounds, in ms of worker CPU per join.

`--tree DIR` runs the relay from another checkout (a `git worktree` of an older commit) with
this file's measuring code, so old and new can be alternated in one sitting:

    git worktree add /tmp/base-join e225eb5
    for i in 1 2 3; do
      .venv/bin/python -m benchmarks.relay_join --tree /tmp/base-join --rounds 1
      .venv/bin/python -m benchmarks.relay_join --rounds 1
    done

`--profile` instead joins in this process (a Room without a worker) under cProfile and
prints the functions with the most cumulative time, the answer path only.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import pstats
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Round:
    joins: int
    answer_ms: float
    """Worker CPU per join while answering (ms)."""
    connect_ms: float
    """Worker CPU per join from the answers to everyone connected, idle subtracted (ms)."""
    idle_ms: float
    """Worker CPU per join of the same time idle, connected (ms; what was subtracted). It
    overstates the idle cost while peers were still connecting: with many joins per round
    `connect` can come out near zero or below; `connect_raw_ms` is without it."""
    connect_raw_ms: float
    wall_answer_ms: float
    """Wall time per answer, joined one after another (ms)."""

    @property
    def total_ms(self) -> float:
        return round(self.answer_ms + self.connect_ms, 2)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all threads (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as handle:
        stat = handle.read()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def until(condition: Any, timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110  (connection states have no single event)
            await asyncio.sleep(0.02)


async def one_round(pool: Any, pid: int, joins: int, number: int) -> Round:
    from loadtest.relay_peer import RelayPeer
    from relay.interface import CloseReason, ParticipantId, RoomId

    peers = [RelayPeer(camera=False, audio=False) for _ in range(joins)]
    offers = [await peer.offer() for peer in peers]
    rooms = [RoomId(f"join-{number}-{i}") for i in range(joins // 2 + joins % 2)]
    for room in rooms:
        await pool.open_room(room)
    await asyncio.sleep(0.5)  # the worker settles after the room opens
    try:
        cpu0, wall0 = cpu_seconds(pid), time.perf_counter()
        answers = []
        for i, (offer, tracks) in enumerate(offers):
            answers.append(await pool.join(rooms[i // 2], ParticipantId(f"p{i}"), offer, tracks))
        cpu1, wall1 = cpu_seconds(pid), time.perf_counter()
        for peer, answer in zip(peers, answers, strict=True):
            await peer.accept(answer)
        await until(lambda: all(peer.connected for peer in peers))
        await asyncio.sleep(0.5)
        cpu2, wall2 = cpu_seconds(pid), time.perf_counter()
        await asyncio.sleep(wall2 - wall1)
        cpu3 = cpu_seconds(pid)
    finally:
        for room in rooms:
            await pool.close_room(room, CloseReason.CALL_ENDED)
        for peer in peers:
            await peer.close()
    idle = cpu3 - cpu2
    return Round(
        joins=joins,
        answer_ms=round(1000 * (cpu1 - cpu0) / joins, 2),
        connect_ms=round(1000 * (cpu2 - cpu1 - idle) / joins, 2),
        idle_ms=round(1000 * idle / joins, 2),
        connect_raw_ms=round(1000 * (cpu2 - cpu1) / joins, 2),
        wall_answer_ms=round(1000 * (wall1 - wall0) / joins, 2),
    )


async def measure(joins: int, rounds: int) -> list[Round]:
    from relay.control.pool import RelayPool

    pool = RelayPool(workers=1)
    await pool.start()
    try:
        pid = pool.workers[0].pid
        assert pid is not None
        await one_round(pool, pid, 4, 0)  # warm-up: imports, first sockets
        results = []
        for number in range(1, rounds + 1):
            result = await one_round(pool, pid, joins, number)
            print(
                f"  round {number}: answer {result.answer_ms} + connect {result.connect_ms}"
                f" = {result.total_ms} ms CPU/join (idle {result.idle_ms} subtracted, connect"
                f" {result.connect_raw_ms} without; answer wall"
                f" {result.wall_answer_ms} ms)",
                flush=True,
            )
            results.append(result)
        return results
    finally:
        await pool.stop()


async def profile(joins: int, top: int) -> None:
    """cProfile of Room.join (the answer path) in this process, offers built beforehand."""
    from aiortc import RTCBundlePolicy, RTCConfiguration

    from loadtest.relay_peer import RelayPeer
    from relay.interface import CloseReason, ParticipantId, RoomId
    from relay.rtc.room import Room

    try:  # as the worker prepares itself (an older tree has only the lazy estimator)
        from relay.rtc import worker_process

        worker_process.prepare()
    except ImportError:
        from relay.rtc import lazy_estimator

        lazy_estimator.install()
    configuration = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    peers = [RelayPeer(camera=False, audio=False) for _ in range(joins + 1)]
    offers = [await peer.offer() for peer in peers]
    rooms = [Room(RoomId(f"profile-{i}"), configuration) for i in range(joins // 2 + 2)]
    await rooms[-1].join(ParticipantId("warm-up"), *offers.pop())
    gc.collect()
    gc.freeze()  # as a worker does at start (what allocations now set off is measured)
    profiler = cProfile.Profile()
    cpu0 = time.process_time()
    profiler.enable()
    for i, (offer, tracks) in enumerate(offers):
        await rooms[i // 2].join(ParticipantId(f"p{i}"), offer, tracks)
    profiler.disable()
    cpu = time.process_time() - cpu0
    print(f"answer path in-process: {1000 * cpu / joins:.2f} ms CPU/join (with cProfile's cost)")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)
    for room in rooms:
        await room.close(CloseReason.CALL_ENDED)
    for peer in peers:
        await peer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--joins", type=int, default=40, help="joins per round (two per room)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tree", type=Path, help="run the relay from this checkout instead")
    parser.add_argument("--profile", action="store_true", help="cProfile the answer in-process")
    parser.add_argument("--top", type=int, default=40, help="functions --profile prints")
    parser.add_argument("--json", type=Path, help="also write the rounds here")
    args = parser.parse_args()
    if args.tree is not None and os.environ.get("RELAY_JOIN_TREE") != str(args.tree.resolve()):
        # Run this file by its path with the other tree first on the path: the spawned
        # worker re-imports the main module, which the other tree's benchmarks/ may lack.
        tree = str(args.tree.resolve())
        env = {**os.environ, "RELAY_JOIN_TREE": tree, "PYTHONPATH": tree}
        os.execve(sys.executable, [sys.executable, __file__, *sys.argv[1:]], env)
    import relay

    print(f"relay from {Path(relay.__file__).parent.parent}", flush=True)
    if args.profile:
        asyncio.run(profile(args.joins, args.top))
        return
    results = asyncio.run(measure(args.joins, args.rounds))
    summary = {
        "tree": str(Path(relay.__file__).parent.parent),
        "joins": args.joins,
        "answer_ms": statistics.median(r.answer_ms for r in results),
        "connect_ms": statistics.median(r.connect_ms for r in results),
        "total_ms": statistics.median(r.total_ms for r in results),
        "idle_ms": statistics.median(r.idle_ms for r in results),
        "total_raw_ms": statistics.median(r.answer_ms + r.connect_raw_ms for r in results),
        "rounds": [asdict(r) for r in results],
    }
    print(
        f"median over {len(results)} round(s): answer {summary['answer_ms']} + connect "
        f"{summary['connect_ms']} = {summary['total_ms']} ms of worker CPU per join"
        f" ({summary['total_raw_ms']} without subtracting idle)",
        flush=True,
    )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
