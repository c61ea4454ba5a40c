"""Calls: one audio/video call in a chat, its event log and its quality samples.

The functions on the call-start-to-join path have a `_sync` form taking a sync Connection,
for Database.write_in_thread (a whole transaction in SQLite's writer thread); their async
form runs the same code through AsyncConnection.run_sync. Their statements are compiled
once (signaling.db.prepared): through SQLAlchemy's execution each cost 2.5 to 4 times
what SQLite spent on it, and every call start, answer, join and end runs several."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Insert,
    Select,
    Update,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.calls.revision import next_rev
from signaling.db.prepared import column_binds, compiled_once, insert_keys
from signaling.db.schema import call_events, call_quality, calls, utcnow
from signaling.store import Record, record, records
from signaling.types import CallMedia, CallParty, CallState

NO_MEDIA = {"audio": False, "camera": False, "screen": False}


def create_call_sync(
    conn: Connection,
    *,
    org_id: int,
    chat_id: int,
    ticket_id: int,
    customer_id: int,
    agent_id: int,
    media: CallMedia,
    started_by: CallParty,
) -> Record:
    prepared = compiled_once(conn, "calls.create", _create_statement)
    values = dict.fromkeys(_CREATED_FROM, None)
    values.update(
        org_id=org_id,
        chat_id=chat_id,
        ticket_id=ticket_id,
        customer_id=customer_id,
        agent_id=agent_id,
        media=media.value,
        state=CallState.RINGING.value,
        started_by=started_by.value,
        created_at=utcnow(),
        media_used=dict(NO_MEDIA),
        rev=next_rev(0),
    )
    return prepared.rows(prepared.run(conn, values))[0]


_CREATED_FROM = insert_keys(calls)


def _create_statement() -> tuple[Insert, list[Column[Any]]]:
    statement = insert(calls).values(column_binds(calls, _CREATED_FROM))
    return statement.returning(*calls.c), list(calls.c)


async def call_by_id(conn: AsyncConnection, call_id: int) -> Record | None:
    return record((await conn.execute(select(calls).where(calls.c.id == call_id))).first())


async def update_call(conn: AsyncConnection, call_id: int, changes: dict[str, Any]) -> Record:
    return await conn.run_sync(update_call_sync, call_id, changes)


def update_call_sync(conn: Connection, call_id: int, changes: dict[str, Any]) -> Record:
    """Change a call and return its new row (one statement: UPDATE … RETURNING)."""
    keys = tuple(sorted(changes))
    prepared = compiled_once(conn, ("calls.update", keys), lambda: _update_statement(keys))
    updated = prepared.rows(prepared.run(conn, {**changes, "p_id": call_id}))
    assert updated, f"no call {call_id}"
    return updated[0]


def _update_statement(keys: tuple[str, ...]) -> tuple[Update, list[Column[Any]]]:
    statement = (
        update(calls)
        .where(calls.c.id == bindparam("p_id", type_=calls.c.id.type))
        .values(column_binds(calls, keys))
        .returning(*calls.c)
    )
    return statement, list(calls.c)


async def unfinished_call_of_chat(conn: AsyncConnection, chat_id: int) -> Record | None:
    return await conn.run_sync(unfinished_call_of_chat_sync, chat_id)


def unfinished_call_of_chat_sync(conn: Connection, chat_id: int) -> Record | None:
    prepared = compiled_once(conn, "calls.unfinished_of_chat", _unfinished_statement)
    rows = prepared.rows(prepared.run(conn, {"p_chat_id": chat_id}))
    return rows[0] if rows else None


def _unfinished_statement() -> tuple[Select[Any], list[Column[Any]]]:
    statement = select(calls).where(
        calls.c.chat_id == bindparam("p_chat_id", type_=calls.c.chat_id.type),
        calls.c.state != CallState.ENDED.value,
    )
    return statement.limit(1), list(calls.c)


async def unfinished_calls(conn: AsyncConnection) -> list[Record]:
    """Calls a previous run left ringing or active (its relay workers are gone)."""
    return records(await conn.execute(select(calls).where(calls.c.state != CallState.ENDED.value)))


async def add_event(
    conn: AsyncConnection,
    call_id: int,
    kind: str,
    actor: CallParty | None = None,
    detail: dict[str, Any] | None = None,
) -> Record:
    return await conn.run_sync(add_event_sync, call_id, kind, actor, detail)


def add_event_sync(
    conn: Connection,
    call_id: int,
    kind: str,
    actor: CallParty | None = None,
    detail: dict[str, Any] | None = None,
) -> Record:
    prepared = compiled_once(conn, "call_events.add", _add_event_statement)
    values = _event_values(call_id, kind, actor, detail or {})
    return prepared.rows(prepared.run(conn, values))[0]


def add_events_sync(
    conn: Connection, events: list[tuple[int, str, CallParty | None, dict[str, Any]]]
) -> None:
    """Append (call_id, kind, actor, detail) events, of one call or many, in one statement."""
    if events:
        prepared = compiled_once(conn, "call_events.add_many", _add_events_statement)
        prepared.run_many(conn, [_event_values(*event) for event in events])


_EVENT_FIELDS = insert_keys(call_events)


def _event_values(
    call_id: int, kind: str, actor: CallParty | None, detail: dict[str, Any]
) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "kind": kind,
        "actor": actor.value if actor else None,
        "detail": detail,
        "created_at": utcnow(),
    }


def _add_events_statement() -> tuple[Insert, list[Column[Any]]]:
    return insert(call_events).values(column_binds(call_events, _EVENT_FIELDS)), []


def _add_event_statement() -> tuple[Insert, list[Column[Any]]]:
    statement, _ = _add_events_statement()
    return statement.returning(*call_events.c), list(call_events.c)


def media_used_of(events: list[Record]) -> dict[str, bool]:
    """What was ever sent during a call, derived from its "media" events."""
    used = dict(NO_MEDIA)
    for event in events:
        if event["kind"] == "media":
            for key in used:
                used[key] = used[key] or bool(event["detail"].get(key))
    return used


async def events_of(conn: AsyncConnection, call_id: int) -> list[Record]:
    rows = await conn.execute(
        select(call_events).where(call_events.c.call_id == call_id).order_by(call_events.c.id)
    )
    return records(rows)


async def add_quality(conn: AsyncConnection, call_id: int, sample: dict[str, Any]) -> Record:
    result = await conn.execute(
        insert(call_quality).values(call_id=call_id, **sample).returning(*call_quality.c)
    )
    created = record(result.first())
    assert created is not None
    return created


async def quality_of(conn: AsyncConnection, call_id: int) -> list[Record]:
    rows = await conn.execute(
        select(call_quality).where(call_quality.c.call_id == call_id).order_by(call_quality.c.id)
    )
    return records(rows)


async def list_calls(
    conn: AsyncConnection,
    org_id: int,
    *,
    agent_id: int | None,
    filters: dict[str, Any],
    limit: int,
    offset: int,
) -> tuple[list[Record], int]:
    """Filtered page of calls, newest first; `agent_id` narrows an agent to their own calls."""
    where: list[Any] = [calls.c.org_id == org_id]
    if agent_id is not None:
        where.append(calls.c.agent_id == agent_id)
    for key in ("chat_id", "ticket_id", "agent_id", "customer_id", "state", "end_reason"):
        if filters.get(key) is not None:
            where.append(getattr(calls.c, key) == filters[key])
    total = (await conn.execute(select(func.count()).select_from(calls).where(*where))).scalar_one()
    rows = await conn.execute(
        select(calls).where(*where).order_by(calls.c.id.desc()).limit(limit).offset(offset)
    )
    return records(rows), int(total)
