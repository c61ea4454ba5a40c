"""System lines in a transcript (joined, transferred, ended): persisted like any message."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.store import Record
from signaling.store.messages import append_message
from signaling.transcript.views import NameBook, message_views
from signaling.types import MessageKind, SenderType


async def add_system_message(
    conn: AsyncConnection, chat: Record, text: str, names: NameBook, *, internal: bool = False
) -> dict[str, Any]:
    """`internal` lines (transfer and escalation notes) are for staff only, never the customer."""
    row = await append_message(
        conn,
        chat_id=chat["id"],
        sender_type=SenderType.SYSTEM,
        sender_id=None,
        kind=MessageKind.NOTE if internal else MessageKind.EVENT,
        text=text,
    )
    (view,) = await message_views(conn, chat, [row], names)
    return view
