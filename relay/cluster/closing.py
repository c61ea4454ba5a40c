"""Close a Redis client or subscription within a bound, so that stopping never hangs on it.

redis-py's close waits for the socket's writer to finish closing (`wait_closed`), which can
wait forever while another task still reads from that connection (redis/redis-py#3941);
a process stopping, or a test tearing a server down, then hangs with it. Past the bound the
connection is left to the operating system and the process goes on stopping.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

logger = logging.getLogger(__name__)

CLOSE_SECONDS = 2.0


class Closable(Protocol):
    async def aclose(self) -> Any: ...


async def close_within(closable: Closable, what: str, seconds: float = CLOSE_SECONDS) -> bool:
    """Close `closable`; False (and a warning naming `what`) if it took longer than `seconds`
    or failed: by then the process is stopping and the socket goes with it."""
    try:
        async with asyncio.timeout(seconds):
            await closable.aclose()
    except TimeoutError:
        logger.warning("closing %s took over %.0f s: left to the operating system", what, seconds)
        return False
    except Exception as error:  # a broken connection has nothing left to close
        logger.warning("closing %s failed: %r", what, error)
        return False
    return True
