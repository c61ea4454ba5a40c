"""Paged lists: ?page=1&per_page=50 in, {"items", "page", "per_page", "total"} out."""

from __future__ import annotations

from typing import Any


def paged(items: list[Any], total: int, page: int, per_page: int) -> dict[str, Any]:
    return {"items": items, "page": page, "per_page": per_page, "total": total}
