"""Schema upgrades with Alembic, run on an async connection so both SQLite and PostgreSQL work."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from signaling.db.database import Database
from signaling.db.locks import MIGRATION_LOCK, hold_until_commit

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


@cache
def head_revision() -> str:
    """The newest migration. Read once: loading the scripts was most of what a /healthz
    answer cost (several ms of CPU each, polled every second by monitors)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def current_revision(db: Database) -> str | None:
    def read(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    async with db.read() as conn:
        return await conn.run_sync(read)


async def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to `revision`; a no-op when it is already there."""
    await _run(db, command.upgrade, revision)


async def downgrade(db: Database, revision: str = "base") -> None:
    """Undo migrations down to `revision` (production only goes up; tests check each can)."""
    await _run(db, command.downgrade, revision)


async def _run(db: Database, step: Callable[[AlembicConfig, str], None], revision: str) -> None:
    cfg = alembic_config()

    def run(conn: Connection) -> None:
        cfg.attributes["connection"] = conn
        step(cfg, revision)

    async with db.write() as conn:
        # Several signaling processes may start together on one database: one migrates,
        # the others wait here, then find nothing left to do.
        await hold_until_commit(conn, MIGRATION_LOCK)
        await conn.run_sync(run)
