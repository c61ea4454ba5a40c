"""JSON as spoken on the wire: UTC timestamps as ISO 8601 with 'Z', enums as their values."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import Enum
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any, **kwargs: Any) -> str:
    kwargs.setdefault("separators", (",", ":"))
    kwargs.setdefault("ensure_ascii", False)
    return json.dumps(value, default=_default, **kwargs)


def loads(text: str | bytes, **kwargs: Any) -> Any:
    return json.loads(text, **kwargs)
