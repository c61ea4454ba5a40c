"""A review's comments, pinned to a moment of the call (media time in ms from the
recording's start): added by QA reviewers and admins, changed or deleted by their author or
an admin. Every change is kept in the review's history; a deleted comment stays there, and
deleting it again is a success."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.auth import access
from signaling.auth.actor import Actor
from signaling.auth.tokens import Principal
from signaling.db.database import Database
from signaling.db.schema import utcnow
from signaling.errors import NotFound
from signaling.reviews.history import comment_changes
from signaling.reviews.reading import review_with_call
from signaling.reviews.views import comment_view
from signaling.store import Record
from signaling.store import reviews as review_store
from signaling.transcript.views import NameBook
from signaling.types import ReviewAction


class ReviewComments:
    def __init__(self, db: Database, names: NameBook) -> None:
        self._db = db
        self._names = names

    async def add(self, actor: Actor, review_id: int, *, at_ms: int, text: str) -> dict[str, Any]:
        """A new comment on a review the actor may read; its view."""
        me = actor.principal
        async with self._db.write() as conn:
            review, _ = await review_with_call(conn, me, review_id)
            comment = await review_store.add_comment(
                conn,
                review_id=review["id"],
                author_id=me.subject_id,
                at_ms=at_ms,
                text=text.strip(),
            )
            await _history(conn, me, ReviewAction.COMMENT_ADDED, None, comment)
            return await comment_view(conn, comment, self._names)

    async def update(
        self,
        actor: Actor,
        review_id: int,
        comment_id: int,
        *,
        at_ms: int | None = None,
        text: str | None = None,
    ) -> dict[str, Any]:
        """Move a comment or change its text (None: unchanged); its view as it is now."""
        me = actor.principal
        async with self._db.write() as conn:
            comment = await _comment(conn, me, review_id, comment_id)
            if comment["deleted_at"] is not None:
                raise NotFound("no such comment")
            access.check_edit_comment(me, comment)
            values: dict[str, Any] = {}
            if at_ms is not None:
                values["at_ms"] = at_ms
            if text is not None:
                values["text"] = text.strip()
            if any(comment[key] != value for key, value in values.items()):
                updated = await review_store.update_comment(
                    conn, comment["id"], {**values, "updated_at": utcnow()}
                )
                await _history(conn, me, ReviewAction.COMMENT_EDITED, comment, updated)
                comment = updated
            return await comment_view(conn, comment, self._names)

    async def delete(self, actor: Actor, review_id: int, comment_id: int) -> None:
        me = actor.principal
        async with self._db.write() as conn:
            comment = await _comment(conn, me, review_id, comment_id)
            access.check_edit_comment(me, comment)
            if comment["deleted_at"] is None:
                await review_store.update_comment(conn, comment["id"], {"deleted_at": utcnow()})
                await _history(conn, me, ReviewAction.COMMENT_DELETED, comment, None)


async def _comment(conn: AsyncConnection, me: Principal, review_id: int, comment_id: int) -> Record:
    """The comment, if the caller may see its review."""
    review, _ = await review_with_call(conn, me, review_id)
    comment = await review_store.comment_by_id(conn, comment_id)
    if comment is None or comment["review_id"] != review["id"]:
        raise NotFound("no such comment")
    return comment


async def _history(
    conn: AsyncConnection,
    me: Principal,
    action: ReviewAction,
    before: Record | None,
    after: Record | None,
) -> None:
    comment = after or before
    assert comment is not None
    changes = comment_changes(comment["id"], before, after)
    await review_store.add_event(conn, comment["review_id"], me.subject_id, action, changes)
