"""Closing the database closes the connections tasks still hold, so none is left for a
finaliser to close after the event loop is gone (aiosqlite's then fails in its thread, and
pytest blamed whichever test ran next)."""

from __future__ import annotations

import asyncio
import gc
import warnings
from pathlib import Path

from sqlalchemy import text

from tests.conftest import start_server


async def test_a_connection_held_at_shutdown_is_closed_not_left_to_the_collector(
    tmp_path: Path,
) -> None:
    server, runner = await start_server(tmp_path / "d")
    db = server.runtime.db
    holding = asyncio.Event()

    async def holder() -> None:
        async with db.read() as conn:
            await conn.execute(text("SELECT 1"))
            holding.set()
            await asyncio.sleep(60)

    task = asyncio.ensure_future(holder())
    await holding.wait()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await runner.cleanup()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        del task
        gc.collect()
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert unclosed == []
