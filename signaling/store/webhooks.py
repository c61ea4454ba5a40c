"""Webhook endpoints and the outbox of their deliveries (one row per event and endpoint).

A delivery is `pending` until its receiver answers 2xx (`delivered`) or it has been retried
for webhooks.max_age_seconds (`dead`). The sync functions run inside
Database.write_in_thread (the call path); the async ones on the async engine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    Column,
    Connection,
    Select,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.db.prepared import compiled_once
from signaling.db.schema import utcnow, webhook_deliveries, webhook_endpoints
from signaling.store import Record, record, records
from signaling.types import DeliveryState

D = webhook_deliveries
E = webhook_endpoints


# ---- endpoints ----------------------------------------------------------------------------
async def list_endpoints(conn: AsyncConnection, org_id: int) -> list[Record]:
    rows = await conn.execute(select(E).where(E.c.org_id == org_id).order_by(E.c.id))
    return records(rows)


async def endpoint_by_id(conn: AsyncConnection, endpoint_id: int) -> Record | None:
    return record((await conn.execute(select(E).where(E.c.id == endpoint_id))).first())


async def create_endpoint(conn: AsyncConnection, **values: Any) -> Record:
    now = utcnow()
    result = await conn.execute(
        insert(E).values(**values, created_at=now, updated_at=now).returning(*E.c)
    )
    created = record(result.first())
    assert created is not None
    return created


async def update_endpoint(
    conn: AsyncConnection, endpoint_id: int, changes: dict[str, Any]
) -> Record:
    await conn.execute(
        update(E).where(E.c.id == endpoint_id).values(**changes, updated_at=utcnow())
    )
    updated = await endpoint_by_id(conn, endpoint_id)
    assert updated is not None
    return updated


async def delete_endpoint(conn: AsyncConnection, endpoint_id: int) -> int:
    """Delete an endpoint and its deliveries; how many deliveries went with it."""
    gone = await conn.execute(delete(D).where(D.c.endpoint_id == endpoint_id))
    await conn.execute(delete(E).where(E.c.id == endpoint_id))
    return int(gone.rowcount or 0)


async def delivery_counts(conn: AsyncConnection, org_id: int) -> dict[int, dict[str, int]]:
    """{endpoint id: {"pending": n, "dead": n}} (delivered ones are not counted)."""
    rows = await conn.execute(
        select(D.c.endpoint_id, D.c.state, func.count())
        .where(D.c.org_id == org_id, D.c.state != DeliveryState.DELIVERED.value)
        .group_by(D.c.endpoint_id, D.c.state)
    )
    counts: dict[int, dict[str, int]] = {}
    for endpoint_id, state, count in rows:
        counts.setdefault(int(endpoint_id), {"pending": 0, "dead": 0})[str(state)] = int(count)
    return counts


# ---- the outbox: written with the change it reports ----------------------------------------
def subscribed_sync(conn: Connection, org_id: int, event_type: str) -> list[Record]:
    """The organisation's enabled endpoints that take this event type (asked in the
    transaction of every change that could be one: compiled once)."""
    prepared = compiled_once(conn, "webhook_endpoints.subscribed", _subscribed_statement)
    rows = prepared.rows(prepared.run(conn, {"p_org_id": org_id}))
    return [row for row in rows if event_type in (row["event_types"] or [])]


def _subscribed_statement() -> tuple[Select[Any], list[Column[Any]]]:
    statement = select(E.c.id, E.c.event_types).where(
        E.c.org_id == bindparam("p_org_id", type_=E.c.org_id.type), E.c.enabled.is_(True)
    )
    return statement, [E.c.id, E.c.event_types]


def add_deliveries_sync(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(D), list(rows))


# ---- the sender's side -----------------------------------------------------------------------
def _due(now: datetime | BindParameter[datetime], lease_now: Any = None) -> list[Any]:
    """Pending, due, not held by a live claim, enabled endpoint, and no earlier pending
    delivery with the same endpoint and order key (so one chat's events go out in order).
    `lease_now`: what the lease is compared with, when not `now` itself (a second bind)."""
    earlier = D.alias("earlier")
    lease_now = now if lease_now is None else lease_now
    return [
        D.c.state == DeliveryState.PENDING.value,
        D.c.next_attempt_at <= now,
        or_(D.c.lease_until.is_(None), D.c.lease_until < lease_now),
        D.c.endpoint_id.in_(select(E.c.id).where(E.c.enabled.is_(True))),
        ~exists().where(
            and_(
                earlier.c.endpoint_id == D.c.endpoint_id,
                earlier.c.order_key == D.c.order_key,
                earlier.c.state == DeliveryState.PENDING.value,
                earlier.c.id < D.c.id,
            )
        ),
    ]


async def any_due(conn: AsyncConnection, now: datetime) -> bool:
    """Asked by every process's sender once a second, busy or idle: compiled once."""
    return bool(await conn.run_sync(any_due_sync, now))


def any_due_sync(conn: Connection, now: datetime) -> bool:
    prepared = compiled_once(conn, "webhook_deliveries.any_due", _any_due_statement)
    return prepared.run(conn, {"p_now": now, "p_lease_now": now}).fetchone() is not None


def _any_due_statement() -> tuple[Select[Any], list[Column[Any]]]:
    now = bindparam("p_now", type_=D.c.next_attempt_at.type)
    lease_now = bindparam("p_lease_now", type_=D.c.lease_until.type)
    return select(D.c.id).where(*_due(now, lease_now)).limit(1), [D.c.id]


async def claim_due(
    conn: AsyncConnection,
    now: datetime,
    *,
    claimer: str,
    lease_until: datetime,
    limit: int,
    skip_locked: bool,
) -> list[Record]:
    """Take up to `limit` due deliveries for this process until `lease_until`. On PostgreSQL
    the candidates are locked FOR UPDATE SKIP LOCKED, so processes claiming at once never
    take one row twice; the conditional UPDATE would also stop a second claimer."""
    query = select(D.c.id).where(*_due(now)).order_by(D.c.id).limit(limit)
    if skip_locked:
        query = query.with_for_update(skip_locked=True, of=D)
    ids = [row.id for row in await conn.execute(query)]
    if not ids:
        return []
    await conn.execute(
        update(D)
        .where(
            D.c.id.in_(ids),
            D.c.state == DeliveryState.PENDING.value,
            or_(D.c.lease_until.is_(None), D.c.lease_until < now),
        )
        .values(claimed_by=claimer, lease_until=lease_until)
    )
    rows = await conn.execute(
        select(D, E.c.url, E.c.secret)
        .join(E, E.c.id == D.c.endpoint_id)
        .where(D.c.id.in_(ids), D.c.claimed_by == claimer)
        .order_by(D.c.id)
    )
    return records(rows)


async def finish_attempt(
    conn: AsyncConnection, delivery_id: int, claimer: str, changes: dict[str, Any]
) -> bool:
    """Record an attempt's outcome and let go of the claim, if this process still holds it."""
    result = await conn.execute(
        update(D)
        .where(D.c.id == delivery_id, D.c.claimed_by == claimer)
        .values(**changes, claimed_by=None, lease_until=None)
    )
    return bool(result.rowcount)


async def prune_delivered(conn: AsyncConnection, before: datetime) -> int:
    """Delete deliveries that were delivered before `before`; how many."""
    result = await conn.execute(
        delete(D).where(D.c.state == DeliveryState.DELIVERED.value, D.c.delivered_at < before)
    )
    return int(result.rowcount or 0)


async def release_claims(conn: AsyncConnection, claimer: str | None = None) -> int:
    """Let go of claims: one process's (it stops), or all of them (at start on SQLite, one
    process: claims a stopped run left are void)."""
    query = update(D).where(D.c.lease_until.is_not(None))
    if claimer is not None:
        query = query.where(D.c.claimed_by == claimer)
    result = await conn.execute(query.values(claimed_by=None, lease_until=None))
    return int(result.rowcount or 0)


# ---- admins ---------------------------------------------------------------------------------
async def list_deliveries(
    conn: AsyncConnection,
    org_id: int,
    *,
    state: str | None,
    endpoint_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[Record], int]:
    where: list[Any] = [D.c.org_id == org_id]
    if state is not None:
        where.append(D.c.state == state)
    if endpoint_id is not None:
        where.append(D.c.endpoint_id == endpoint_id)
    total = (await conn.execute(select(func.count()).select_from(D).where(*where))).scalar_one()
    rows = await conn.execute(
        select(D).where(*where).order_by(D.c.id.desc()).limit(limit).offset(offset)
    )
    return records(rows), int(total)


async def delivery_by_id(conn: AsyncConnection, delivery_id: int) -> Record | None:
    return record((await conn.execute(select(D).where(D.c.id == delivery_id))).first())


async def redeliver(conn: AsyncConnection, delivery_id: int) -> Record:
    """A dead delivery goes back in line now, retried for max age again from now."""
    now = utcnow()
    await conn.execute(
        update(D)
        .where(D.c.id == delivery_id)
        .values(
            state=DeliveryState.PENDING.value,
            next_attempt_at=now,
            retry_since=now,
            claimed_by=None,
            lease_until=None,
        )
    )
    found = await delivery_by_id(conn, delivery_id)
    assert found is not None
    return found
