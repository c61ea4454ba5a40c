"""Recordings: one per recorded call, its played files, and the media jobs that make them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Insert,
    Select,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.db.prepared import column_binds, compiled_once, insert_keys
from signaling.db.schema import (
    calls,
    chat_sessions,
    customers,
    media_jobs,
    organisations,
    recording_files,
    recordings,
    users,
    utcnow,
)
from signaling.store import Record, record, records
from signaling.types import JobState, RecordingPolicy, RecordingState

FINISHED = (RecordingState.READY.value, RecordingState.FAILED.value)


# ---- policy ----------------------------------------------------------------------------------
async def policy_of(conn: AsyncConnection, org_id: int) -> RecordingPolicy:
    return await conn.run_sync(policy_of_sync, org_id)


def policy_of_sync(conn: Connection, org_id: int) -> RecordingPolicy:
    """Read as a call is answered: compiled once (signaling.db.prepared)."""
    prepared = compiled_once(conn, "organisations.recording_policy", _policy_statement)
    (row,) = prepared.rows(prepared.run(conn, {"p_id": org_id}))
    return RecordingPolicy(row["recording_policy"])


def _policy_statement() -> tuple[Select[Any], list[Column[Any]]]:
    column = organisations.c.recording_policy
    statement = select(column).where(
        organisations.c.id == bindparam("p_id", type_=organisations.c.id.type)
    )
    return statement, [column]


async def set_policy(conn: AsyncConnection, org_id: int, policy: RecordingPolicy) -> None:
    await conn.execute(
        update(organisations)
        .where(organisations.c.id == org_id)
        .values(recording_policy=policy.value)
    )


# ---- recordings ------------------------------------------------------------------------------
async def create_recording(conn: AsyncConnection, **fields: Any) -> Record:
    """See create_recording_sync."""
    return await conn.run_sync(lambda sync_conn: create_recording_sync(sync_conn, **fields))


def create_recording_sync(
    conn: Connection,
    *,
    org_id: int,
    call_id: int,
    directory: str,
    state: RecordingState,
    started_at: datetime,
    encrypted: bool,
    reason: str | None = None,
) -> Record:
    """The recording's row, as a call is answered (compiled once: signaling.db.prepared)."""
    prepared = compiled_once(conn, "recordings.create", _create_recording_statement)
    values: dict[str, Any] = dict.fromkeys(_RECORDING_FIELDS, None)
    values.update(
        org_id=org_id,
        call_id=call_id,
        directory=directory,
        state=state.value,
        started_at=started_at,
        encrypted=encrypted,
        reason=reason,
        interrupted=False,
        paused_ms=0,
        bytes=0,
        dropped_bytes=0,
        created_at=utcnow(),
    )
    return prepared.rows(prepared.run(conn, values))[0]


_RECORDING_FIELDS = insert_keys(recordings)


def _create_recording_statement() -> tuple[Insert, list[Column[Any]]]:
    statement = insert(recordings).values(column_binds(recordings, _RECORDING_FIELDS))
    return statement.returning(*recordings.c), list(recordings.c)


async def update_recording(
    conn: AsyncConnection, recording_id: int, changes: dict[str, Any]
) -> Record:
    result = await conn.execute(
        update(recordings)
        .where(recordings.c.id == recording_id)
        .values(**changes)
        .returning(*recordings.c)
    )
    updated = record(result.first())
    assert updated is not None
    return updated


async def recording_by_id(conn: AsyncConnection, recording_id: int) -> Record | None:
    rows = await conn.execute(select(recordings).where(recordings.c.id == recording_id))
    return record(rows.first())


async def recording_of_call(conn: AsyncConnection, call_id: int) -> Record | None:
    rows = await conn.execute(select(recordings).where(recordings.c.call_id == call_id))
    return record(rows.first())


async def recordings_in_state(conn: AsyncConnection, *states: RecordingState) -> list[Record]:
    rows = await conn.execute(
        select(recordings).where(recordings.c.state.in_([s.value for s in states]))
    )
    return records(rows)


async def due_for_deletion(
    conn: AsyncConnection, *, older_than: datetime, limit: int = 100
) -> list[Record]:
    """Finished (or failed) recordings past retention, oldest first."""
    rows = await conn.execute(
        select(recordings)
        .where(recordings.c.state.in_(FINISHED), recordings.c.started_at < older_than)
        .order_by(recordings.c.started_at)
        .limit(limit)
    )
    return records(rows)


async def oldest_finished(conn: AsyncConnection, limit: int = 20) -> list[Record]:
    rows = await conn.execute(
        select(recordings)
        .where(recordings.c.state.in_(FINISHED))
        .order_by(recordings.c.started_at)
        .limit(limit)
    )
    return records(rows)


async def stored_bytes(conn: AsyncConnection) -> int:
    """What the recordings that are not deleted take: their capture and their files."""
    capture = (
        await conn.execute(
            select(func.coalesce(func.sum(recordings.c.bytes), 0)).where(
                recordings.c.state != RecordingState.DELETED.value
            )
        )
    ).scalar_one()
    produced = (
        await conn.execute(
            select(func.coalesce(func.sum(recording_files.c.bytes), 0))
            .select_from(recording_files.join(recordings))
            .where(recordings.c.state != RecordingState.DELETED.value)
        )
    ).scalar_one()
    return int(capture) + int(produced)


SUMMARY_COLUMNS = (
    recordings,
    calls.c.chat_id,
    calls.c.ticket_id,
    calls.c.agent_id,
    calls.c.customer_id,
    chat_sessions.c.group_id,
    users.c.name.label("agent_name"),
    customers.c.name.label("customer_name"),
)


