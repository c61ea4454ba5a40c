"""Tickets and their history: every change of a field is kept as a ticket event."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import String, cast, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.db.schema import ticket_events, tickets, utcnow
from signaling.store import Record, record, records
from signaling.types import TicketPriority, TicketStatus
from signaling.webhooks import outbox

TRACKED_FIELDS = ("subject", "status", "priority", "tags", "assignee_id", "group_id")
DONE_STATUSES = (TicketStatus.SOLVED.value, TicketStatus.CLOSED.value)


async def create_ticket(
    conn: AsyncConnection,
    *,
    org_id: int,
    customer_id: int | None,
    subject: str,
    priority: TicketPriority,
    group_id: int | None,
    actor_type: str,
    actor_id: int | None,
) -> Record:
    now = utcnow()
    result = await conn.execute(
        insert(tickets)
        .values(
            org_id=org_id,
            customer_id=customer_id,
            subject=subject,
            status=TicketStatus.OPEN.value,
            priority=priority.value,
            tags=[],
            group_id=group_id,
            created_at=now,
            updated_at=now,
        )
        .returning(*tickets.c)
    )
    created = record(result.first())
    assert created is not None
    await conn.execute(
        insert(ticket_events).values(
            ticket_id=created["id"],
            actor_type=actor_type,
            actor_id=actor_id,
            field="created",
            old_value=None,
            new_value={"subject": subject, "status": TicketStatus.OPEN.value},
            created_at=now,
        )
    )
    return created


async def ticket_by_id(conn: AsyncConnection, ticket_id: int) -> Record | None:
    return record((await conn.execute(select(tickets).where(tickets.c.id == ticket_id))).first())


async def change_ticket(
    conn: AsyncConnection,
    ticket: Record,
    changes: dict[str, Any],
    *,
    actor_type: str,
    actor_id: int | None,
) -> Record:
    """Apply changes, record one history event per field that really changed; return the new row.

    Each real change makes a new `version` (in the same UPDATE, so two writers never share
    one): what PATCH /api/tickets compares a client's `version` with. The change is a
    `ticket.updated` webhook event in the same transaction."""
    real = {k: v for k, v in changes.items() if ticket.get(k) != v}
    if not real:
        return ticket
    now = utcnow()
    values = {**real, "updated_at": now, "version": tickets.c.version + 1}
    if "status" in real:
        values["solved_at"] = now if real["status"] in DONE_STATUSES else None
    await conn.execute(update(tickets).where(tickets.c.id == ticket["id"]).values(**values))
    for field, new in real.items():
        await conn.execute(
            insert(ticket_events).values(
                ticket_id=ticket["id"],
                actor_type=actor_type,
                actor_id=actor_id,
                field=field,
                old_value=ticket.get(field),
                new_value=new,
                created_at=now,
            )
        )
    updated = await ticket_by_id(conn, ticket["id"])
    assert updated is not None
    await outbox.ticket_updated(
        conn,
        updated,
        [{"field": k, "old": ticket.get(k), "new": v} for k, v in real.items()],
        {"type": actor_type, "id": actor_id},
    )
    return updated


async def ticket_history(conn: AsyncConnection, ticket_id: int) -> list[Record]:
    rows = await conn.execute(
        select(ticket_events)
        .where(ticket_events.c.ticket_id == ticket_id)
        .order_by(ticket_events.c.id)
    )
    return records(rows)


async def list_tickets(
    conn: AsyncConnection,
    org_id: int,
    *,
    visible_to_groups: Collection[int] | None,
    visible_to_user: int | None,
    filters: dict[str, Any],
    limit: int,
    offset: int,
) -> tuple[list[Record], int]:
    """Filtered page of tickets; `visible_to_*` narrow an agent to their groups and own tickets."""
    where: list[Any] = [tickets.c.org_id == org_id]
    if visible_to_groups is not None:
        where.append(
            or_(tickets.c.group_id.in_(visible_to_groups), tickets.c.assignee_id == visible_to_user)
        )
    for key in ("status", "priority", "assignee_id", "group_id", "customer_id"):
        if filters.get(key) is not None:
            where.append(getattr(tickets.c, key) == filters[key])
    # autoescape: "_" and "%" in a tag or search text are literal characters, not wildcards.
    if filters.get("tag"):
        # JSON arrays are stored as text on both dialects; match the quoted element.
        tags_text = cast(tickets.c.tags, String)
        where.append(tags_text.contains(f'"{filters["tag"]}"', autoescape=True))
    if filters.get("q"):
        subject = func.lower(tickets.c.subject)
        where.append(subject.contains(str(filters["q"]).lower(), autoescape=True))
    total = (
        await conn.execute(select(func.count()).select_from(tickets).where(*where))
    ).scalar_one()
    rows = await conn.execute(
        select(tickets)
        .where(*where)
        .order_by(tickets.c.updated_at.desc(), tickets.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return records(rows), int(total)
