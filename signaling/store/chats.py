"""Chat sessions: one conversation between a customer and support, always linked to a ticket."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Column, Connection, Select, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.db.prepared import compiled_once
from signaling.db.schema import chat_sessions
from signaling.store import Record, record, records
from signaling.types import ChatState, TicketPriority


async def create_chat(
    conn: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    ticket_id: int,
    group_id: int | None,
    topic: str,
    language: str,
    priority: TicketPriority,
) -> Record:
    result = await conn.execute(
        insert(chat_sessions)
        .values(
            org_id=org_id,
            customer_id=customer_id,
            ticket_id=ticket_id,
            group_id=group_id,
            state=ChatState.NEW.value,
            topic=topic,
            language=language,
            priority=priority.value,
            last_seq=0,
            customer_read_seq=0,
            agent_read_seq=0,
        )
        .returning(*chat_sessions.c)
    )
    created = record(result.first())
    assert created is not None
    return created


async def chat_by_id(conn: AsyncConnection, chat_id: int) -> Record | None:
    return await conn.run_sync(chat_by_id_sync, chat_id)


def chat_by_id_sync(conn: Connection, chat_id: int) -> Record | None:
    """chat_by_id inside Database.write_in_thread (compiled once: every call start asks)."""
    prepared = compiled_once(conn, "chat_sessions.by_id", _chat_by_id_statement)
    rows = prepared.rows(prepared.run(conn, {"p_id": chat_id}))
    return rows[0] if rows else None


def _chat_by_id_statement() -> tuple[Select[Any], list[Column[Any]]]:
    statement = select(chat_sessions).where(
        chat_sessions.c.id == bindparam("p_id", type_=chat_sessions.c.id.type)
    )
    return statement, list(chat_sessions.c)


async def update_chat(conn: AsyncConnection, chat_id: int, changes: dict[str, Any]) -> Record:
    await conn.execute(update(chat_sessions).where(chat_sessions.c.id == chat_id).values(**changes))
    updated = await chat_by_id(conn, chat_id)
    assert updated is not None
    return updated


READ_SEQ_COLUMNS = ("customer_read_seq", "agent_read_seq")


def raise_read_seq_sync(conn: Connection, chat_id: int, column: str, seq: int) -> bool:
    """Move one side's read marker forward to `seq`, never back (two receipts racing on
    PostgreSQL cannot lower it); False if it was already there or past it. Compiled once:
    a page sends a receipt for nearly every message it shows."""
    if column not in READ_SEQ_COLUMNS:
        raise ValueError(f"{column} is not a read marker")
    prepared = compiled_once(
        conn, ("chat_sessions.raise_read_seq", column), lambda: _raise_read_seq_statement(column)
    )
    return bool(prepared.run(conn, {"p_id": chat_id, "p_seq": seq}).rowcount)


def _raise_read_seq_statement(column: str) -> tuple[Any, list[Column[Any]]]:
    marker = chat_sessions.c[column]
    seq = bindparam("p_seq", type_=marker.type)
    statement = (
        update(chat_sessions)
        .where(chat_sessions.c.id == bindparam("p_id", type_=chat_sessions.c.id.type))
        .where(marker < seq)
        .values({column: seq})
    )
    return statement, []


async def update_chat_in_state(
    conn: AsyncConnection, chat_id: int, state: ChatState, changes: dict[str, Any]
) -> Record | None:
    """Change the chat only if it is still in `state` (None if it no longer is): the one
    statement that decides between two racing transitions (the bot's answer and the
    customer's "talk to a person"); on PostgreSQL it holds the row until commit."""
    result = await conn.execute(
        update(chat_sessions)
        .where(chat_sessions.c.id == chat_id, chat_sessions.c.state == state.value)
        .values(**changes)
    )
    if not result.rowcount:
        return None
    return await chat_by_id(conn, chat_id)


async def next_seq(conn: AsyncConnection, chat_id: int) -> int:
    """Reserve the next message number of a chat inside the caller's transaction."""
    result = await conn.execute(
        update(chat_sessions)
        .where(chat_sessions.c.id == chat_id)
        .values(last_seq=chat_sessions.c.last_seq + 1)
        .returning(chat_sessions.c.last_seq)
    )
    return int(result.scalar_one())


async def chats_in_state(conn: AsyncConnection, state: ChatState) -> list[Record]:
    rows = await conn.execute(
        select(chat_sessions)
        .where(chat_sessions.c.state == state.value)
        .order_by(chat_sessions.c.id)
    )
    return records(rows)


async def active_chats_of(conn: AsyncConnection, user_id: int) -> list[Record]:
    rows = await conn.execute(
        select(chat_sessions).where(
            chat_sessions.c.assignee_id == user_id,
            chat_sessions.c.state == ChatState.ACTIVE.value,
        )
    )
    return records(rows)


async def chats_of_ticket(conn: AsyncConnection, ticket_id: int) -> list[Record]:
    rows = await conn.execute(
        select(chat_sessions)
        .where(chat_sessions.c.ticket_id == ticket_id)
        .order_by(chat_sessions.c.id)
    )
    return records(rows)


async def list_chats(
    conn: AsyncConnection,
    org_id: int,
    *,
    visible_to_groups: Collection[int] | None,
    visible_to_user: int | None,
    filters: dict[str, Any],
    limit: int,
    offset: int,
) -> tuple[list[Record], int]:
    where: list[Any] = [chat_sessions.c.org_id == org_id]
    if visible_to_groups is not None:
        where.append(
            or_(
                chat_sessions.c.group_id.in_(visible_to_groups),
                chat_sessions.c.assignee_id == visible_to_user,
            )
        )
    for key in ("state", "assignee_id", "group_id", "customer_id", "ticket_id", "topic"):
        if filters.get(key) is not None:
            where.append(getattr(chat_sessions.c, key) == filters[key])
    total = (
        await conn.execute(select(func.count()).select_from(chat_sessions).where(*where))
    ).scalar_one()
    rows = await conn.execute(
        select(chat_sessions)
        .where(*where)
        .order_by(chat_sessions.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return records(rows), int(total)


async def mean_handle_seconds(conn: AsyncConnection, org_id: int, last: int = 50) -> float | None:
    """Average assigned→ended time of the organisation's most recent ended chats."""
    rows = await conn.execute(
        select(chat_sessions.c.assigned_at, chat_sessions.c.ended_at)
        .where(
            chat_sessions.c.org_id == org_id,
            chat_sessions.c.assigned_at.is_not(None),
            chat_sessions.c.ended_at.is_not(None),
        )
        .order_by(chat_sessions.c.id.desc())
        .limit(last)
    )
    spans = [(ended - assigned).total_seconds() for assigned, ended in rows]
    return sum(spans) / len(spans) if spans else None
