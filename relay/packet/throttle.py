"""At most one send per interval, a trigger inside the quiet interval deferred (never dropped):
the shared rule of keyframe requests and bandwidth reports sent to a publisher."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

Send = Callable[[], Awaitable[None]]
# Returns the send to run now, or None when there is nothing to send. A callable, not a
# coroutine, so a send cancelled before it starts leaves no un-awaited coroutine behind.
NextSend = Callable[[], Send | None]


class Throttle:
    """Lifecycle: open → closed (close() cancels a deferred send and waits for pending ones)."""

    def __init__(
        self,
        next_send: NextSend,
        *,
        min_interval: float,
        what: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._next_send = next_send
        self.min_interval = min_interval
        """May change at any time (e.g. paced by a measured round trip)."""
        self._what = what
        self._clock = clock
        self._last_sent: float | None = None
        self._deferred: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = False
        self.sent = 0
        self.suppressed = 0

    def trigger(self) -> bool:
        """Send now if the interval allows (returns True), else once it has passed."""
        if self.closed:
            return False
        now = self._clock()
        if self._last_sent is None or now - self._last_sent >= self.min_interval:
            self._fire()
            return True
        self.suppressed += 1
        if self._deferred is None:
            delay = self.min_interval - (now - self._last_sent)
            self._deferred = asyncio.get_running_loop().call_later(delay, self._fire_deferred)
        return False

    def _fire_deferred(self) -> None:
        self._deferred = None
        if not self.closed:
            self._fire()

    def _fire(self) -> None:
        work = self._next_send()
        if work is None:
            return
        self._last_sent = self._clock()
        self.sent += 1
        task = asyncio.ensure_future(self._send_quietly(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_quietly(self, work: Send) -> None:
        try:
            await work()
        except ConnectionError:
            pass
        except Exception:
            logger.exception("%s failed", self._what)

    async def close(self) -> None:
        """Idempotent."""
        self.closed = True
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
