"""Reviews as each caller may read them: whole, in lists, and as the score a ticket or call
record shows (access.can_view_review decides; agents see only done reviews of their calls)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.auth import access
from signaling.auth.tokens import Principal
from signaling.reviews.views import review_view, summary_view
from signaling.store import Record
from signaling.store import calls as call_store
from signaling.store import reviews as review_store
from signaling.store import rubrics as rubric_store
from signaling.transcript.views import NameBook
from signaling.types import ReviewState


async def review_with_call(
    conn: AsyncConnection, principal: Principal, review_id: int
) -> tuple[Record, Record]:
    """The review and its call, if this caller may read the review (else NotFound)."""
    review = await review_store.review_by_id(conn, review_id)
    call = await call_store.call_by_id(conn, review["call_id"]) if review else None
    access.check_view_review(principal, call, review)
    assert review is not None and call is not None
    return review, call


async def whole_review(
    conn: AsyncConnection, review: Record, call: Record, names: NameBook
) -> dict[str, Any]:
    """The Review object: scores, its rubric version and its comments."""
    version = await rubric_store.version_by_id(conn, review["rubric_version_id"])
    assert version is not None
    comments = await review_store.comments_of(conn, review["id"])
    return await review_view(conn, review, call, version, comments, names)


async def summaries(
    conn: AsyncConnection, pairs: list[tuple[Record, Record]], names: NameBook
) -> list[dict[str, Any]]:
    versions = await rubric_store.versions_by_ids(
        conn, sorted({review["rubric_version_id"] for review, _ in pairs})
    )
    return [
        await summary_view(conn, review, call, versions[review["rubric_version_id"]], names)
        for review, call in pairs
    ]


async def ticket_reviews(
    conn: AsyncConnection, principal: Principal, ticket_id: int, names: NameBook
) -> dict[str, Any]:
    """What a ticket shows of its calls' reviews: those the caller may read, and `qa_score`,
    the mean score of the done ones (null when none is done)."""
    pairs = [
        (review, call)
        for review, call in await review_store.reviews_of_ticket(conn, ticket_id)
        if access.can_view_review(principal, call, review)
    ]
    done = [
        review["score"]
        for review, _ in pairs
        if review["state"] == ReviewState.DONE.value and review["score"] is not None
    ]
    score = round(sum(done) / len(done), 1) if done else None
    return {"qa_score": score, "qa_reviews": await summaries(conn, pairs, names)}


async def call_review_brief(
    conn: AsyncConnection, principal: Principal, call: Record
) -> dict[str, Any] | None:
    """{id, state, score} of the call's review, if there is one the caller may read."""
    review = await review_store.review_of_call(conn, call["id"])
    if review is None or not access.can_view_review(principal, call, review):
        return None
    return {"id": review["id"], "state": review["state"], "score": review["score"]}
