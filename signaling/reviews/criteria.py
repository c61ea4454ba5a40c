"""Rubric criteria as admins write them, and as rubric versions store them.

Criteria get their ids from their position in the version ("c1", "c2", ...): a review is
pinned to one version, so ids only need to be stable within it, and a client never has to
invent them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from signaling.errors import InvalidPayload
from signaling.types import RubricScale
from signaling.wire import limit, parse

MAX_CRITERIA = 50


@dataclass(frozen=True)
class CriterionInput:
    """One criterion: what is judged, how much it counts, and on which scale."""

    title: str = field(metadata=limit(max_len=200, min_len=1))
    description: str = field(default="", metadata=limit(max_len=1000))
    weight: float = field(default=1.0, metadata=limit(min=0.1, max=100))
    scale: RubricScale = RubricScale.ONE_TO_FIVE
    # An optional criterion may be left unscored ("not applicable"): it then does not count.
    optional: bool = False


CRITERIA_FIELD = {"shape": CriterionInput, "min_items": 1, "max_items": MAX_CRITERIA}


def criteria_from_wire(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parse each criterion of a request, naming the one at fault, and number them."""
    stored = []
    for index, item in enumerate(items):
        try:
            criterion = parse(CriterionInput, item)
        except InvalidPayload as problem:
            inner = problem.details.get("field") or ",".join(problem.details.get("fields", []))
            where = f"criteria[{index}]" + (f".{inner}" if inner else "")
            raise InvalidPayload(f"{where}: {problem.message}", details={"field": where}) from None
        row = asdict(criterion)
        row["title"] = criterion.title.strip()
        row["scale"] = criterion.scale.value
        stored.append({"id": f"c{index + 1}", **row})
    return stored
