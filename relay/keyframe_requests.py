"""Forward subscribers' PLI/FIR to the publisher at most once per interval, never dropping one."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

SendRequest = Callable[[], Awaitable[None]]


class KeyframeRequester:
    """Rate-limits keyframe requests for one published stream.

    N subscribers losing the same packet all send a PLI; the publisher should see one.
    A request inside the quiet interval is deferred to its end rather than dropped.
    Lifecycle: open → closed (close() cancels a deferred request and pending sends).
    """

    def __init__(
        self,
        send: SendRequest,
        *,
        min_interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._min_interval = min_interval
        self._clock = clock
        self._last_sent: float | None = None
        self._deferred: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.sent = 0
        self.suppressed = 0

    def request(self) -> bool:
        """Ask for a keyframe; returns True if a request was sent now."""
        if self._closed:
            return False
        now = self._clock()
        if self._last_sent is None or now - self._last_sent >= self._min_interval:
            self._fire()
            return True
        self.suppressed += 1
        if self._deferred is None:
            delay = self._min_interval - (now - self._last_sent)
            self._deferred = asyncio.get_running_loop().call_later(delay, self._fire_deferred)
        return False

    def _fire_deferred(self) -> None:
        self._deferred = None
        if not self._closed:
            self._fire()

    def _fire(self) -> None:
        self._last_sent = self._clock()
        self.sent += 1
        task = asyncio.ensure_future(self._send_quietly())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_quietly(self) -> None:
        try:
            await self._send()
        except ConnectionError:
            pass
        except Exception:
            logger.exception("keyframe request failed")

    async def close(self) -> None:
        """Cancel a deferred request and wait for in-flight sends; idempotent."""
        self._closed = True
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
