"""QA reviews of calls: one review per call, its comments pinned to media time, and its
history (every change: who, when, what).

Other lists filter on a call's review with `reviewed_condition()` and `score_condition()`
(SQL, on their call id column), join `done_reviews()`, or ask `review_scores()` for a page
of call ids: a call is *reviewed* when its review is done, and only then has a score."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import Subquery, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.db.schema import calls, review_comments, review_events, reviews, utcnow
from signaling.store import Record, record, records
from signaling.types import ReviewAction, ReviewState


class CallScore(TypedDict):
    score: float | None  # the done review's weighted score (0-100), else None
    reviewed: bool


def done_reviews() -> Subquery:
    """(call_id, score) of every call whose review is done: outer-join it on a call id; a call
    is reviewed when the joined call_id is not NULL, and `score` filters by score."""
    return (
        select(reviews.c.call_id, reviews.c.score)
        .where(reviews.c.state == ReviewState.DONE.value)
        .subquery("done_reviews")
    )


def reviewed_condition(call_id: Any, reviewed: bool) -> Any:
    """SQL: the call whose id is `call_id` (a column) has a done review (or has none)."""
    done = exists(
        select(reviews.c.id).where(
            reviews.c.call_id == call_id, reviews.c.state == ReviewState.DONE.value
        )
    )
    return done if reviewed else ~done


def score_condition(call_id: Any, low: float | None, high: float | None) -> Any:
    """SQL: the call whose id is `call_id` has a done review scored within [low, high]."""
    where = [reviews.c.call_id == call_id, reviews.c.state == ReviewState.DONE.value]
    if low is not None:
        where.append(reviews.c.score >= low)
    if high is not None:
        where.append(reviews.c.score <= high)
    return exists(select(reviews.c.id).where(*where))


async def review_scores(conn: AsyncConnection, call_ids: Collection[int]) -> dict[int, CallScore]:
    """call id → {"score", "reviewed"} for each of `call_ids` (unreviewed ones included)."""
    found: dict[int, CallScore] = {
        call_id: {"score": None, "reviewed": False} for call_id in call_ids
    }
    if not found:
        return found
    done = done_reviews()
    rows = await conn.execute(select(done.c.call_id, done.c.score).where(done.c.call_id.in_(found)))
    for call_id, score in rows:
        found[int(call_id)] = {"score": score, "reviewed": True}
    return found


# ---- reviews ---------------------------------------------------------------------------------


async def open_review(
    conn: AsyncConnection, *, org_id: int, call_id: int, rubric_version_id: int, actor_id: int
) -> tuple[Record, bool]:
    """The call's review, created as an empty draft if it has none; (review, created). Two
    reviewers opening it at once get the same one (the call_id is unique)."""
    existing = await review_of_call(conn, call_id)
    if existing is not None:
        return existing, False
    now = utcnow()
    try:
        async with conn.begin_nested():
            result = await conn.execute(
                insert(reviews)
                .values(
                    org_id=org_id,
                    call_id=call_id,
                    rubric_version_id=rubric_version_id,
                    state=ReviewState.DRAFT.value,
                    scores={},
                    score=None,
                    summary="",
                    version=1,
                    created_by=actor_id,
                    created_at=now,
                    updated_at=now,
                )
                .returning(*reviews.c)
            )
    except IntegrityError:
        raced = await review_of_call(conn, call_id)
        assert raced is not None
        return raced, False
    created = record(result.first())
    assert created is not None
    await add_event(conn, created["id"], actor_id, ReviewAction.CREATED, [])
    return created, True


async def review_by_id(conn: AsyncConnection, review_id: int) -> Record | None:
    return record((await conn.execute(select(reviews).where(reviews.c.id == review_id))).first())


async def review_of_call(conn: AsyncConnection, call_id: int) -> Record | None:
    return record((await conn.execute(select(reviews).where(reviews.c.call_id == call_id))).first())


async def update_review(
    conn: AsyncConnection, review: Record, values: dict[str, Any], now: datetime
) -> Record | None:
    """Write changed fields if the review is still at the version `review` was read at (else
    None: another edit came first, even one committing meanwhile on PostgreSQL); the version
    grows by one."""
    result = await conn.execute(
        update(reviews)
        .where(reviews.c.id == review["id"], reviews.c.version == review["version"])
        .values(**values, version=review["version"] + 1, updated_at=now)
        .returning(*reviews.c)
    )
    return record(result.first())


async def reviews_of_ticket(conn: AsyncConnection, ticket_id: int) -> list[tuple[Record, Record]]:
    """(review, call) of every reviewed call of a ticket, oldest call first."""
    rows = await conn.execute(
        select(reviews, calls)
        .join(calls, calls.c.id == reviews.c.call_id)
        .where(calls.c.ticket_id == ticket_id)
        .order_by(calls.c.id)
    )
    return [(_part(row, reviews), _part(row, calls)) for row in rows]


def _part(row: Any, table: Any) -> Record:
    """One table's columns of a joined row (both tables have id, org_id, created_at...)."""
    return {column.name: row._mapping[column] for column in table.c}


