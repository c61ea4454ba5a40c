"""The async engine's driver connections still open, so closing the database closes them all.

`AsyncEngine.dispose()` closes only the connections checked in to the pool. One held by a task
still running at shutdown stays open; when it is garbage-collected later (after the event
loop closed) aiosqlite's finaliser hands its close to the connection's thread with a future on
whatever loop is current, and that thread then fails on a closed loop. Closing them here, while
the loop runs, leaves nothing for a finaliser.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)


class OpenConnections:
    """Follows the pool's connect/close events; `close_all()` closes what is left."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._open: dict[int, Any] = {}
        pool_events = engine.sync_engine
        event.listen(pool_events, "connect", self._opened)
        event.listen(pool_events, "close", self._closed)
        event.listen(pool_events, "close_detached", self._closed_detached)

    def __len__(self) -> int:
        return len(self._open)

    def _opened(self, dbapi_connection: Any, _record: Any) -> None:
        self._open[id(dbapi_connection)] = dbapi_connection

    def _closed(self, dbapi_connection: Any, _record: Any) -> None:
        self._open.pop(id(dbapi_connection), None)

    def _closed_detached(self, dbapi_connection: Any) -> None:
        self._open.pop(id(dbapi_connection), None)

    async def close_all(self, timeout: float = 2.0) -> int:
        """Close every driver connection still open (their holders get an error, which at
        shutdown is what should happen); returns how many there were."""
        left = list(self._open.values())
        self._open.clear()
        for adapted in left:
            driver = getattr(adapted, "driver_connection", adapted)
            with contextlib.suppress(Exception):
                closing = driver.close()
                if inspect.isawaitable(closing):
                    await asyncio.wait_for(closing, timeout)
        if left:
            log.info("closed %d database connection(s) still held at shutdown", len(left))
        return len(left)
