"""Core statements compiled once per dialect and run on the connection's DBAPI cursor.

For the few statements that run for every chat message, SQLAlchemy's execution path (cache
key, execution context, result rows) cost about ten times what SQLite itself spends on them
(benchmarks/chat_path, docs/benchmarks.md). Here the statement is still written in Core
against the schema and compiled by the dialect, so its SQL is the same as before; only
the per-call machinery goes: parameters are put in the compiled order through the types'
own bind processors, and result values through their result processors (UTC datetimes
stay aware), once per value instead of once per layer.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from sqlalchemy import BindParameter, Column, Connection, Dialect, Table, bindparam
from sqlalchemy.sql.expression import Executable

Processor = Callable[[Any], Any] | None


class Prepared:
    """One compiled statement: `run(conn, values)` executes it; `rows()` reads its result
    as dicts keyed by `columns` (the statement's result columns, in order)."""

    def __init__(
        self, statement: Executable, dialect: Dialect, columns: Sequence[Column[Any]] = ()
    ) -> None:
        compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        self.sql: str = compiled.string
        binds = compiled.binds
        self._positional: bool = bool(compiled.positional)
        names: list[str] = list(compiled.positiontup or binds)
        self._names = names
        self._bind: list[Processor] = [
            binds[name].type._cached_bind_processor(dialect) for name in names
        ]
        self._fixed: dict[str, Any] = {
            name: binds[name].value for name in names if not binds[name].required
        }
        """Values written into the statement itself (`state != 'ended'`): used when not given."""
        self._keys = [column.key for column in columns]
        self._result: list[Processor] = [
            column.type._cached_result_processor(dialect, None) for column in columns
        ]

    def parameters(self, values: Mapping[str, Any]) -> Any:
        """The DBAPI parameters for `values` (every bind without a value of its own must be
        given: a KeyError names the one missing)."""
        fixed = self._fixed
        out = [
            value if process is None or value is None else process(value)
            for value, process in zip(
                (
                    values[name] if name in values or name not in fixed else fixed[name]
                    for name in self._names
                ),
                self._bind,
                strict=True,
            )
        ]
        return tuple(out) if self._positional else dict(zip(self._names, out, strict=True))

    def run(self, conn: Connection, values: Mapping[str, Any]) -> Any:
        """Execute once; returns the DBAPI cursor (read it with rows() or lastrowid)."""
        cursor = dbapi_cursor(conn)
        cursor.execute(self.sql, self.parameters(values))
        return cursor

    def run_many(self, conn: Connection, values: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per item (DBAPI executemany); nothing is returned."""
        if values:
            dbapi_cursor(conn).executemany(self.sql, [self.parameters(v) for v in values])

    def rows(self, cursor: Any) -> list[dict[str, Any]]:
        keys, processors = self._keys, self._result
        out = []
        for row in cursor.fetchall():
            out.append(
                {
                    key: value if process is None or value is None else process(value)
                    for key, value, process in zip(keys, row, processors, strict=True)
                }
            )
        return out


def dbapi_cursor(conn: Connection) -> Any:
    """A cursor of the DBAPI connection under `conn`, inside `conn`'s transaction."""
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None, "connection is closed"
    return dbapi.cursor()


_COMPILED: dict[tuple[str, str, Hashable], Prepared] = {}
"""Statements of `compiled_once`, per (dialect, driver, key): a few dozen at most."""


def compiled_once(
    conn: Connection,
    key: Hashable,
    build: Callable[[], tuple[Executable, Sequence[Column[Any]]]],
) -> Prepared:
    """The statement `build()` writes (with its result columns), compiled the first time
    `key` is asked for on this connection's dialect and driver, then reused: for the
    statements every call start, answer and end runs (signaling/store/calls.py). The
    writer thread and the event loop may both ask; building one twice is harmless."""
    dialect = conn.dialect
    cache_key = (dialect.name, dialect.driver, key)
    found = _COMPILED.get(cache_key)
    if found is None:
        statement, columns = build()
        found = _COMPILED[cache_key] = Prepared(statement, dialect, columns)
    return found


def insert_keys(table: Table) -> list[str]:
    """The columns an insert of a whole row gives (all but the generated id)."""
    return [column.key for column in table.c if column.key != "id"]


def column_binds(table: Table, keys: Sequence[str]) -> dict[str, BindParameter[Any]]:
    """One bind per column, named as the column and typed by it: `.values()` of a
    statement for compiled_once, filled by name at each run."""
    return {key: bindparam(key, type_=table.c[key].type) for key in keys}
