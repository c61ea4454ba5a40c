"""Which relay nodes are up, how loaded, and where: one Redis key per node, rewritten by the
node's heartbeat and expiring without it, so a node that dies (kill -9, power, network)
disappears within the TTL without anybody having to say so.

Keys (all under `liveassist:relay:`):
  node:<id>            JSON NodeRecord, PX ttl
  nodes                set of node ids ever announced (stale ones removed by readers)
  node-numbers         hash node id → number, stable across restarts (global worker ids)
  node-seq             counter behind those numbers
  node:<id>:requests   channel: requests to that node (relay/control/wire.py shapes + reply_to)
  client:<id>          channel: replies to one signaling process
  events               channel: every node's events
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from redis.asyncio import Redis

from relay.interface import WorkerId

PREFIX = "liveassist:relay:"
NODES = PREFIX + "nodes"
NUMBERS = PREFIX + "node-numbers"
SEQUENCE = PREFIX + "node-seq"
EVENTS = PREFIX + "events"
NODE_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
WORKERS_PER_NODE = 1000
"""Global worker id = node number * 1000 + the worker's id on its node (records show it)."""


def global_worker(node_number: int, local_worker: int) -> WorkerId:
    return WorkerId(node_number * WORKERS_PER_NODE + local_worker)


def node_key(node_id: str) -> str:
    return f"{PREFIX}node:{node_id}"


def requests_channel(node_id: str) -> str:
    return f"{PREFIX}node:{node_id}:requests"


def replies_channel(client_id: str) -> str:
    return f"{PREFIX}client:{client_id}"


def check_node_id(node_id: str) -> str:
    if not NODE_ID.fullmatch(node_id):
        raise ValueError(f"a relay node id is 1-64 characters of [A-Za-z0-9_.-], got {node_id!r}")
    return node_id


@dataclass(frozen=True, slots=True)
class NodeRecord:
    node_id: str
    instance: str
    """Random per start: a node restarted under the same id is a new instance, and rooms
    of the old one are gone."""
    number: int
    host: str
    pid: int
    address: str
    """The address clients reach its media on (relay.public_ip, else its own)."""
    capacity: int
    participants: int
    rooms: int
    workers: int
    workers_alive: int
    draining: bool
    heartbeat_at: float
    """Unix time of the heartbeat that wrote this record."""

    @property
    def load(self) -> float:
        return self.participants / self.capacity if self.capacity else 1.0

    @property
    def placeable(self) -> bool:
        """Takes new rooms: not draining, a worker alive, room for a participant."""
        return not self.draining and self.workers_alive > 0 and self.participants < self.capacity

    def global_worker(self, local_worker: int) -> WorkerId:
        return global_worker(self.number, local_worker)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> NodeRecord:
        data: dict[str, Any] = json.loads(text)
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


class NodeRegistry:
    def __init__(self, redis: Redis, ttl: float) -> None:
        self._redis = redis
        self.ttl = ttl

    async def number_for(self, node_id: str) -> int:
        """The node's number: the same every time this id starts, distinct between ids."""
        known = await self._redis.hget(NUMBERS, node_id)
        if known is None:
            fresh = int(await self._redis.incr(SEQUENCE))
            await self._redis.hsetnx(NUMBERS, node_id, fresh)  # a racing start may win
            known = await self._redis.hget(NUMBERS, node_id)
        assert known is not None
        return int(known)

    async def announce(self, record: NodeRecord) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(node_key(record.node_id), record.to_json(), px=round(self.ttl * 1000))
            pipe.sadd(NODES, record.node_id)
            await pipe.execute()

    async def withdraw(self, record: NodeRecord) -> None:
        """Remove the node's entry, unless another instance has taken its id since."""
        current = await self.get(record.node_id)
        if current is not None and current.instance == record.instance:
            await self._redis.delete(node_key(record.node_id))
        await self._redis.srem(NODES, record.node_id)

    async def get(self, node_id: str) -> NodeRecord | None:
        raw = await self._redis.get(node_key(node_id))
        return NodeRecord.from_json(raw) if raw is not None else None

    async def nodes(self) -> dict[str, NodeRecord]:
        """Every node alive now (its heartbeat younger than the TTL)."""
        ids = sorted(_text(i) for i in await self._redis.smembers(NODES))
        if not ids:
            return {}
        raws = await self._redis.mget([node_key(i) for i in ids])
        alive: dict[str, NodeRecord] = {}
        for node_id, raw in zip(ids, raws, strict=True):
            if raw is not None:
                alive[node_id] = NodeRecord.from_json(raw)
        gone = [i for i in ids if i not in alive]
        if gone:
            await self._redis.srem(NODES, *gone)
        return alive


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
