"""Organisations and their groups (a group serves one chat topic)."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Column, Connection, Select, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.db.prepared import compiled_once
from signaling.db.schema import group_members, groups, organisations
from signaling.store import Record, record, records


async def create_org(conn: AsyncConnection, *, slug: str, name: str) -> Record:
    result = await conn.execute(
        insert(organisations)
        .values(slug=slug, name=name, identity_secret=secrets.token_hex(32))
        .returning(*organisations.c)
    )
    created = record(result.first())
    assert created is not None
    return created


async def org_by_slug(conn: AsyncConnection, slug: str) -> Record | None:
    return record(
        (await conn.execute(select(organisations).where(organisations.c.slug == slug))).first()
    )


async def org_by_id(conn: AsyncConnection, org_id: int) -> Record | None:
    return record(
        (await conn.execute(select(organisations).where(organisations.c.id == org_id))).first()
    )


async def first_org(conn: AsyncConnection) -> Record | None:
    return record((await conn.execute(select(organisations).order_by(organisations.c.id))).first())


async def create_group(
    conn: AsyncConnection, *, org_id: int, name: str, topic: str | None
) -> Record:
    result = await conn.execute(
        insert(groups).values(org_id=org_id, name=name, topic=topic).returning(*groups.c)
    )
    created = record(result.first())
    assert created is not None
    return created


async def list_groups(conn: AsyncConnection, org_id: int) -> list[Record]:
    rows = await conn.execute(select(groups).where(groups.c.org_id == org_id).order_by(groups.c.id))
    return records(rows)


async def group_by_id(conn: AsyncConnection, group_id: int) -> Record | None:
    return record((await conn.execute(select(groups).where(groups.c.id == group_id))).first())


async def group_for_topic(conn: AsyncConnection, org_id: int, topic: str) -> Record | None:
    """The group serving `topic`, else the organisation's catch-all group (topic NULL)."""
    rows = records(
        await conn.execute(
            select(groups).where(
                groups.c.org_id == org_id, (groups.c.topic == topic) | groups.c.topic.is_(None)
            )
        )
    )
    exact = [g for g in rows if g["topic"] == topic]
    if exact:
        return exact[0]
    return rows[0] if rows else None


async def add_member(conn: AsyncConnection, *, group_id: int, user_id: int) -> None:
    await conn.execute(insert(group_members).values(group_id=group_id, user_id=user_id))


async def group_ids_of(conn: AsyncConnection, user_id: int) -> set[int]:
    rows = await conn.execute(
        select(group_members.c.group_id).where(group_members.c.user_id == user_id)
    )
    return {int(r[0]) for r in rows}


def group_ids_of_sync(conn: Connection, user_id: int) -> set[int]:
    """group_ids_of inside Database.write_in_thread or read_in_thread (compiled once: an
    agent's every typing indicator asks)."""
    prepared = compiled_once(conn, "group_members.of_user", _group_ids_statement)
    return {int(row["group_id"]) for row in prepared.rows(prepared.run(conn, {"p_user": user_id}))}


def _group_ids_statement() -> tuple[Select[Any], list[Column[Any]]]:
    user = bindparam("p_user", type_=group_members.c.user_id.type)
    statement = select(group_members.c.group_id).where(group_members.c.user_id == user)
    return statement, [group_members.c.group_id]


async def members_of(conn: AsyncConnection, org_id: int) -> dict[int, list[int]]:
    """user id → group ids, for one organisation."""
    rows = await conn.execute(
        select(group_members.c.user_id, group_members.c.group_id)
        .join(groups, groups.c.id == group_members.c.group_id)
        .where(groups.c.org_id == org_id)
    )
    result: dict[int, list[int]] = {}
    for user_id, group_id in rows:
        result.setdefault(int(user_id), []).append(int(group_id))
    return result
