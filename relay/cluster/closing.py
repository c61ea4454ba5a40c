"""Stop what talks to Redis within a bound, so that stopping never hangs on it.

redis-py's close waits for the socket's writer to finish closing (`wait_closed`), which can
wait forever while another task still reads from that connection (redis/redis-py#3941);
a process stopping, or a test tearing a server down, then hangs with it. Past the bound the
connection is left to the operating system and the process goes on stopping.

The loops that retry a Redis command on any error (heartbeats, registry reads, elections)
must also end when their task is cancelled, even if the cancellation reached them as a
connection error from inside redis-py: a CI run hung for 300 s in a relay client's stop,
its registry watcher "cancelling" yet still looping. `cancel_requested` lets such a loop
tell, and `stop_tasks` bounds the wait for all of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
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


def cancel_requested() -> bool:
    """Whether the running task has been asked to stop, whatever the await it was in made
    of the cancellation (call it where a loop catches an error and would go on)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def stop_tasks(
    tasks: Iterable[asyncio.Future[Any]], what: str, seconds: float = CLOSE_SECONDS
) -> bool:
    """Cancel `tasks` and wait for them at most `seconds`; False (and a warning naming
    `what` and the tasks still running) if some did not end: they are left to the loop."""
    waiting = [task for task in tasks if not task.done()]
    for task in waiting:
        task.cancel()
    if not waiting:
        return True
    done, pending = await asyncio.wait(waiting, timeout=seconds)
    for task in done:  # retrieved, so asyncio does not report them as never retrieved
        if not task.cancelled():
            task.exception()
    if pending:
        names = ", ".join(
            task.get_name() if isinstance(task, asyncio.Task) else repr(task) for task in pending
        )
        logger.warning("stopping %s: still running after %.0f s (%s): left", what, seconds, names)
        return False
    return True
