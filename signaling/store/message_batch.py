"""The statements a batch of chat messages runs (signaling/chat/message_writer.py), compiled
once per dialect and run on the DBAPI cursor (signaling.db.prepared): the batch's chats
(locked on PostgreSQL), one insert per message that skips a client key already stored,
each touched chat's new last_seq, and the stored original of a resend. Inside
Database.write_in_thread.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Dialect, and_, bindparam, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from signaling.db.prepared import Prepared
from signaling.db.schema import chat_sessions, messages
from signaling.store import Record

T = TypeVar("T")

ClientKey = tuple[int, str, int | None, str]
"""(chat_id, sender_type, sender_id, client_msg_id): what makes a resend the same message."""

CHUNK = 64
"""Most ids (or keys) one statement carries; larger batches run it in chunks. Lists are
padded to a power of two (repeating their last item), so each statement is compiled in
at most 7 shapes."""

_INSERTED = [c for c in messages.c if c.key not in ("id", "meta")]  # meta: the bot's alone


class MessageStatements:
    """Compiled for one dialect; statements with a list of ids are compiled per list length
    the first time that length is seen."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._for_update = dialect.name != "sqlite"  # SQLite has one writer: nothing to lock
        self._chats: dict[int, Prepared] = {}
        self._stored: dict[int, Prepared] = {}
        self._insert = Prepared(_insert_statement(dialect), dialect)
        self._last_seq = Prepared(
            update(chat_sessions)
            .where(chat_sessions.c.id == bindparam("p_id", type_=chat_sessions.c.id.type))
            .values(last_seq=bindparam("p_last_seq", type_=chat_sessions.c.last_seq.type)),
            dialect,
        )

    def chats(self, conn: Connection, ids: Collection[int]) -> dict[int, Record]:
        """The chats by id (missing ones absent); on PostgreSQL locked until the transaction
        ends, taken in id order so that two batches never wait for each other in a cycle."""
        found: dict[int, Record] = {}
        ordered = sorted(ids)
        for start in range(0, len(ordered), CHUNK):
            part = _padded(ordered[start : start + CHUNK])
            prepared = _shape(self._chats, len(part), self._chats_statement)
            values = {f"p_{i}": chat_id for i, chat_id in enumerate(part)}
            for row in prepared.rows(prepared.run(conn, values)):
                found[row["id"]] = row
        return found

    def stored(self, conn: Connection, keys: Sequence[ClientKey]) -> dict[ClientKey, Record]:
        """Messages already stored under any of these client keys."""
        found: dict[ClientKey, Record] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), CHUNK):
            part = _padded(unique[start : start + CHUNK])
            prepared = _shape(self._stored, len(part), self._stored_statement)
            values: dict[str, Any] = {}
            for i, key in enumerate(part):
                for name, value in zip(("c", "t", "s", "m"), key, strict=True):
                    values[f"p_{name}{i}"] = value
            for row in prepared.rows(prepared.run(conn, values)):
                key = (row["chat_id"], row["sender_type"], row["sender_id"], row["client_msg_id"])
                found[key] = row
        return found

    def insert(self, conn: Connection, row: Mapping[str, Any]) -> int | None:
        """Insert one message (every column but id given): its new id, or None when a
        message with its client key is stored already (the idempotency lookup folded into
        the insert; `stored()` then finds the original)."""
        cursor = self._insert.run(conn, {f"p_{c.key}": row[c.key] for c in _INSERTED})
        found = cursor.fetchone()
        return None if found is None else int(found[0])

    def set_last_seq(self, conn: Connection, last_seqs: Mapping[int, int]) -> None:
        """Each chat's last_seq, as the batch left it."""
        self._last_seq.run_many(
            conn, [{"p_id": chat_id, "p_last_seq": seq} for chat_id, seq in last_seqs.items()]
        )

    def _chats_statement(self, count: int) -> Prepared:
        query = (
            select(chat_sessions)
            .where(
                chat_sessions.c.id.in_(
                    [bindparam(f"p_{i}", type_=chat_sessions.c.id.type) for i in range(count)]
                )
            )
            .order_by(chat_sessions.c.id)
        )
        if self._for_update:
            query = query.with_for_update()
        return Prepared(query, self._dialect, list(chat_sessions.c))

    def _stored_statement(self, count: int) -> Prepared:
        """A lookup of `count` client keys: an OR of equalities, each served by the unique
        index (SQLite reads a row-value IN list by scanning the table)."""
        c = messages.c
        matches = [
            and_(
                c.chat_id == bindparam(f"p_c{i}", type_=c.chat_id.type),
                c.sender_type == bindparam(f"p_t{i}", type_=c.sender_type.type),
                c.sender_id == bindparam(f"p_s{i}", type_=c.sender_id.type),
                c.client_msg_id == bindparam(f"p_m{i}", type_=c.client_msg_id.type),
            )
            for i in range(count)
        ]
        return Prepared(select(messages).where(or_(*matches)), self._dialect, list(messages.c))


def _insert_statement(dialect: Dialect) -> Any:
    """INSERT … ON CONFLICT (the client key) DO NOTHING RETURNING id, on the dialects that
    have it (SQLite and PostgreSQL, the two LiveAssist runs on); elsewhere a plain insert,
    which a resend fails with the unique key."""
    values = {c.key: bindparam(f"p_{c.key}", type_=c.type) for c in _INSERTED}
    key = [messages.c.chat_id, messages.c.sender_type, messages.c.sender_id]
    key.append(messages.c.client_msg_id)
    if dialect.name == "sqlite":
        return (
            sqlite_insert(messages)
            .values(values)
            .on_conflict_do_nothing(index_elements=key)
            .returning(messages.c.id)
        )
    if dialect.name == "postgresql":
        return (
            postgresql_insert(messages)
            .values(values)
            .on_conflict_do_nothing(index_elements=key)
            .returning(messages.c.id)
        )
    return insert(messages).values(values).returning(messages.c.id)


def _padded(items: list[T]) -> list[T]:
    size = 1
    while size < len(items):
        size *= 2
    return items + [items[-1]] * (size - len(items))


def _shape(cache: dict[int, Prepared], count: int, build: Callable[[int], Prepared]) -> Prepared:
    prepared = cache.get(count)
    if prepared is None:
        prepared = cache[count] = build(count)
    return prepared