async def list_reviews(
    conn: AsyncConnection,
    org_id: int,
    *,
    agent_id: int | None,
    done_only: bool,
    filters: dict[str, Any],
    limit: int,
    offset: int,
) -> tuple[list[tuple[Record, Record]], int]:
    """A page of (review, call), newest change first.
    `agent_id` and `done_only` narrow an agent to the done reviews of their own calls."""
    where: list[Any] = [reviews.c.org_id == org_id]
    if agent_id is not None:
        where.append(calls.c.agent_id == agent_id)
    if done_only:
        where.append(reviews.c.state == ReviewState.DONE.value)
    if filters.get("state") is not None:
        where.append(reviews.c.state == filters["state"])
    for key in ("agent_id", "ticket_id", "call_id"):
        if filters.get(key) is not None:
            column = reviews.c.call_id if key == "call_id" else getattr(calls.c, key)
            where.append(column == filters[key])
    joined = reviews.join(calls, calls.c.id == reviews.c.call_id)
    total = (
        await conn.execute(select(func.count()).select_from(joined).where(*where))
    ).scalar_one()
    rows = await conn.execute(
        select(reviews, calls)
        .select_from(joined)
        .where(*where)
        .order_by(reviews.c.updated_at.desc(), reviews.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [(_part(row, reviews), _part(row, calls)) for row in rows], int(total)


# ---- comments --------------------------------------------------------------------------------


async def add_comment(
    conn: AsyncConnection, *, review_id: int, author_id: int, at_ms: int, text: str
) -> Record:
    now = utcnow()
    result = await conn.execute(
        insert(review_comments)
        .values(
            review_id=review_id,
            author_id=author_id,
            at_ms=at_ms,
            text=text,
            created_at=now,
            updated_at=now,
        )
        .returning(*review_comments.c)
    )
    created = record(result.first())
    assert created is not None
    return created


async def comment_by_id(conn: AsyncConnection, comment_id: int) -> Record | None:
    rows = await conn.execute(select(review_comments).where(review_comments.c.id == comment_id))
    return record(rows.first())


async def update_comment(conn: AsyncConnection, comment_id: int, values: dict[str, Any]) -> Record:
    result = await conn.execute(
        update(review_comments)
        .where(review_comments.c.id == comment_id)
        .values(**values)
        .returning(*review_comments.c)
    )
    updated = record(result.first())
    assert updated is not None
    return updated


async def comments_of(conn: AsyncConnection, review_id: int) -> list[Record]:
    """The review's comments (deleted ones left out), in media-time order."""
    rows = await conn.execute(
        select(review_comments)
        .where(review_comments.c.review_id == review_id, review_comments.c.deleted_at.is_(None))
        .order_by(review_comments.c.at_ms, review_comments.c.id)
    )
    return records(rows)


# ---- history ---------------------------------------------------------------------------------


async def add_event(
    conn: AsyncConnection,
    review_id: int,
    actor_id: int,
    action: ReviewAction,
    changes: list[dict[str, Any]],
) -> None:
    await conn.execute(
        insert(review_events).values(
            review_id=review_id, actor_id=actor_id, action=action.value, changes=changes
        )
    )


async def history_of(conn: AsyncConnection, review_id: int) -> list[Record]:
    rows = await conn.execute(
        select(review_events)
        .where(review_events.c.review_id == review_id)
        .order_by(review_events.c.id)
    )
    return records(rows)
