"""Webhook events into the outbox, in the transaction of the change they report.

Each function here is called inside the write that makes the change (chat opened, assigned,
ended; ticket created, changed, escalated; call started, answered, ended; CSAT; recording
ready; review done), so an event is stored exactly when its change is committed: nothing is
lost when the process dies after the commit, nothing is invented when the change rolls
back. No network I/O here: WebhookSender (signaling/webhooks/sender.py) sends later.

With no endpoint subscribed to a type, recording it costs one small SELECT and writes
nothing. The body is built once and stored as the exact bytes every attempt sends.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncConnection

from signaling import jsonutil
from signaling.db.schema import call_quality, calls, chat_sessions, utcnow
from signaling.store import Record
from signaling.store import webhooks as store
from signaling.types import DeliveryState, WebhookEventType

VERSION = 1
"""The body's `version`: a change a receiver could trip on makes a new one."""
RECORDED = "webhooks.recorded"
"""Set in a connection's `info` when its transaction wrote deliveries: once it commits, this
process's sender looks at once (WebhookSender.watch_commits) instead of at its next poll."""

Data = Callable[[Connection], dict[str, Any]]

CHAT_FIELDS = (
    "id", "org_id", "customer_id", "ticket_id", "group_id", "assignee_id", "state", "topic",
    "language", "priority", "created_at", "queued_at", "assigned_at", "ended_at", "end_reason",
)  # fmt: skip
TICKET_FIELDS = (
    "id", "org_id", "customer_id", "subject", "status", "priority", "tags", "assignee_id",
    "group_id", "csat_score", "csat_comment", "version", "created_at", "updated_at", "solved_at",
)  # fmt: skip
CALL_FIELDS = (
    "id", "org_id", "chat_id", "ticket_id", "customer_id", "agent_id", "media", "state",
    "started_by", "created_at", "answered_at", "ended_at", "end_reason", "ended_by",
    "media_used",
)  # fmt: skip
LEVELS = ("good", "fair", "poor")


def record_sync(
    conn: Connection, org_id: int, kind: WebhookEventType, order_key: str, data: Data
) -> str | None:
    """Store one event for every enabled endpoint of the organisation that takes `kind`;
    `data(conn)` builds its `data` object (only when someone takes it). The event id."""
    endpoints = store.subscribed_sync(conn, org_id, kind.value)
    if not endpoints:
        return None
    event_id = f"evt_{uuid.uuid4().hex}"
    now = utcnow()
    body = jsonutil.dumps(
        {
            "version": VERSION,
            "id": event_id,
            "type": kind.value,
            "occurred_at": now,
            "org_id": org_id,
            "data": data(conn),
        }
    )
    conn.info[RECORDED] = True
    store.add_deliveries_sync(
        conn,
        [
            {
                "org_id": org_id,
                "endpoint_id": endpoint["id"],
                "event_id": event_id,
                "event_type": kind.value,
                "order_key": order_key,
                "body": body,
                "state": DeliveryState.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now,
                "retry_since": now,
                "created_at": now,
            }
            for endpoint in endpoints
        ],
    )
    return event_id


async def record(
    conn: AsyncConnection, org_id: int, kind: WebhookEventType, order_key: str, data: Data
) -> str | None:
    return await conn.run_sync(record_sync, org_id, kind, order_key, data)


# ---- the objects, as the bodies carry them ------------------------------------------------
def _pick(row: Record, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: row.get(name) for name in fields}


def chat_object(chat: Record) -> dict[str, Any]:
    return _pick(chat, CHAT_FIELDS)


def ticket_object(ticket: Record) -> dict[str, Any]:
    return _pick(ticket, TICKET_FIELDS)


def call_object(call: Record) -> dict[str, Any]:
    view = _pick(call, CALL_FIELDS)
    if call.get("answered_at") and call.get("ended_at"):
        view["duration_seconds"] = round((call["ended_at"] - call["answered_at"]).total_seconds())
    else:
        view["duration_seconds"] = None
    return view


def quality_of_sync(conn: Connection, call_id: int) -> dict[str, Any] | None:
    """Per participant: samples, average and lowest MOS, worst grade; None with no samples."""
    rows = conn.execute(
        select(call_quality.c.participant, call_quality.c.mos, call_quality.c.level).where(
            call_quality.c.call_id == call_id
        )
    ).all()
    if not rows:
        return None
    summary: dict[str, Any] = {}
    for party in sorted({row.participant for row in rows}):
        mine = [row for row in rows if row.participant == party]
        levels = [row.level for row in mine if row.level in LEVELS]
        summary[party] = {
            "samples": len(mine),
            "mos_avg": round(sum(row.mos for row in mine) / len(mine), 2),
            "mos_min": round(min(row.mos for row in mine), 2),
            "worst_level": max(levels, key=LEVELS.index) if levels else None,
        }
    return summary


def chat_key(chat_id: int) -> str:
    return f"chat:{chat_id}"


def ticket_chat_sync(conn: Connection, ticket_id: int) -> tuple[int | None, str]:
    """A ticket's chat (if it has one) and its order key: a ticket's events are ordered with
    its chat's."""
    chat_id = conn.execute(
        select(chat_sessions.c.id).where(chat_sessions.c.ticket_id == ticket_id).limit(1)
    ).scalar()
    return chat_id, chat_key(chat_id) if chat_id is not None else f"ticket:{ticket_id}"


