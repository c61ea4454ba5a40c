"""`liveassist relay`: this machine's relay workers as a node of a Redis deployment, and
`liveassist relay drain`, which empties a running node from anywhere (progress printed)."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from relay.cluster.control import ClusterRelay
from relay.cluster.node import NodeIdInUse, RelayNode
from relay.control.pool import RelayPool
from relay.control.worker_host import EXIT_INCOMPATIBLE
from relay.interface import EventLoopKind, RelayIncompatible, RelayLost
from signaling.config import Config

DRAIN_GRACE_SECONDS = 30.0
"""How long `relay drain` waits beyond the deadline for the node to hand back its calls."""


def _needs_redis(config: Config) -> bool:
    if config.server.redis_url:
        return True
    print("liveassist relay: needs Redis (--redis-url or server.redis_url)", file=sys.stderr)
    return False


def serve(config: Config) -> int:
    if not _needs_redis(config):
        return 2
    return asyncio.run(_serve(config))


async def _serve(config: Config) -> int:
    relay = config.relay
    pool = RelayPool(
        relay.workers or None,
        relay.worker_capacity,
        cast(EventLoopKind, relay.event_loop),
        public_ip=relay.public_ip,
    )
    node = RelayNode(
        Redis.from_url(config.server.redis_url),
        pool,
        config.relay.node_name,
        heartbeat_seconds=relay.heartbeat_seconds,
    )
    try:
        await node.start()
    except NodeIdInUse as error:
        print(f"liveassist relay: {error}", file=sys.stderr)
        return 2
    except RelayIncompatible as error:
        print(f"liveassist relay: {error}", file=sys.stderr)
        await pool.stop()
        return EXIT_INCOMPATIBLE
    except (RedisError, OSError) as error:
        print(f"liveassist relay: cannot use Redis: {error}", file=sys.stderr)
        await pool.stop()
        return 1
    record = node.record()
    print(
        f"relay node {node.node_id} up: {record.workers} worker(s), capacity "
        f"{record.capacity} participants, heartbeat every {relay.heartbeat_seconds} s",
        flush=True,
    )

    def on_signal() -> None:
        if node.draining:
            node.hurry()  # a second Ctrl+C: move the remaining calls now
        else:
            print(f"relay node {node.node_id}: draining (Ctrl+C again to move calls now)")
            node.drain_soon(relay.drain_seconds)

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    await node.drained.wait()
    await node.stop()
    print(f"relay node {node.node_id} stopped", flush=True)
    return 0


async def drain(config: Config) -> int:
    if not _needs_redis(config):
        return 2
    node_id, deadline = config.relay.node_name, config.relay.drain_seconds
    client = ClusterRelay(Redis.from_url(config.server.redis_url))
    try:
        await client.start()
        try:
            rooms = await client.drain(node_id, deadline)
        except RelayLost:
            print(f"liveassist relay drain: no relay node {node_id} is running", file=sys.stderr)
            return 1
        print(f"relay node {node_id}: draining {rooms} call(s), up to {deadline:.0f} s", flush=True)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + deadline + DRAIN_GRACE_SECONDS
        while loop.time() < give_up:
            record = await client.registry.get(node_id)
            if record is None:
                print(f"relay node {node_id}: drained and stopped", flush=True)
                return 0
            print(f"relay node {node_id}: {record.rooms} call(s) left", flush=True)
            await asyncio.sleep(1.0)
        print(f"liveassist relay drain: {node_id} is still up", file=sys.stderr)
        return 1
    except (RedisError, OSError) as error:
        print(f"liveassist relay drain: cannot use Redis: {error}", file=sys.stderr)
        return 1
    finally:
        await client.stop()
