"""Work that exactly one of several signaling processes may do at a time on one database
(migrating, seeding the demo organisation): a PostgreSQL advisory lock held until the
transaction ends. SQLite needs none: its write transactions already exclude each other."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

MIGRATION_LOCK = 0x4C41_4D49  # "LAMI": any constants that are ours
SEED_LOCK = 0x4C41_5345  # "LASE"


async def hold_until_commit(conn: AsyncConnection, key: int) -> None:
    """Wait for, then hold, the lock `key` until `conn`'s transaction ends."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
