"""The async database handle: SQLite (WAL) by default, PostgreSQL by URL; never blocks the loop."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from signaling.db.open_connections import OpenConnections

T = TypeVar("T")


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
        self._connections = OpenConnections(self.engine)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self.write_stats = WriteStats()
        self._thread_engine: Engine | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._writer_conn: Connection | None = None
        """The writer thread's connection, kept between transactions (only that thread
        touches it): a checkout from the pool and back per transaction was a quarter of a
        one-message transaction's CPU."""
        self._reader: ThreadPoolExecutor | None = None
        self._reader_conn: Connection | None = None
        """The reader thread's connection, kept as the writer's is (only that thread uses it)."""
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            file_url = make_url(url)
            if file_url.database not in (None, "", ":memory:"):
                self._thread_engine = create_engine(file_url.set(drivername="sqlite"))
                event.listen(self._thread_engine, "connect", _sqlite_pragmas)
                self._writer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
                self._reader = ThreadPoolExecutor(1, thread_name_prefix="sqlite-reader")

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def sync_engines(self) -> list[Engine]:
        """Every engine a write goes through (the async engine's, and SQLite's writer
        thread's), for listeners of their commits (signaling/webhooks/sender.py)."""
        engines = [self.engine.sync_engine]
        if self._thread_engine is not None:
            engines.append(self._thread_engine)
        return engines

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

    async def write_in_thread(self, work: Callable[[Connection], T]) -> T:
        """Run `work(conn)` as one write transaction, committed on return.

        Through aiosqlite every statement is several hand-offs between the event loop and
        its thread, each waiting for a busy loop, while SQLite's one writer is held; a burst
        of short transactions then queues for seconds. On SQLite the whole transaction runs
        in one writer thread instead (one hand-off); on PostgreSQL through the async engine.
        """
        if self._thread_engine is None or self._writer is None:
            async with self.write() as conn:
                return await conn.run_sync(work)
        assert self._write_lock is not None

        def transaction() -> T:
            conn = self._writer_conn
            if conn is None or conn.closed or conn.invalidated:
                assert self._thread_engine is not None
                conn = self._writer_conn = self._thread_engine.connect()
            with conn.begin():
                return work(conn)

        asked = time.perf_counter()
        async with self._write_lock:
            began = time.perf_counter()
            running = asyncio.get_running_loop().run_in_executor(self._writer, transaction)
            try:
                return await asyncio.shield(running)
            except asyncio.CancelledError:
                await asyncio.wait([running])  # keep the writer held until it is done
                raise
            finally:
                stats = self.write_stats
                stats.transactions += 1
                stats.waited_seconds += began - asked
                stats.held_seconds += time.perf_counter() - began

    async def read_in_thread(self, work: Callable[[Connection], T]) -> T:
        """Run `work(conn)` to read; anything it writes is rolled back.

        A read through aiosqlite is a hand-off to its thread and back for the checkout, every
        statement, every fetch and the closing rollback: a typing indicator's two-row check
        cost three times what its event did (docs/benchmarks.md). On a SQLite file the whole
        read runs in a reader thread of its own instead, one hand-off, beside the writer (WAL
        lets it read while a write is under way); elsewhere through the async engine.
        """
        if self._thread_engine is None or self._reader is None:
            async with self.read() as conn:
                return await conn.run_sync(work)

        def snapshot() -> T:
            conn = self._reader_conn
            if conn is None or conn.closed or conn.invalidated:
                assert self._thread_engine is not None
                conn = self._reader_conn = self._thread_engine.connect()
            transaction = conn.begin()
            try:
                return work(conn)
            finally:
                transaction.rollback()  # a read keeps nothing, whatever `work` did

        return await asyncio.get_running_loop().run_in_executor(self._reader, snapshot)

    async def ping(self) -> float:
        """Round-trip time of a trivial query, in milliseconds."""
        started = time.perf_counter()
        async with self.read() as conn:
            await conn.execute(text("SELECT 1"))
        return (time.perf_counter() - started) * 1000

    async def close(self) -> None:
        await self.engine.dispose()
        await self._connections.close_all()  # those a still-running task holds
        if self._writer is not None:
            await asyncio.get_running_loop().run_in_executor(self._writer, self._close_writer)
            self._writer.shutdown(wait=True)
        if self._reader is not None:
            await asyncio.get_running_loop().run_in_executor(self._reader, self._close_reader)
            self._reader.shutdown(wait=True)
        if self._thread_engine is not None:
            self._thread_engine.dispose()

    def _close_writer(self) -> None:
        """In the writer thread, which alone uses its connection."""
        if self._writer_conn is not None:
            self._writer_conn.close()
            self._writer_conn = None

    def _close_reader(self) -> None:
        """In the reader thread, which alone uses its connection."""
        if self._reader_conn is not None:
            self._reader_conn.close()
            self._reader_conn = None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
