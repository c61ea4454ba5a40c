"""Chat messages: numbered per chat (seq), persisted before they are acknowledged, and
idempotent on the sender's client message id so a resend never duplicates (the messages
people send are written in batches by signaling/chat/message_writer.py, through
signaling/store/message_batch.py; system lines come through append_message here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Connection, Integer, Select, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.db.prepared import compiled_once
from signaling.db.schema import attachments, messages, utcnow
from signaling.store import Record, record
from signaling.store.chats import next_seq
from signaling.types import MessageKind, SenderType


async def append_message(
    conn: AsyncConnection,
    *,
    chat_id: int,
    sender_type: SenderType,
    sender_id: int | None,
    kind: MessageKind,
    text: str,
    client_msg_id: str | None = None,
    attachment_id: int | None = None,
    meta: dict[str, Any] | None = None,
) -> Record:
    seq = await next_seq(conn, chat_id)
    result = await conn.execute(
        insert(messages)
        .values(
            chat_id=chat_id,
            seq=seq,
            sender_type=sender_type.value,
            sender_id=sender_id,
            client_msg_id=client_msg_id,
            kind=kind.value,
            text=text,
            attachment_id=attachment_id,
            meta=meta,
            created_at=utcnow(),
        )
        .returning(*messages.c)
    )
    created = record(result.first())
    assert created is not None
    return created


async def messages_after(
    conn: AsyncConnection, chat_id: int, after_seq: int, limit: int, *, include_notes: bool
) -> list[Record]:
    return await conn.run_sync(
        lambda sync: messages_after_sync(
            sync, chat_id, after_seq, limit, include_notes=include_notes
        )
    )


def messages_after_sync(
    conn: Connection, chat_id: int, after_seq: int, limit: int, *, include_notes: bool
) -> list[Record]:
    """messages_after inside Database.read_in_thread (chat.sync, every page load; compiled
    once for each of its two forms)."""
    prepared = compiled_once(
        conn, ("messages.after", include_notes), lambda: _messages_after_statement(include_notes)
    )
    values = {"p_chat": chat_id, "p_after": after_seq, "p_limit": limit}
    return prepared.rows(prepared.run(conn, values))


def _messages_after_statement(include_notes: bool) -> tuple[Select[Any], list[Column[Any]]]:
    c = messages.c
    query = (
        select(messages)
        .where(
            c.chat_id == bindparam("p_chat", type_=c.chat_id.type),
            c.seq > bindparam("p_after", type_=c.seq.type),
        )
        .order_by(c.seq)
        .limit(bindparam("p_limit", type_=Integer()))
    )
    if not include_notes:
        query = query.where(c.kind != MessageKind.NOTE.value)
    return query, list(messages.c)


async def attachment_by_id(conn: AsyncConnection, attachment_id: int) -> Record | None:
    return record(
        (await conn.execute(select(attachments).where(attachments.c.id == attachment_id))).first()
    )


def attachment_by_id_sync(conn: Connection, attachment_id: int) -> Record | None:
    """attachment_by_id inside Database.write_in_thread."""
    query = select(attachments).where(attachments.c.id == attachment_id)
    return record(conn.execute(query).first())


async def attachments_by_ids(conn: AsyncConnection, ids: set[int]) -> dict[int, Record]:
    if not ids:
        return {}
    return await conn.run_sync(attachments_by_ids_sync, ids)


def attachments_by_ids_sync(conn: Connection, ids: set[int]) -> dict[int, Record]:
    """attachments_by_ids inside Database.read_in_thread."""
    if not ids:
        return {}
    rows = conn.execute(select(attachments).where(attachments.c.id.in_(ids)))
    return {int(r.id): dict(r._mapping) for r in rows}


async def create_attachment(
    conn: AsyncConnection,
    *,
    org_id: int,
    chat_id: int,
    uploader_type: SenderType,
    uploader_id: int,
    filename: str,
    content_type: str,
    size: int,
    sha256: str,
    storage_key: str,
) -> Record:
    result = await conn.execute(
        insert(attachments)
        .values(
            org_id=org_id,
            chat_id=chat_id,
            uploader_type=uploader_type.value,
            uploader_id=uploader_id,
            filename=filename,
            content_type=content_type,
            size=size,
            sha256=sha256,
            storage_key=storage_key,
            created_at=utcnow(),
        )
        .returning(*attachments.c)
    )
    created = record(result.first())
    assert created is not None
    return created
