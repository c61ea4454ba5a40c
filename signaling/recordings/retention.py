"""Keeping recordings within their retention and size budget: a sweep, at start and then
every hour, deletes what is due — finished recordings older than `recordings.retention_days`,
then the oldest finished ones while the total is over `recordings.budget_bytes` — and
writes each deletion to the audit log (actor: the system)."""

from __future__ import annotations

import asyncio
import logging
import shutil
from datetime import timedelta
from pathlib import Path

from signaling.config import RecordingsConfig
from signaling.db.database import Database
from signaling.db.schema import utcnow
from signaling.store import Record
from signaling.store import recordings as store
from signaling.store.audit import audit
from signaling.types import RecordingState

log = logging.getLogger(__name__)

SWEEP_SECONDS = 3600.0


class RetentionSweeper:
    """Lifecycle: start() sweeps now and then every hour; stop() ends it; sweep() by hand."""

    def __init__(self, db: Database, root: Path, config: RecordingsConfig) -> None:
        self._db = db
        self._root = root
        self._config = config
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="recordings-retention")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("recordings: the retention sweep failed")
            await asyncio.sleep(SWEEP_SECONDS)

    async def sweep(self) -> int:
        """Delete what is due; how many recordings were deleted."""
        deleted = 0
        cutoff = utcnow() - timedelta(days=self._config.retention_days)
        async with self._db.read() as conn:
            expired = await store.due_for_deletion(conn, older_than=cutoff)
        for row in expired:
            await self._delete(row, f"older than {self._config.retention_days} days")
            deleted += 1
        budget = self._config.budget_bytes
        while budget:
            async with self._db.read() as conn:
                used = await store.stored_bytes(conn)
                oldest = await store.oldest_finished(conn, limit=1) if used > budget else []
            if not oldest:
                break
            await self._delete(oldest[0], f"over the budget of {budget} bytes ({used} used)")
            deleted += 1
        return deleted

    async def _delete(self, row: Record, why: str) -> None:
        folder = self._root / row["directory"]
        await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)
        async with self._db.write() as conn:
            await store.drop_files(conn, row["id"], "track")
            await store.drop_files(conn, row["id"], "composite")
            await store.update_recording(
                conn,
                row["id"],
                {"state": RecordingState.DELETED.value, "deleted_at": utcnow(), "bytes": 0},
            )
            await audit(
                conn,
                org_id=row["org_id"],
                actor_type="system",
                actor_id=None,
                action="recording.deleted",
                target_type="recording",
                target_id=row["id"],
                detail={"why": why, "call_id": row["call_id"]},
            )
        log.info("recording %s deleted: %s", row["id"], why)
