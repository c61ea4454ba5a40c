"""The status each agent chose last, kept so a restarted server can give it back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.db.schema import agent_presence, utcnow
from signaling.types import Presence


async def save_status(conn: AsyncConnection, user_id: int, status: Presence) -> None:
    """Remember `status` as the agent's chosen one: one upsert, so an agent going online from
    several sockets at once cannot race (an update-then-insert did, on PostgreSQL: two
    transactions both found no row and the second insert broke the primary key)."""
    values = {"user_id": user_id, "status": status.value, "changed_at": utcnow()}
    dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
    upsert: Any = dialect_insert(agent_presence)
    upsert = upsert.values(values)
    await conn.execute(
        upsert.on_conflict_do_update(
            index_elements=[agent_presence.c.user_id],
            set_={"status": upsert.excluded.status, "changed_at": upsert.excluded.changed_at},
        )
    )


async def saved_statuses(conn: AsyncConnection) -> dict[int, Presence]:
    """Agents whose last chosen status was not offline, by user id."""
    rows = await conn.execute(
        select(agent_presence.c.user_id, agent_presence.c.status).where(
            agent_presence.c.status != Presence.OFFLINE.value
        )
    )
    return {int(user_id): Presence(status) for user_id, status in rows}
