"""QA reviews over REST: open a call's review, score it against its rubric version, mark it
done; lists, and the history of every edit. Comments live in routes_review_comments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from signaling.auth import access
from signaling.http import schemas, services
from signaling.http.api import ID, ApiRequest, api
from signaling.http.paging import paged
from signaling.reviews import scoring
from signaling.reviews.criteria import MAX_CRITERIA
from signaling.reviews.reading import review_with_call, summaries, whole_review
from signaling.reviews.views import event_view, version_view
from signaling.store import calls as call_store
from signaling.store import chats as chat_store
from signaling.store import reviews as review_store
from signaling.store import rubrics as rubric_store
from signaling.types import ReviewState, Role
from signaling.wire import limit

REVIEWERS = (Role.QA, Role.ADMIN)
READERS = (Role.AGENT, Role.QA, Role.ADMIN)
SCORES_SCHEMA = {
    "additionalProperties": {"type": "number", "nullable": True},
    "maxProperties": MAX_CRITERIA,
}


@dataclass(frozen=True)
class ReviewOpen:
    # Another active rubric of the organisation than the one of the call's group.
    rubric_id: int | None = field(default=None, metadata=ID)


@dataclass(frozen=True)
class ReviewUpdate:
    # {criterion id: whole number on its scale, or null to unscore it}
    scores: dict[str, Any] | None = field(default=None, metadata={"schema": SCORES_SCHEMA})
    summary: str | None = field(default=None, metadata=limit(max_len=4000))
    state: ReviewState | None = None
    version: int | None = field(default=None, metadata=ID)  # the version edited (stale: 409)


@dataclass(frozen=True)
class ReviewListQuery:
    agent_id: int | None = field(default=None, metadata=ID)
    ticket_id: int | None = field(default=None, metadata=ID)
    call_id: int | None = field(default=None, metadata=ID)
    state: ReviewState | None = None
    page: int = field(default=1, metadata=limit(min=1, max=100_000))
    per_page: int = field(default=50, metadata=limit(min=1, max=200))


@api.route(
    "GET",
    "/api/calls/{call_id}/review",
    summary="A call's review (null if none yet, or not one you may read) and its rubric",
    roles=READERS,
    tag="qa",
    response=schemas.CALL_REVIEW,
)
async def get_call_review(call: ApiRequest) -> dict[str, Any]:
    rt = call.runtime
    call_id = call.path_id("call_id")
    async with rt.db.read() as conn:
        row = access.check_view_call(call.me, await call_store.call_by_id(conn, call_id), call_id)
        review = await review_store.review_of_call(conn, call_id)
        if review is not None and access.can_view_review(call.me, row, review):
            whole = await whole_review(conn, review, row, rt.names)
            return {"call_id": call_id, "review": whole, "rubric": whole["rubric"]}
        rubric = None
        if call.me.role in REVIEWERS:  # the rubric a new review would use
            chat = await chat_store.chat_by_id(conn, row["chat_id"])
            found = await rubric_store.rubric_for_group(
                conn, call.me.org_id, chat["group_id"] if chat else None
            )
            if found is not None:
                version = await rubric_store.version_of(conn, found["id"], found["version"])
                assert version is not None
                rubric = await version_view(conn, version, rt.names)
    return {"call_id": call_id, "review": None, "rubric": rubric}


@api.route(
    "POST",
    "/api/calls/{call_id}/review",
    summary="Open a call's review: the existing one, or a new draft on the call's rubric",
    roles=REVIEWERS,
    body=ReviewOpen,
    tag="qa",
    response=schemas.ref("Review"),
    errors=(409,),
)
async def open_review(call: ApiRequest) -> dict[str, Any]:
    req: ReviewOpen = call.body
    reviews = services.reviews(call.runtime)
    return await reviews.open(call.actor, call.path_id("call_id"), req.rubric_id)


@api.route(
    "GET",
    "/api/reviews",
    summary="Reviews, newest change first (agents: the done reviews of their own calls)",
    roles=READERS,
    query=ReviewListQuery,
    tag="qa",
    response=schemas.page("ReviewSummary"),
)
async def list_reviews(call: ApiRequest) -> dict[str, Any]:
    q: ReviewListQuery = call.query
    rt = call.runtime
    agent = call.me.role is Role.AGENT
    async with rt.db.read() as conn:
        pairs, total = await review_store.list_reviews(
            conn,
            call.me.org_id,
            agent_id=call.me.subject_id if agent else None,
            done_only=agent,
            filters={
                "agent_id": q.agent_id,
                "ticket_id": q.ticket_id,
                "call_id": q.call_id,
                "state": q.state.value if q.state else None,
            },
            limit=q.per_page,
            offset=(q.page - 1) * q.per_page,
        )
        items = await summaries(conn, pairs, rt.names)
    return paged(items, total, q.page, q.per_page)


@api.route(
    "GET",
    "/api/reviews/{review_id}",
    summary="One review: scores, its rubric version, comments",
    roles=READERS,
    tag="qa",
    response=schemas.ref("Review"),
)
async def get_review(call: ApiRequest) -> dict[str, Any]:
    rt = call.runtime
    async with rt.db.read() as conn:
        review, row = await review_with_call(conn, call.me, call.path_id("review_id"))
        return await whole_review(conn, review, row, rt.names)


@api.route(
    "PATCH",
    "/api/reviews/{review_id}",
    summary="Score criteria, write the summary, mark done or reopen (kept in the history)",
    roles=REVIEWERS,
    body=ReviewUpdate,
    tag="qa",
    response=schemas.ref("Review"),
    errors=(409,),
)
async def update_review(call: ApiRequest) -> dict[str, Any]:
    req: ReviewUpdate = call.body
    if req.scores is not None:
        scoring.check_values(req.scores)  # the body's own shape, before the path is read
    return await services.reviews(call.runtime).update(
        call.actor,
        call.path_id("review_id"),
        scores=req.scores,
        summary=req.summary,
        state=req.state,
        version=req.version,
    )


@api.route(
    "GET",
    "/api/reviews/{review_id}/history",
    summary="Every change of a review, oldest first: who, when, what (old and new values)",
    roles=REVIEWERS,
    tag="qa",
    response=schemas.items("ReviewEvent"),
)
async def review_history(call: ApiRequest) -> dict[str, Any]:
    rt = call.runtime
    async with rt.db.read() as conn:
        review, _ = await review_with_call(conn, call.me, call.path_id("review_id"))
        events = await review_store.history_of(conn, review["id"])
        return {"items": [await event_view(conn, e, rt.names) for e in events]}
