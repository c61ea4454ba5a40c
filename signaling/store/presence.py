"""The status each agent chose last, kept so a restarted server can give it back."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.db.schema import agent_presence, utcnow
from signaling.types import Presence


async def save_status(conn: AsyncConnection, user_id: int, status: Presence) -> None:
    """Remember `status` as the agent's chosen one (an update, else an insert: both dialects)."""
    changed = await conn.execute(
        update(agent_presence)
        .where(agent_presence.c.user_id == user_id)
        .values(status=status.value, changed_at=utcnow())
    )
    if changed.rowcount == 0:
        await conn.execute(
            insert(agent_presence).values(user_id=user_id, status=status.value, changed_at=utcnow())
        )


async def saved_statuses(conn: AsyncConnection) -> dict[int, Presence]:
    """Agents whose last chosen status was not offline, by user id."""
    rows = await conn.execute(
        select(agent_presence.c.user_id, agent_presence.c.status).where(
            agent_presence.c.status != Presence.OFFLINE.value
        )
    )
    return {int(user_id): Presence(status) for user_id, status in rows}
