"""What one Socket.IO disconnect costs the server's client manager, against the number of
sockets held: python-socketio's AsyncManager (scans every room of the namespace) against
signaling.realtime.room_index.IndexedManager (visits the rooms of that socket).

    .venv/bin/python -m benchmarks.room_disconnect [--sockets 1000,4000,8000,16000]

Every socket sits in two rooms, as a customer does (its sid and `chat:<n>`). Per size, the
first --sample sockets are disconnected as python-socketio's server does it (pre_disconnect,
then disconnect) and timed. N sockets closing at once cost about N/2 times the scan's figure
at N (the namespace shrinks as they go) and N times the index's. In process, no network:
the manager alone.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import socketio

from signaling.realtime.room_index import IndexedManager

NAMESPACE = "/customer"


async def _filled(manager: Any, sockets: int) -> list[str]:
    sio = socketio.AsyncServer(client_manager=manager, async_mode="aiohttp")
    numbers = iter(range(10**9))
    sio.eio.generate_id = lambda: f"sid{next(numbers)}"
    sids = []
    for i in range(sockets):
        sid = await manager.connect(f"eio{i}", NAMESPACE)
        await manager.enter_room(sid, NAMESPACE, f"chat:{i}")
        sids.append(sid)
    return sids


async def per_disconnect_ms(manager: Any, sockets: int, sample: int) -> float:
    sids = await _filled(manager, sockets)
    started = time.perf_counter()
    for sid in sids[:sample]:
        manager.pre_disconnect(sid, NAMESPACE)
        await manager.disconnect(sid, NAMESPACE, ignore_queue=True)
    return (time.perf_counter() - started) * 1000 / sample


async def main(sizes: list[int], sample: int) -> None:
    print("| sockets held | AsyncManager ms/disconnect | IndexedManager ms/disconnect | ratio |")
    print("|---:|---:|---:|---:|")
    for sockets in sizes:
        scan = await per_disconnect_ms(socketio.AsyncManager(), sockets, min(sample, sockets))
        index = await per_disconnect_ms(IndexedManager(), sockets, min(sample, sockets))
        print(f"| {sockets:,} | {scan:.3f} | {index:.4f} | {scan / index:,.0f} |", flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument(
        "--sockets",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1000, 4000, 8000, 16000],
        help="socket counts, comma-separated",
    )
    p.add_argument("--sample", type=int, default=500, help="disconnects timed per size")
    args = p.parse_args()
    asyncio.run(main(args.sockets, args.sample))
