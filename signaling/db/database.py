"""The async database handle: SQLite (WAL) by default, PostgreSQL by URL; never blocks the loop."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


@dataclass
class WriteStats:
    """Write transactions since start: on SQLite they queue for one writer, so under load the
    time spent waiting for it is a large share of a request's latency (shown in /healthz)."""

    transactions: int = 0
    held_seconds: float = 0.0
    """Time inside write transactions (the writer lock held, on SQLite)."""
    waited_seconds: float = 0.0
    """Time spent waiting for the writer lock before a transaction could begin."""

    def to_wire(self) -> dict[str, Any]:
        return {
            "transactions": self.transactions,
            "held_seconds": round(self.held_seconds, 3),
            "waited_seconds": round(self.waited_seconds, 3),
        }


class Database:
    """Owns the engine. Writes go through `write()`: on SQLite one writer at a time per process,
    so transactions queue in the event loop instead of failing with "database is locked"."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        options: dict[str, Any] = {"echo": echo}
        if not self.is_sqlite:
            options.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **options)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self.write_stats = WriteStats()
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed when the block exits normally, rolled back otherwise."""
        lock = self._write_lock or contextlib.nullcontext()
        asked = time.perf_counter()
        async with lock:
            began = time.perf_counter()
            try:
                async with self.engine.begin() as conn:
                    yield conn
            finally:
                stats = self.write_stats
                stats.transactions += 1
                stats.waited_seconds += began - asked
                stats.held_seconds += time.perf_counter() - began

    async def ping(self) -> float:
        """Round-trip time of a trivial query, in milliseconds."""
        started = time.perf_counter()
        async with self.read() as conn:
            await conn.execute(text("SELECT 1"))
        return (time.perf_counter() - started) * 1000

    async def close(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
