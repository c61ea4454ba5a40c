"""SQLite (the embedded default): migrations build exactly the declared schema, and undo."""

from __future__ import annotations

from pathlib import Path

from signaling.db.database import Database
from signaling.db.migrate import current_revision, downgrade, head_revision, upgrade
from signaling.db.schema import metadata
from tests.schema_diff import schema_differences, table_names


async def test_sqlite_migrations_from_empty_match_the_schema(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert await current_revision(db) is None
        await upgrade(db)
        assert await current_revision(db) == head_revision()
        assert await schema_differences(db) == []
        await upgrade(db)  # a second upgrade is a no-op
        assert await current_revision(db) == head_revision()
    finally:
        await db.close()


async def test_sqlite_migrations_downgrade_to_empty_and_back(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'roundtrip.db'}")
    try:
        await upgrade(db)
        assert set(metadata.tables) <= await table_names(db)
        await downgrade(db)
        assert await table_names(db) <= {"alembic_version"}
        await upgrade(db)
        assert await schema_differences(db) == []
    finally:
        await db.close()
