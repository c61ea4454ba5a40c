"""The Rubric, RubricVersion, Review, ReviewComment and ReviewEvent objects of
docs/protocol.md §9, built from their records."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.store import Record
from signaling.transcript.views import NameBook


def rubric_view(rubric: Record, current: Record) -> dict[str, Any]:
    return {
        "id": rubric["id"],
        "org_id": rubric["org_id"],
        "group_id": rubric["group_id"],
        "name": rubric["name"],
        "version": rubric["version"],
        "criteria": current["criteria"],
        "archived": rubric["archived"],
        "created_at": rubric["created_at"],
        "updated_at": rubric["updated_at"],
    }


async def version_view(conn: AsyncConnection, version: Record, names: NameBook) -> dict[str, Any]:
    return {
        "rubric_id": version["rubric_id"],
        "version": version["version"],
        "name": version["name"],
        "criteria": version["criteria"],
        "created_at": version["created_at"],
        "created_by": version["created_by"],
        "created_by_name": await names.user(conn, version["created_by"]),
    }


async def comment_view(conn: AsyncConnection, comment: Record, names: NameBook) -> dict[str, Any]:
    return {
        "id": comment["id"],
        "review_id": comment["review_id"],
        "at_ms": comment["at_ms"],
        "text": comment["text"],
        "author_id": comment["author_id"],
        "author_name": await names.user(conn, comment["author_id"]),
        "created_at": comment["created_at"],
        "updated_at": comment["updated_at"],
    }


async def summary_view(
    conn: AsyncConnection, review: Record, call: Record, rubric: Record, names: NameBook
) -> dict[str, Any]:
    """A review without its rubric and comments: for lists and the ticket."""
    return {
        "id": review["id"],
        "call_id": review["call_id"],
        "ticket_id": call["ticket_id"],
        "agent_id": call["agent_id"],
        "agent_name": await names.user(conn, call["agent_id"]),
        "state": review["state"],
        "score": review["score"],
        "rubric_id": rubric["rubric_id"],
        "rubric_name": rubric["name"],
        "rubric_version": rubric["version"],
        "created_at": review["created_at"],
        "updated_at": review["updated_at"],
        "done_at": review["done_at"],
        "done_by": review["done_by"],
        "done_by_name": await names.user(conn, review["done_by"]),
    }


async def review_view(
    conn: AsyncConnection,
    review: Record,
    call: Record,
    rubric: Record,
    comments: list[Record],
    names: NameBook,
) -> dict[str, Any]:
    return {
        **await summary_view(conn, review, call, rubric, names),
        "version": review["version"],
        "scores": review["scores"],
        "summary": review["summary"],
        "rubric": await version_view(conn, rubric, names),
        "comments": [await comment_view(conn, c, names) for c in comments],
        "created_by": review["created_by"],
        "created_by_name": await names.user(conn, review["created_by"]),
    }


async def event_view(conn: AsyncConnection, event: Record, names: NameBook) -> dict[str, Any]:
    return {
        "id": event["id"],
        "review_id": event["review_id"],
        "at": event["created_at"],
        "actor_id": event["actor_id"],
        "actor_name": await names.user(conn, event["actor_id"]),
        "action": event["action"],
        "changes": event["changes"],
    }
