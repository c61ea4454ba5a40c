"""Tickets over REST: filtered lists, one ticket with its history and transcripts, edits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from signaling.auth import access
from signaling.http import schemas, services
from signaling.http.api import ID, ApiRequest, api
from signaling.http.paging import paged
from signaling.reviews.reading import ticket_reviews
from signaling.store import chats as chat_store
from signaling.store import messages as message_store
from signaling.store import tickets as ticket_store
from signaling.transcript.views import chat_view, message_views
from signaling.types import Role, TicketPriority, TicketStatus
from signaling.wire import limit

STAFF = (Role.AGENT, Role.QA, Role.ADMIN)
TAG = limit(max_len=40, min_len=1, pattern=r"[\w.-]+")


@dataclass(frozen=True)
class TicketListQuery:
    status: TicketStatus | None = None
    priority: TicketPriority | None = None
    assignee_id: int | None = field(default=None, metadata=ID)
    group_id: int | None = field(default=None, metadata=ID)
    customer_id: int | None = field(default=None, metadata=ID)
    tag: str | None = field(default=None, metadata=TAG)
    q: str | None = field(default=None, metadata=limit(max_len=200))
    page: int = field(default=1, metadata=limit(min=1, max=100_000))
    per_page: int = field(default=50, metadata=limit(min=1, max=200))


@dataclass(frozen=True)
class TicketUpdate:
    subject: str | None = field(default=None, metadata=limit(max_len=300, min_len=1))
    status: TicketStatus | None = None
    priority: TicketPriority | None = None
    tags: list[str] | None = field(default=None, metadata={**TAG, "max_items": 30})
    assignee_id: int | None = field(default=None, metadata=ID)
    group_id: int | None = field(default=None, metadata=ID)
    unassign: bool = False
    # The ticket's `version` the client edited: a save made on an older one is refused 409
    # (someone or something changed the ticket meanwhile), never applied over that change.
    version: int | None = field(default=None, metadata=ID)

    # For the API document: the handler refuses an assignee together with unassign.
    SCHEMA_RULES: ClassVar[dict[str, Any]] = {
        "not": {
            "required": ["assignee_id", "unassign"],
            "properties": {"assignee_id": {"type": "integer"}, "unassign": {"enum": [True]}},
        }
    }


@api.route(
    "GET",
    "/api/tickets",
    summary="List tickets you may see, filtered and paged",
    roles=STAFF,
    query=TicketListQuery,
    tag="tickets",
    response=schemas.page("Ticket"),
)
async def list_tickets(call: ApiRequest) -> dict[str, Any]:
    q: TicketListQuery = call.query
    rt = call.runtime
    async with rt.db.read() as conn:
        scope = access.list_scope(call.me, await rt.chats.group_ids(conn, call.me))
        filters = {
            "status": q.status.value if q.status else None,
            "priority": q.priority.value if q.priority else None,
            "assignee_id": q.assignee_id,
            "group_id": q.group_id,
            "customer_id": q.customer_id,
            "tag": q.tag,
            "q": q.q,
        }
        rows, total = await ticket_store.list_tickets(
            conn,
            scope.org_id,
            visible_to_groups=scope.group_ids,
            visible_to_user=scope.user_id,
            filters=filters,
            limit=q.per_page,
            offset=(q.page - 1) * q.per_page,
        )
    return paged(rows, total, q.page, q.per_page)


@api.route(
    "GET",
    "/api/tickets/{ticket_id}",
    summary="One ticket with history, chat transcripts and its calls' QA reviews",
    roles=STAFF,
    tag="tickets",
    response=schemas.TICKET_DETAIL,
)
async def get_ticket(call: ApiRequest) -> dict[str, Any]:
    rt = call.runtime
    async with rt.db.read() as conn:
        ticket = await ticket_store.ticket_by_id(conn, call.path_id("ticket_id"))
        access.check_view_ticket(call.me, ticket, await rt.chats.group_ids(conn, call.me))
        assert ticket is not None
        chats = []
        for chat in await chat_store.chats_of_ticket(conn, ticket["id"]):
            view = await chat_view(conn, chat, rt.names)
            rows = await message_store.messages_after(
                conn, chat["id"], 0, 10_000, include_notes=True
            )
            view["messages"] = await message_views(conn, chat, rows, rt.names)
            chats.append(view)
        history = await ticket_store.ticket_history(conn, ticket["id"])
        qa = await ticket_reviews(conn, call.me, ticket["id"], rt.names)
    return {**ticket, "history": history, "chats": chats, **qa}


@api.route(
    "PATCH",
    "/api/tickets/{ticket_id}",
    summary="Change a ticket's fields (kept in its history)",
    roles=(Role.AGENT, Role.ADMIN),
    body=TicketUpdate,
    tag="tickets",
    response=schemas.ref("Ticket"),
    errors=(409,),
)
async def update_ticket(call: ApiRequest) -> dict[str, Any]:
    req: TicketUpdate = call.body
    return await services.tickets(call.runtime).update(
        call.actor,
        call.path_id("ticket_id"),
        version=req.version,
        subject=req.subject,
        status=req.status,
        priority=req.priority,
        tags=req.tags,
        assignee_id=req.assignee_id,
        group_id=req.group_id,
        unassign=req.unassign,
    )
