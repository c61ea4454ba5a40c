"""A step run every so often on the worker's loop: the relay's monitors and its own RTCP."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

Step = Callable[[], Awaitable[None] | None]


class Periodic:
    """Lifecycle: start() → stop() (both idempotent). `interval` is read before each wait
    (a callable: RTCP's randomised interval); a step that raises is logged and the next one
    still runs."""

    def __init__(self, step: Step, interval: float | Callable[[], float], what: str) -> None:
        self._step = step
        self._interval = interval
        self._what = what
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            interval = self._interval() if callable(self._interval) else self._interval
            await asyncio.sleep(interval)
            try:
                result = self._step()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("%s failed", self._what)
