"""What autogenerate would change: the difference between a migrated database and the
tables declared in signaling.db.schema. Empty means the migrations build exactly the schema."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from signaling.db.database import Database
from signaling.db.schema import metadata


async def schema_differences(db: Database) -> list[Any]:
    def compare(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with db.read() as conn:
        return await conn.run_sync(compare)


async def table_names(db: Database) -> set[str]:
    def names(conn: Connection) -> set[str]:
        return set(conn.dialect.get_table_names(conn))

    async with db.read() as conn:
        return await conn.run_sync(names)
