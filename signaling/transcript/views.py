"""Records as the wire shows them: the one place that decides what a client sees of a row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.filenames import clean_filename
from signaling.store import Record
from signaling.store.customers import customer_by_id, customer_name_sync
from signaling.store.messages import attachments_by_ids_sync
from signaling.store.users import user_by_id, user_name_sync

CHAT_FIELDS = (
    "id",
    "state",
    "topic",
    "language",
    "priority",
    "ticket_id",
    "group_id",
    "customer_id",
    "assignee_id",
    "last_seq",
    "customer_read_seq",
    "agent_read_seq",
    "created_at",
    "queued_at",
    "assigned_at",
    "first_response_at",
    "ended_at",
    "end_reason",
)


def attachment_view(att: Record) -> dict[str, Any]:
    return {
        "id": att["id"],
        "filename": clean_filename(att["filename"]),
        "content_type": att["content_type"],
        "size": att["size"],
        "url": f"/api/attachments/{att['id']}",
    }


class NameBook:
    """Display names of senders, looked up once per process and kept."""

    def __init__(self) -> None:
        self._users: dict[int, str] = {}
        self._customers: dict[int, str] = {}

    def remember_user(self, user_id: int, name: str) -> None:
        self._users[user_id] = name

    def remember_customer(self, customer_id: int, name: str | None) -> None:
        self._customers[customer_id] = name or "Customer"

    async def user(self, conn: AsyncConnection, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        if user_id not in self._users:
            row = await user_by_id(conn, user_id)
            self._users[user_id] = row["name"] if row else "Agent"
        return self._users[user_id]

    async def customer(self, conn: AsyncConnection, customer_id: int) -> str:
        if customer_id not in self._customers:
            row = await customer_by_id(conn, customer_id)
            self._customers[customer_id] = (row["name"] if row else None) or "Customer"
        return self._customers[customer_id]

    def user_sync(self, conn: Connection, user_id: int | None) -> str | None:
        """user() inside Database.write_in_thread (the message writer's batches)."""
        if user_id is None:
            return None
        name = self._users.get(user_id)
        if name is None:
            name = self._users[user_id] = user_name_sync(conn, user_id) or "Agent"
        return name

    def customer_sync(self, conn: Connection, customer_id: int) -> str:
        """customer() inside Database.write_in_thread."""
        name = self._customers.get(customer_id)
        if name is None:
            name = customer_name_sync(conn, customer_id) or "Customer"
            self._customers[customer_id] = name
        return name


async def chat_view(conn: AsyncConnection, chat: Record, names: NameBook) -> dict[str, Any]:
    return await conn.run_sync(chat_view_sync, chat, names)


def chat_view_sync(conn: Connection, chat: Record, names: NameBook) -> dict[str, Any]:
    """chat_view inside Database.read_in_thread, or through run_sync (the names are read
    once, then kept)."""
    view: dict[str, Any] = {key: chat[key] for key in CHAT_FIELDS}
    view["assignee_name"] = names.user_sync(conn, chat["assignee_id"])
    view["customer_name"] = names.customer_sync(conn, chat["customer_id"])
    return view


async def message_views(
    conn: AsyncConnection, chat: Record, rows: list[Record], names: NameBook
) -> list[dict[str, Any]]:
    return await conn.run_sync(message_views_sync, chat, rows, names)


def message_views_sync(
    conn: Connection, chat: Record, rows: list[Record], names: NameBook
) -> list[dict[str, Any]]:
    """message_views inside Database.read_in_thread, or through run_sync."""
    atts = attachments_by_ids_sync(conn, {r["attachment_id"] for r in rows if r["attachment_id"]})
    views = []
    for row in rows:
        if row["sender_type"] == "agent":
            name = names.user_sync(conn, row["sender_id"])
        elif row["sender_type"] == "customer":
            name = names.customer_sync(conn, chat["customer_id"])
        else:
            name = None
        att = atts.get(row["attachment_id"]) if row["attachment_id"] else None
        views.append(message_view(row, name, att))
    return views


def message_view(row: Record, sender_name: str | None, attachment: Record | None) -> dict[str, Any]:
    """One message row as clients see it (message_views, or the message writer's batches);
    the bot's answers carry the articles it offered."""
    view = {
        "id": row["id"],
        "chat_id": row["chat_id"],
        "seq": row["seq"],
        "sender": {"type": row["sender_type"], "id": row["sender_id"], "name": sender_name},
        "kind": row["kind"],
        "text": row["text"],
        "attachment": attachment_view(attachment) if attachment else None,
        "client_msg_id": row["client_msg_id"],
        "created_at": row["created_at"],
    }
    meta = row.get("meta")
    if meta and "articles" in meta:
        view["articles"] = meta["articles"]
    return view
