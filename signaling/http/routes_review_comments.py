"""A review's comments over REST: pinned to a moment of the call (media time in ms from the
recording's start), shown on the QA page's evidence timeline. Every change is kept in the
review's history; a deleted comment stays there (and deleting it again is a success)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from signaling.http import schemas, services
from signaling.http.api import ApiRequest, api
from signaling.types import Role
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
    comments = services.review_comments(call.runtime)
    return await comments.add(call.actor, call.path_id("review_id"), at_ms=req.at_ms, text=req.text)


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
    return await services.review_comments(call.runtime).update(
        call.actor,
        call.path_id("review_id"),
        call.path_id("comment_id"),
        at_ms=req.at_ms,
        text=req.text,
    )


@api.route(
    "DELETE",
    "/api/reviews/{review_id}/comments/{comment_id}",
    summary="Delete a comment (its author, or an admin); it stays in the review's history",
    roles=REVIEWERS,
    tag="qa",
    response=schemas.COMMENT_DELETED,
)
async def delete_comment(call: ApiRequest) -> dict[str, Any]:
    comments = services.review_comments(call.runtime)
    await comments.delete(call.actor, call.path_id("review_id"), call.path_id("comment_id"))
    return {"deleted": True}