# ---- one function per event type -----------------------------------------------------------
async def chat_created(
    conn: AsyncConnection, chat: Record, ticket: Record, customer: Record
) -> None:
    def data(_conn: Connection) -> dict[str, Any]:
        return {
            "chat": chat_object(chat),
            "ticket": ticket_object(ticket),
            "customer": _pick(customer, ("id", "external_id", "name", "email", "vip")),
        }

    await record(conn, chat["org_id"], WebhookEventType.CHAT_CREATED, chat_key(chat["id"]), data)


async def ticket_created(conn: AsyncConnection, ticket: Record, chat_id: int | None) -> None:
    key = chat_key(chat_id) if chat_id is not None else f"ticket:{ticket['id']}"
    await record(
        conn,
        ticket["org_id"],
        WebhookEventType.TICKET_CREATED,
        key,
        lambda _conn: {"ticket": ticket_object(ticket), "chat_id": chat_id},
    )


async def chat_assigned(conn: AsyncConnection, chat: Record, agent_name: str) -> None:
    def data(_conn: Connection) -> dict[str, Any]:
        return {
            "chat": chat_object(chat),
            "assignee": {"id": chat["assignee_id"], "name": agent_name},
        }

    await record(conn, chat["org_id"], WebhookEventType.CHAT_ASSIGNED, chat_key(chat["id"]), data)


async def chat_ended(conn: AsyncConnection, chat: Record) -> None:
    await record(
        conn,
        chat["org_id"],
        WebhookEventType.CHAT_ENDED,
        chat_key(chat["id"]),
        lambda _conn: {"chat": chat_object(chat)},
    )


async def ticket_updated(
    conn: AsyncConnection, ticket: Record, changes: list[dict[str, Any]], actor: dict[str, Any]
) -> None:
    def key_and_record(sync: Connection) -> None:
        chat_id, key = ticket_chat_sync(sync, ticket["id"])
        record_sync(
            sync,
            ticket["org_id"],
            WebhookEventType.TICKET_UPDATED,
            key,
            lambda _conn: {
                "ticket": ticket_object(ticket),
                "chat_id": chat_id,
                "changes": changes,
                "actor": actor,
            },
        )

    await conn.run_sync(key_and_record)


async def ticket_escalated(conn: AsyncConnection, ticket: Record, chat_id: int) -> None:
    await record(
        conn,
        ticket["org_id"],
        WebhookEventType.TICKET_ESCALATED,
        chat_key(chat_id),
        lambda _conn: {"ticket": ticket_object(ticket), "chat_id": chat_id},
    )


async def csat_received(
    conn: AsyncConnection, chat: Record, ticket: Record, score: int, comment: str | None
) -> None:
    def data(_conn: Connection) -> dict[str, Any]:
        return {
            "csat": {"score": score, "comment": comment},
            "chat_id": chat["id"],
            "ticket_id": ticket["id"],
            "customer_id": chat["customer_id"],
            "assignee_id": chat["assignee_id"],
        }

    await record(conn, chat["org_id"], WebhookEventType.CSAT_RECEIVED, chat_key(chat["id"]), data)


def call_changed_sync(conn: Connection, call: Record, kind: WebhookEventType) -> None:
    """call.started and call.answered (inside the call path's writer thread)."""
    record_sync(
        conn,
        call["org_id"],
        kind,
        chat_key(call["chat_id"]),
        lambda _c: {"call": call_object(call)},
    )


async def call_ended(conn: AsyncConnection, call: Record) -> None:
    """call.ended, with its end reason and the quality its samples show (null when none)."""

    def data(sync: Connection) -> dict[str, Any]:
        view = call_object(call)
        view["quality"] = quality_of_sync(sync, call["id"])
        return {"call": view}

    await record(conn, call["org_id"], WebhookEventType.CALL_ENDED, chat_key(call["chat_id"]), data)


def _call_key_sync(conn: Connection, call_id: int) -> tuple[int | None, str]:
    chat_id = conn.execute(select(calls.c.chat_id).where(calls.c.id == call_id)).scalar()
    return chat_id, chat_key(chat_id) if chat_id is not None else f"call:{call_id}"


async def _for_call(
    conn: AsyncConnection, org_id: int, call_id: int, kind: WebhookEventType, name: str, obj: Any
) -> None:
    def key_and_record(sync: Connection) -> None:
        chat_id, key = _call_key_sync(sync, call_id)
        record_sync(sync, org_id, kind, key, lambda _c: {name: obj, "chat_id": chat_id})

    await conn.run_sync(key_and_record)


async def recording_ready(conn: AsyncConnection, recording: Record) -> None:
    fields = ("id", "call_id", "state", "interrupted", "started_at", "ended_at", "duration_ms")
    await _for_call(
        conn,
        recording["org_id"],
        recording["call_id"],
        WebhookEventType.RECORDING_READY,
        "recording",
        _pick(recording, fields),
    )


async def review_done(conn: AsyncConnection, review: Record) -> None:
    fields = ("id", "call_id", "state", "score", "summary", "done_at", "done_by")
    await _for_call(
        conn,
        review["org_id"],
        review["call_id"],
        WebhookEventType.REVIEW_DONE,
        "review",
        _pick(review, fields),
    )
