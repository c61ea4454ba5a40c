"""Call events appended in shared transactions (group commit).

Many calls joining at once each append an event or two. On SQLite every write transaction
queues for the one writer and costs several thread hand-offs, so one transaction per
event made joins wait for each other. Here an append that arrives while a batch is being
written waits for the next batch, which carries everything that arrived meanwhile: under
load N appends cost a few transactions, alone an append costs one, as before. Each caller
still returns only once its events are committed, so "written before anyone is told"
holds.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from signaling.db.database import Database
from signaling.store import calls as call_store
from signaling.types import CallParty

log = logging.getLogger(__name__)

CallEvent = tuple[str, CallParty | None, dict[str, Any]]
"""(kind, actor, detail) of one entry in a call's event log."""


class CallEventLog:
    """Lifecycle: usable at once; a batch writer task exists only while appends are queued."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._queued: list[tuple[int, list[CallEvent], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0
        """Transactions written so far (for tests and load reports)."""

    async def append(self, call_id: int, events: list[CallEvent]) -> None:
        """Append `events` to the call's log; returns once they are committed."""
        if not events:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued.append((call_id, events, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_batches())
        await done

    async def _write_batches(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, []
            try:
                await self._write(batch)
            except Exception:
                # One bad append must not fail the others: write each on its own.
                for entry in batch:
                    await self._write([entry])

    async def _write(self, batch: list[tuple[int, list[CallEvent], asyncio.Future[None]]]) -> None:
        rows = [(call_id, *event) for call_id, events, _ in batch for event in events]
        try:
            await self._db.write_in_thread(lambda conn: call_store.add_events_sync(conn, rows))
        except Exception as error:
            if len(batch) > 1:
                raise
            if not batch[0][2].done():
                batch[0][2].set_exception(error)
            return
        self.batches += 1
        for _, _, done in batch:
            if not done.done():
                done.set_result(None)
