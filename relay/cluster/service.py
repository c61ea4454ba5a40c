"""The relay as signaling runs it with Redis: a ClusterRelay for placing calls on nodes and,
when this machine's workers take calls too (relay.embedded), a RelayNode for them in the
same process: one Redis path, whether the nodes are here or elsewhere."""

from __future__ import annotations

from redis.asyncio import Redis

from relay.cluster.control import ClusterRelay
from relay.cluster.node import RelayNode


class ClusterService(ClusterRelay):
    """Lifecycle: start() (the node, if any, then the client) → stop() (the client, then the
    node, which hands back any room still open so no call is dropped)."""

    def __init__(self, redis_url: str, node: RelayNode | None, *, heartbeat_seconds: float) -> None:
        super().__init__(Redis.from_url(redis_url), heartbeat_seconds=heartbeat_seconds)
        self.node = node

    async def start(self) -> None:
        if self.node is not None:
            await self.node.start()
        try:
            await super().start()
        except BaseException:
            if self.node is not None:
                await self.node.stop()
            raise

    async def stop(self) -> None:
        await super().stop()
        if self.node is not None:
            await self.node.stop()
