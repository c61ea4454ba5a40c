"""Knowledge-base articles and macros, and the organisation's bot switch and search revision."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.db.schema import kb_articles, kb_macros, organisations, utcnow
from signaling.store import Record, record, records

A = kb_articles
M = kb_macros
O = organisations  # noqa: E741


# ---- the organisation's side --------------------------------------------------------------
async def kb_revision(conn: AsyncConnection, org_id: int) -> int:
    found = await conn.execute(select(O.c.kb_revision).where(O.c.id == org_id))
    return int(found.scalar() or 0)


async def bump_revision(conn: AsyncConnection, org_id: int) -> None:
    """In the transaction of an article change: every process's index is now stale."""
    await conn.execute(update(O).where(O.c.id == org_id).values(kb_revision=O.c.kb_revision + 1))


async def bot_enabled(conn: AsyncConnection, org_id: int) -> bool:
    found = await conn.execute(select(O.c.bot_enabled).where(O.c.id == org_id))
    return bool(found.scalar())


def bot_enabled_sync(conn: Connection, org_id: int) -> bool:
    """bot_enabled() inside Database.write_in_thread (the message writer's batches)."""
    return bool(conn.execute(select(O.c.bot_enabled).where(O.c.id == org_id)).scalar())


async def set_bot_enabled(conn: AsyncConnection, org_id: int, enabled: bool) -> None:
    await conn.execute(update(O).where(O.c.id == org_id).values(bot_enabled=enabled))


# ---- articles -----------------------------------------------------------------------------
async def article_by_id(conn: AsyncConnection, article_id: int) -> Record | None:
    return record((await conn.execute(select(A).where(A.c.id == article_id))).first())


async def list_articles(
    conn: AsyncConnection,
    org_id: int,
    *,
    published_only: bool,
    language: str | None,
    topic: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Record], int]:
    where = [A.c.org_id == org_id]
    if published_only:
        where.append(A.c.published.is_(True))
    if language is not None:
        where.append(A.c.language == language)
    if topic is not None:
        where.append(A.c.topic == topic)
    total = (await conn.execute(select(func.count()).select_from(A).where(*where))).scalar()
    rows = await conn.execute(
        select(A).where(*where).order_by(A.c.updated_at.desc(), A.c.id.desc())
        .limit(limit).offset(offset)
    )  # fmt: skip
    return records(rows), int(total or 0)


async def articles_for_index(conn: AsyncConnection, org_id: int) -> list[Record]:
    rows = await conn.execute(
        select(A.c.id, A.c.title, A.c.body, A.c.language, A.c.topic, A.c.tags, A.c.published)
        .where(A.c.org_id == org_id)
        .order_by(A.c.id)
    )
    return records(rows)


async def create_article(conn: AsyncConnection, **values: Any) -> Record:
    now = utcnow()
    result = await conn.execute(
        insert(A).values(**values, created_at=now, updated_at=now).returning(*A.c)
    )
    created = record(result.first())
    assert created is not None
    return created


async def update_article(conn: AsyncConnection, article_id: int, changes: dict[str, Any]) -> Record:
    await conn.execute(update(A).where(A.c.id == article_id).values(**changes, updated_at=utcnow()))
    updated = await article_by_id(conn, article_id)
    assert updated is not None
    return updated


async def delete_article(conn: AsyncConnection, article_id: int) -> None:
    await conn.execute(delete(A).where(A.c.id == article_id))


# ---- macros -------------------------------------------------------------------------------
async def macro_by_id(conn: AsyncConnection, macro_id: int) -> Record | None:
    return record((await conn.execute(select(M).where(M.c.id == macro_id))).first())


async def list_macros(conn: AsyncConnection, org_id: int) -> list[Record]:
    rows = await conn.execute(select(M).where(M.c.org_id == org_id).order_by(M.c.title, M.c.id))
    return records(rows)


async def create_macro(conn: AsyncConnection, **values: Any) -> Record:
    now = utcnow()
    result = await conn.execute(
        insert(M).values(**values, created_at=now, updated_at=now).returning(*M.c)
    )
    created = record(result.first())
    assert created is not None
    return created


async def update_macro(conn: AsyncConnection, macro_id: int, changes: dict[str, Any]) -> Record:
    await conn.execute(update(M).where(M.c.id == macro_id).values(**changes, updated_at=utcnow()))
    updated = await macro_by_id(conn, macro_id)
    assert updated is not None
    return updated


async def delete_macro(conn: AsyncConnection, macro_id: int) -> None:
    await conn.execute(delete(M).where(M.c.id == macro_id))


async def published_count(conn: AsyncConnection, org_id: int) -> int:
    found = await conn.execute(
        select(func.count()).select_from(A).where(A.c.org_id == org_id, A.c.published.is_(True))
    )
    return int(found.scalar() or 0)
