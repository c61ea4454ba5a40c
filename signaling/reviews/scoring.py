"""Scores against a rubric version: what a criterion accepts, the weighted score, and what
is still missing before a review can be done.

Each criterion's value is placed on 0..1 within its scale (yes = 1, no = 0; 4 on 1-5 is
0.75); the review's score is the weighted mean of the scored criteria, as 0-100 with one
decimal. Criteria left unscored (only optional ones may stay so) do not count."""

from __future__ import annotations

import math
from typing import Any

from signaling.errors import Conflict, InvalidPayload
from signaling.types import RubricScale

Criteria = list[dict[str, Any]]
Scores = dict[str, float]


def check_values(changes: dict[str, Any]) -> None:
    """The request's own shape: each value a number or null (the rubric is checked later)."""
    for key, value in changes.items():
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise InvalidPayload(
                f"scores.{key} must be a number or null", details={"field": f"scores.{key}"}
            )


def apply_scores(criteria: Criteria, scores: Scores, changes: dict[str, Any]) -> Scores:
    """`scores` with `changes` applied (null unscores); refused with `conflict` when a key is
    not a criterion of this rubric version or a value is off its scale."""
    by_id = {c["id"]: c for c in criteria}
    result = dict(scores)
    for key, value in changes.items():
        criterion = by_id.get(key)
        if criterion is None:
            raise Conflict(
                f"the review's rubric has no criterion {key!r}",
                details={"field": f"scores.{key}"},
            )
        if value is None:
            result.pop(key, None)
            continue
        low, high = RubricScale(criterion["scale"]).bounds
        if float(value) != int(value) or not low <= value <= high:
            raise Conflict(
                f"{criterion['title']!r} is scored with a whole number from {low} to {high}",
                details={"field": f"scores.{key}"},
            )
        result[key] = int(value)
    return result


def weighted_score(criteria: Criteria, scores: Scores) -> float | None:
    total_weight = 0.0
    total = 0.0
    for criterion in criteria:
        value = scores.get(criterion["id"])
        if value is None:
            continue
        low, high = RubricScale(criterion["scale"]).bounds
        total += criterion["weight"] * (value - low) / (high - low)
        total_weight += criterion["weight"]
    if total_weight == 0:
        return None
    return round(100 * total / total_weight, 1)


def missing(criteria: Criteria, scores: Scores) -> list[str]:
    """Titles of the required criteria not scored yet (a done review needs none)."""
    return [c["title"] for c in criteria if not c["optional"] and c["id"] not in scores]
