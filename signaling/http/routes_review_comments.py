"""A review's comments over REST: pinned to a moment of the call (media time in ms from the
recording's start), shown on the QA page's evidence timeline. Every change is kept in the
review's history; a deleted comment stays there (and deleting it again is a success)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.auth import access
from signaling.db.schema import utcnow
from signaling.errors import NotFound
from signaling.http import schemas
from signaling.http.api import ApiRequest, api
from signaling.reviews.history import comment_changes
from signaling.reviews.reading import review_with_call
from signaling.reviews.views import comment_view
from signaling.store import Record
from signaling.store import reviews as review_store
from signaling.types import ReviewAction, Role
from signaling.wire import limit

REVIEWERS = (Role.QA, Role.ADMIN)
AT_MS = limit(min=0, max=24 * 3600 * 1000)  # a day: no call lasts longer
TEXT = limit(max_len=2000, min_len=1)


@dataclass(frozen=True)
class CommentCreate:
    at_ms: int = field(metadata=AT_MS)
    text: str = field(metadata=TEXT)


@dataclass(frozen=True)
class CommentUpdate:
    at_ms: int | None = field(default=None, metadata=AT_MS)
    text: str | None = field(default=None, metadata=TEXT)


@api.route(
    "POST",
    "/api/reviews/{review_id}/comments",
    summary="Pin a comment to a moment of the call",
    roles=REVIEWERS,
    body=CommentCreate,
    tag="qa",
    status=201,
    response=schemas.ref("ReviewComment"),
)
async def add_comment(call: ApiRequest) -> dict[str, Any]:
    req: CommentCreate = call.body
    rt = call.runtime
    async with rt.db.write() as conn:
        review, _ = await review_with_call(conn, call.me, call.path_id("review_id"))
        comment = await review_store.add_comment(
            conn,
            review_id=review["id"],
            author_id=call.me.subject_id,
            at_ms=req.at_ms,
            text=req.text.strip(),
        )
        await _history(conn, call, ReviewAction.COMMENT_ADDED, None, comment)
        return await comment_view(conn, comment, rt.names)


@api.route(
    "PATCH",
    "/api/reviews/{review_id}/comments/{comment_id}",
    summary="Change a comment's text or moment (its author, or an admin)",
    roles=REVIEWERS,
    body=CommentUpdate,
    tag="qa",
    response=schemas.ref("ReviewComment"),
)
async def update_comment(call: ApiRequest) -> dict[str, Any]:
    req: CommentUpdate = call.body
    rt = call.runtime
    async with rt.db.write() as conn:
        comment = await _comment(conn, call)
        if comment["deleted_at"] is not None:
            raise NotFound("no such comment")
        access.check_edit_comment(call.me, comment)
        values: dict[str, Any] = {}
        if req.at_ms is not None:
            values["at_ms"] = req.at_ms
        if req.text is not None:
            values["text"] = req.text.strip()
        if any(comment[key] != value for key, value in values.items()):
            updated = await review_store.update_comment(
                conn, comment["id"], {**values, "updated_at": utcnow()}
            )
            await _history(conn, call, ReviewAction.COMMENT_EDITED, comment, updated)
            comment = updated
        return await comment_view(conn, comment, rt.names)


@api.route(
    "DELETE",
    "/api/reviews/{review_id}/comments/{comment_id}",
    summary="Delete a comment (its author, or an admin); it stays in the review's history",
    roles=REVIEWERS,
    tag="qa",
    response=schemas.COMMENT_DELETED,
)
async def delete_comment(call: ApiRequest) -> dict[str, Any]:
    async with call.runtime.db.write() as conn:
        comment = await _comment(conn, call)
        access.check_edit_comment(call.me, comment)
        if comment["deleted_at"] is None:
            await review_store.update_comment(conn, comment["id"], {"deleted_at": utcnow()})
            await _history(conn, call, ReviewAction.COMMENT_DELETED, comment, None)
    return {"deleted": True}


async def _comment(conn: AsyncConnection, call: ApiRequest) -> Record:
    """The comment of the path, if the caller may see its review."""
    review, _ = await review_with_call(conn, call.me, call.path_id("review_id"))
    comment = await review_store.comment_by_id(conn, call.path_id("comment_id"))
    if comment is None or comment["review_id"] != review["id"]:
        raise NotFound("no such comment")
    return comment


async def _history(
    conn: AsyncConnection,
    call: ApiRequest,
    action: ReviewAction,
    before: Record | None,
    after: Record | None,
) -> None:
    comment = after or before
    assert comment is not None
    changes = comment_changes(comment["id"], before, after)
    await review_store.add_event(conn, comment["review_id"], call.me.subject_id, action, changes)
