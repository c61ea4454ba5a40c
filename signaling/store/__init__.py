"""Record access: small async functions over a connection, one module per table family."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Row

Record = dict[str, Any]


def record(row: Row[Any] | Mapping[str, Any] | None) -> Record | None:
    if row is None:
        return None
    mapping = row._mapping if isinstance(row, Row) else row
    return dict(mapping)


def records(rows: Any) -> list[Record]:
    return [dict(row._mapping) for row in rows]
