"""What one edit of a review changed, as its history keeps it: [{"field", "old", "new"}],
criteria first (`scores.c1`...), then the score, the summary and the state."""

from __future__ import annotations

from typing import Any

from signaling.store import Record
from signaling.types import ReviewAction, ReviewState

Change = dict[str, Any]


def review_changes(before: Record, after: dict[str, Any]) -> list[Change]:
    changes: list[Change] = []
    old_scores: dict[str, Any] = before["scores"]
    new_scores: dict[str, Any] = after.get("scores", old_scores)
    for key in sorted(set(old_scores) | set(new_scores), key=lambda k: (len(k), k)):
        if old_scores.get(key) != new_scores.get(key):
            changes.append(
                {"field": f"scores.{key}", "old": old_scores.get(key), "new": new_scores.get(key)}
            )
    for field in ("score", "summary", "state"):
        if field in after and after[field] != before[field]:
            changes.append({"field": field, "old": before[field], "new": after[field]})
    return changes


def action_of(changes: list[Change]) -> ReviewAction:
    """`done` and `reopened` when the state moved, else `updated`."""
    for change in changes:
        if change["field"] == "state":
            done = change["new"] == ReviewState.DONE.value
            return ReviewAction.DONE if done else ReviewAction.REOPENED
    return ReviewAction.UPDATED


def comment_changes(comment_id: int, before: Record | None, after: Record | None) -> list[Change]:
    """A comment added (before None), edited, or deleted (after None): `comments.<id>.text`
    and `comments.<id>.at_ms`."""
    changes: list[Change] = []
    for field in ("at_ms", "text"):
        old = before[field] if before else None
        new = after[field] if after else None
        if old != new:
            changes.append({"field": f"comments.{comment_id}.{field}", "old": old, "new": new})
    return changes