def _summary_select() -> Any:
    return select(*SUMMARY_COLUMNS).select_from(
        recordings.join(calls, calls.c.id == recordings.c.call_id)
        .join(chat_sessions, chat_sessions.c.id == calls.c.chat_id)
        .join(users, users.c.id == calls.c.agent_id)
        .join(customers, customers.c.id == calls.c.customer_id)
    )


async def summary_of(conn: AsyncConnection, recording_id: int) -> Record | None:
    rows = await conn.execute(_summary_select().where(recordings.c.id == recording_id))
    return record(rows.first())


async def list_recordings(
    conn: AsyncConnection,
    org_id: int,
    *,
    agent_id: int | None,
    filters: dict[str, Any],
    extra: list[Any],
    limit: int,
    offset: int,
) -> tuple[list[Record], int]:
    """A filtered page of recordings (with their call's chat, ticket, agent and customer),
    newest first. `agent_id` narrows an agent to their own calls; `extra` holds SQL
    conditions the caller built (quality, score)."""
    where: list[Any] = [
        recordings.c.org_id == org_id,
        recordings.c.state != RecordingState.DELETED.value,
        *extra,
    ]
    if agent_id is not None:
        where.append(calls.c.agent_id == agent_id)
    for key, column in (
        ("agent_id", calls.c.agent_id),
        ("customer_id", calls.c.customer_id),
        ("ticket_id", calls.c.ticket_id),
        ("group_id", chat_sessions.c.group_id),
        ("state", recordings.c.state),
    ):
        if filters.get(key) is not None:
            where.append(column == filters[key])
    if filters.get("started_from") is not None:
        where.append(recordings.c.started_at >= filters["started_from"])
    if filters.get("started_before") is not None:
        where.append(recordings.c.started_at < filters["started_before"])
    if filters.get("min_duration_ms") is not None:
        where.append(recordings.c.duration_ms >= filters["min_duration_ms"])
    if filters.get("max_duration_ms") is not None:
        where.append(recordings.c.duration_ms <= filters["max_duration_ms"])
    base = _summary_select().where(and_(*where))
    total = (await conn.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
    rows = await conn.execute(base.order_by(recordings.c.id.desc()).limit(limit).offset(offset))
    return records(rows), int(total)


# ---- files -----------------------------------------------------------------------------------
async def add_file(conn: AsyncConnection, recording_id: int, **values: Any) -> Record:
    result = await conn.execute(
        insert(recording_files)
        .values(recording_id=recording_id, **values)
        .returning(*recording_files.c)
    )
    created = record(result.first())
    assert created is not None
    return created


async def files_of(conn: AsyncConnection, recording_id: int) -> list[Record]:
    rows = await conn.execute(
        select(recording_files)
        .where(recording_files.c.recording_id == recording_id)
        .order_by(recording_files.c.id)
    )
    return records(rows)


async def file_by_id(conn: AsyncConnection, file_id: int) -> Record | None:
    rows = await conn.execute(select(recording_files).where(recording_files.c.id == file_id))
    return record(rows.first())


async def drop_files(conn: AsyncConnection, recording_id: int, kind: str) -> None:
    """Forget the files of a kind (a job that runs again replaces them)."""
    await conn.execute(
        recording_files.delete().where(
            recording_files.c.recording_id == recording_id, recording_files.c.kind == kind
        )
    )


# ---- media jobs ------------------------------------------------------------------------------
async def enqueue_job(conn: AsyncConnection, recording_id: int, kind: str) -> Record:
    result = await conn.execute(
        insert(media_jobs)
        .values(
            recording_id=recording_id,
            kind=kind,
            state=JobState.QUEUED.value,
            progress=0.0,
            attempts=0,
        )
        .returning(*media_jobs.c)
    )
    created = record(result.first())
    assert created is not None
    return created


async def next_job(conn: AsyncConnection, now: datetime) -> Record | None:
    """The oldest queued job whose retry delay has passed."""
    rows = await conn.execute(
        select(media_jobs)
        .where(
            media_jobs.c.state == JobState.QUEUED.value,
            or_(media_jobs.c.not_before.is_(None), media_jobs.c.not_before <= now),
        )
        .order_by(media_jobs.c.id)
        .limit(1)
    )
    return record(rows.first())


async def update_job(conn: AsyncConnection, job_id: int, changes: dict[str, Any]) -> Record:
    result = await conn.execute(
        update(media_jobs)
        .where(media_jobs.c.id == job_id)
        .values(**changes)
        .returning(*media_jobs.c)
    )
    updated = record(result.first())
    assert updated is not None
    return updated


async def jobs_of(conn: AsyncConnection, recording_id: int) -> list[Record]:
    rows = await conn.execute(
        select(media_jobs)
        .where(media_jobs.c.recording_id == recording_id)
        .order_by(media_jobs.c.id)
    )
    return records(rows)


async def requeue_running(conn: AsyncConnection) -> int:
    """At startup: jobs a previous process was running start again (they are idempotent)."""
    result = await conn.execute(
        update(media_jobs)
        .where(media_jobs.c.state == JobState.RUNNING.value)
        .values(state=JobState.QUEUED.value, progress=0.0)
    )
    return int(result.rowcount or 0)


async def job_counts(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(select(media_jobs.c.state, func.count()).group_by(media_jobs.c.state))
    return {str(state): int(count) for state, count in rows}


async def failed_since(conn: AsyncConnection, since: datetime) -> int:
    """Recordings started since then that failed (a full disk, a relay error, processing)."""
    return int(
        (
            await conn.execute(
                select(func.count()).where(
                    recordings.c.state == RecordingState.FAILED.value,
                    recordings.c.started_at >= since,
                )
            )
        ).scalar_one()
    )
