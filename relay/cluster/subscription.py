"""Reading a Redis pub/sub subscription: each message as (channel, decoded JSON), the ones that
do not decode logged and skipped, the subscription closed when the reader stops."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from relay.cluster.closing import close_within

logger = logging.getLogger(__name__)


async def messages(
    pubsub: Any, loads: Callable[[str | bytes], Any] = json.loads
) -> AsyncIterator[tuple[str, Any]]:
    try:
        async for message in pubsub.listen():
            channel = message.get("channel")
            channel = channel.decode() if isinstance(channel, bytes) else str(channel)
            try:
                data = loads(message.get("data"))
            except (TypeError, ValueError):
                logger.warning("undecodable message on Redis channel %s", channel)
                continue
            yield channel, data
    finally:
        await close_within(pubsub, "a Redis subscription")
