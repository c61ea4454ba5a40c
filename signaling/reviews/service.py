"""Reviewing a call (QA reviewers and admins): open its review on the rubric that applies,
score it, write the summary, mark it done or reopen it. Each edit is checked against the
version it was made on, kept in the review's history, and marking done or reopening is in
the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.auth import access
from signaling.auth.actor import Actor
from signaling.db.database import Database
from signaling.db.schema import utcnow
from signaling.errors import Conflict
from signaling.reviews import scoring
from signaling.reviews.history import Change, action_of, review_changes
from signaling.reviews.reading import review_with_call, whole_review
from signaling.store import Record
from signaling.store import calls as call_store
from signaling.store import chats as chat_store
from signaling.store import reviews as review_store
from signaling.store import rubrics as rubric_store
from signaling.transcript.views import NameBook
from signaling.types import CallState, ReviewAction, ReviewState
from signaling.webhooks import outbox


class ReviewService:
    def __init__(self, db: Database, names: NameBook) -> None:
        self._db = db
        self._names = names

    async def open(self, actor: Actor, call_id: int, rubric_id: int | None) -> dict[str, Any]:
        """The call's review: the existing one, or a new draft on `rubric_id` (another
        active rubric of the organisation) or else the rubric of the call's group."""
        me = actor.principal
        async with self._db.write() as conn:
            row = access.check_review_call(me, await call_store.call_by_id(conn, call_id), call_id)
            existing = await review_store.review_of_call(conn, call_id)
            if existing is not None:
                return await whole_review(conn, existing, row, self._names)
            if row["state"] != CallState.ENDED.value:
                raise Conflict("a call is reviewed once it has ended")
            if rubric_id is not None:
                rubric = access.check_view_rubric(
                    me, await rubric_store.rubric_by_id(conn, rubric_id)
                )
                if rubric["archived"]:
                    raise Conflict("that rubric is archived")
            else:
                chat = await chat_store.chat_by_id(conn, row["chat_id"])
                found = await rubric_store.rubric_for_group(
                    conn, me.org_id, chat["group_id"] if chat else None
                )
                if found is None:
                    raise Conflict("no rubric applies to this call: an admin must create one")
                rubric = found
            version = await rubric_store.version_of(conn, rubric["id"], rubric["version"])
            assert version is not None
            review, created = await review_store.open_review(
                conn,
                org_id=me.org_id,
                call_id=call_id,
                rubric_version_id=version["id"],
                actor_id=me.subject_id,
            )
            if created:
                await actor.audit(
                    conn,
                    "review.create",
                    target_type="review",
                    target_id=review["id"],
                    detail={"call_id": call_id},
                )
            return await whole_review(conn, review, row, self._names)

    async def update(
        self,
        actor: Actor,
        review_id: int,
        *,
        scores: dict[str, Any] | None = None,
        summary: str | None = None,
        state: ReviewState | None = None,
        version: int | None = None,
    ) -> dict[str, Any]:
        """Score criteria ({criterion id: value, or None to unscore}), write the summary,
        mark done (every required criterion scored) or reopen; `version` is the one the edit
        was made on, if the caller knows it. The whole review as it is now."""
        if scores is not None:
            scoring.check_values(scores)
        async with self._db.write() as conn:
            review, row = await review_with_call(conn, actor.principal, review_id)
            if version is not None and version != review["version"]:
                raise Conflict(
                    f"the review is at version {review['version']} now, not {version}",
                    details={"version": review["version"]},
                )
            rubric = await rubric_store.version_by_id(conn, review["rubric_version_id"])
            assert rubric is not None
            criteria = rubric["criteria"]
            new_scores = review["scores"]
            if scores is not None:
                new_scores = scoring.apply_scores(criteria, new_scores, scores)
            new_state = state.value if state is not None else review["state"]
            score = scoring.weighted_score(criteria, new_scores)
            if new_state == ReviewState.DONE.value:
                left = scoring.missing(criteria, new_scores)
                if left:
                    raise Conflict(
                        "score every required criterion before marking the review done: "
                        + ", ".join(left),
                        details={"missing": left},
                    )
                if score is None:
                    raise Conflict("score at least one criterion before marking the review done")
            after: dict[str, Any] = {"scores": new_scores, "score": score, "state": new_state}
            if summary is not None:
                after["summary"] = summary
            changes = review_changes(review, after)
            if changes:
                review = await _write(actor, conn, review, after, changes)
            return await whole_review(conn, review, row, self._names)


async def _write(
    actor: Actor,
    conn: AsyncConnection,
    review: Record,
    after: dict[str, Any],
    changes: list[Change],
) -> Record:
    """One edit: the new values, done_at/done_by with the state, one history entry, and an
    audit line when the review was marked done or reopened."""
    moment = utcnow()
    action = action_of(changes)
    values = dict(after)
    me = actor.principal
    if action is ReviewAction.DONE:
        values.update(done_at=moment, done_by=me.subject_id)
    elif action is ReviewAction.REOPENED:
        values.update(done_at=None, done_by=None)
    updated = await review_store.update_review(conn, review, values, moment)
    if updated is None:
        current = await review_store.review_by_id(conn, review["id"])
        version = current["version"] if current else review["version"]
        raise Conflict(
            "the review was changed meanwhile; load it again", details={"version": version}
        )
    await review_store.add_event(conn, review["id"], me.subject_id, action, changes)
    if action is ReviewAction.DONE:
        await outbox.review_done(conn, updated)
    if action is not ReviewAction.UPDATED:
        detail = {"call_id": review["call_id"], "score": updated["score"]}
        await actor.audit(
            conn,
            f"review.{action.value}",
            target_type="review",
            target_id=review["id"],
            detail=detail,
        )
    return updated
