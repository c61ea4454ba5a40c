"""Calls over REST: lists for the console and QA, one call with its event log and quality
samples. Customers never read call records here; agents see only their own calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from signaling.auth import access
from signaling.calls.views import call_view, event_view, quality_view
from signaling.http import schemas
from signaling.http.api import ID, ApiRequest, api
from signaling.http.paging import paged
from signaling.reviews.reading import call_review_brief
from signaling.store import calls as call_store
from signaling.types import CallEndReason, CallState, Role
from signaling.wire import limit

STAFF = (Role.AGENT, Role.QA, Role.ADMIN)


@dataclass(frozen=True)
class CallListQuery:
    chat_id: int | None = field(default=None, metadata=ID)
    ticket_id: int | None = field(default=None, metadata=ID)
    agent_id: int | None = field(default=None, metadata=ID)
    customer_id: int | None = field(default=None, metadata=ID)
    state: CallState | None = None
    end_reason: CallEndReason | None = None
    page: int = field(default=1, metadata=limit(min=1, max=100_000))
    per_page: int = field(default=50, metadata=limit(min=1, max=200))


@api.route(
    "GET",
    "/api/calls",
    summary="List calls (agents: their own), filtered and paged",
    roles=STAFF,
    query=CallListQuery,
    tag="calls",
    response=schemas.page("Call"),
)
async def list_calls(call: ApiRequest) -> dict[str, Any]:
    q: CallListQuery = call.query
    rt = call.runtime
    filters = {
        "chat_id": q.chat_id,
        "ticket_id": q.ticket_id,
        "agent_id": q.agent_id,
        "customer_id": q.customer_id,
        "state": q.state.value if q.state else None,
        "end_reason": q.end_reason.value if q.end_reason else None,
    }
    async with rt.db.read() as conn:
        scope = access.list_scope(call.me, ())
        rows, total = await call_store.list_calls(
            conn,
            scope.org_id,
            agent_id=scope.user_id,
            filters=filters,
            limit=q.per_page,
            offset=(q.page - 1) * q.per_page,
        )
    items = [call_view(row, rt.calls.live.get(row["id"])) for row in rows]
    return paged(items, total, q.page, q.per_page)


@api.route(
    "GET",
    "/api/calls/{call_id}",
    summary="One call with its event log (joins, drops, media, annotations), quality samples "
    "and QA review",
    roles=STAFF,
    tag="calls",
    response=schemas.CALL_DETAIL,
)
async def get_call(call: ApiRequest) -> dict[str, Any]:
    rt = call.runtime
    call_id = call.path_id("call_id")
    async with rt.db.read() as conn:
        row = access.check_view_call(call.me, await call_store.call_by_id(conn, call_id), call_id)
        events = await call_store.events_of(conn, call_id)
        samples = await call_store.quality_of(conn, call_id)
        review = await call_review_brief(conn, call.me, row)
    return {
        **call_view(row, rt.calls.live.get(call_id)),
        "events": [event_view(e) for e in events],
        "quality_samples": [quality_view(s) for s in samples],
        "review": review,
    }
