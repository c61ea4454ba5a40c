"""One evidence timeline for a recorded call, on media time: its chat messages, call events,
annotations and quality samples, each at `at_ms` from the recording's start (negative:
before it began), so a reviewer's click seeks the player and the player's position finds
the item. Review comments are the reviews' own (they carry their media time already)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.calls.views import quality_view
from signaling.store import Record
from signaling.store import calls as call_store
from signaling.store import chats as chat_store
from signaling.store import messages as message_store
from signaling.transcript.views import NameBook, message_views

MAX_MESSAGES = 2000


def media_ms(at: datetime, started_at: datetime) -> int:
    return round((at - started_at).total_seconds() * 1000)


async def timeline(conn: AsyncConnection, recording: Record, names: NameBook) -> dict[str, Any]:
    """`recording` is a recording summary (store.recordings.summary_of)."""
    started: datetime = recording["started_at"]
    items: list[dict[str, Any]] = []
    chat = await chat_store.chat_by_id(conn, recording["chat_id"])
    if chat is not None:
        rows = await message_store.messages_after(
            conn, chat["id"], 0, MAX_MESSAGES, include_notes=False
        )
        for message in await message_views(conn, chat, rows, names):
            items.append(_item(started, message["created_at"], "message", message=message))
    for event in await call_store.events_of(conn, recording["call_id"]):
        at = event["created_at"]
        if event["kind"] == "annotation":
            items.append(_item(started, at, "annotation", annotation=event["detail"]))
        else:
            detail = {"kind": event["kind"], "actor": event["actor"], "detail": event["detail"]}
            items.append(_item(started, at, "call_event", event=detail))
    for sample in await call_store.quality_of(conn, recording["call_id"]):
        items.append(_item(started, sample["created_at"], "quality", quality=quality_view(sample)))
    items.sort(key=lambda item: (item["at_ms"], _ORDER[item["kind"]]))
    return {"started_at": started, "items": items}


_ORDER = {"call_event": 0, "message": 1, "annotation": 2, "quality": 3}


def _item(started: datetime, at: datetime, kind: str, **payload: Any) -> dict[str, Any]:
    return {"at_ms": media_ms(at, started), "at": at, "kind": kind, **payload}


def paused_spans(events: list[Record], started: datetime, ended: datetime | None) -> list[Any]:
    """Media-time spans the agent paused the recording for (from the call's event log)."""
    spans: list[dict[str, int]] = []
    opened: datetime | None = None
    for event in events:
        if event["kind"] == "recording_paused" and opened is None:
            opened = event["created_at"]
        elif event["kind"] in ("recording_resumed", "recording_stopped") and opened is not None:
            spans.append(
                {
                    "from_ms": max(0, media_ms(opened, started)),
                    "to_ms": media_ms(event["created_at"], started),
                }
            )
            opened = None
    if opened is not None and ended is not None:
        spans.append({"from_ms": media_ms(opened, started), "to_ms": media_ms(ended, started)})
    return spans
