"""Audit log: who did what to which record, from where."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.db.schema import audit_log
from signaling.store import Record, records


async def audit(
    conn: AsyncConnection,
    *,
    org_id: int | None,
    actor_type: str,
    actor_id: int | None,
    action: str,
    target_type: str | None = None,
    target_id: int | None = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> None:
    await conn.execute(
        insert(audit_log).values(
            org_id=org_id,
            actor_type=actor_type,
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=detail or {},
            ip=ip,
        )
    )


async def list_audit(
    conn: AsyncConnection, org_id: int, *, action: str | None, limit: int, offset: int
) -> list[Record]:
    query = (
        select(audit_log)
        .where(audit_log.c.org_id == org_id)
        .order_by(audit_log.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if action:
        query = query.where(audit_log.c.action == action)
    return records(await conn.execute(query))
