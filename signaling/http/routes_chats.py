"""Chat sessions over REST: lists for consoles and QA, one chat with its transcript."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from signaling.auth import access
from signaling.http import schemas
from signaling.http.api import ID, MAX_ID, ApiRequest, api
from signaling.http.paging import paged
from signaling.store import chats as chat_store
from signaling.store import messages as message_store
from signaling.transcript.views import chat_view, message_views
from signaling.types import ChatState, Role
from signaling.wire import limit

STAFF = (Role.AGENT, Role.QA, Role.ADMIN)
PAGE = limit(min=1, max=100_000)
PER_PAGE = limit(min=1, max=200)


@dataclass(frozen=True)
class ChatListQuery:
    state: ChatState | None = None
    assignee_id: int | None = field(default=None, metadata=ID)
    group_id: int | None = field(default=None, metadata=ID)
    customer_id: int | None = field(default=None, metadata=ID)
    ticket_id: int | None = field(default=None, metadata=ID)
    topic: str | None = field(default=None, metadata=limit(max_len=64))
    page: int = field(default=1, metadata=PAGE)
    per_page: int = field(default=50, metadata=PER_PAGE)


@dataclass(frozen=True)
class MessagesQuery:
    after_seq: int = field(default=0, metadata=limit(min=0, max=MAX_ID))
    limit: int = field(default=200, metadata=limit(min=1, max=500))


@api.route(
    "GET",
    "/api/chats",
    summary="List chat sessions you may see",
    roles=STAFF,
    query=ChatListQuery,
    tag="chats",
    response=schemas.page("Chat"),
)
async def list_chats(call: ApiRequest) -> dict[str, Any]:
    q: ChatListQuery = call.query
    rt = call.runtime
    async with rt.db.read() as conn:
        scope = access.list_scope(call.me, await rt.chats.group_ids(conn, call.me))
        filters = {
            k: getattr(q, k)
            for k in ("assignee_id", "group_id", "customer_id", "ticket_id", "topic")
        }
        filters["state"] = q.state.value if q.state else None
        rows, total = await chat_store.list_chats(
            conn,
            scope.org_id,
            visible_to_groups=scope.group_ids,
            visible_to_user=scope.user_id,
            filters=filters,
            limit=q.per_page,
            offset=(q.page - 1) * q.per_page,
        )
        items = [await chat_view(conn, row, rt.names) for row in rows]
    return paged(items, total, q.page, q.per_page)


@api.route(
    "GET",
    "/api/chats/{chat_id}",
    summary="One chat session with its transcript",
    roles=(*STAFF, Role.CUSTOMER),
    tag="chats",
    response=schemas.CHAT_WITH_MESSAGES,
)
async def get_chat(call: ApiRequest) -> dict[str, Any]:
    rt = call.runtime
    async with rt.db.read() as conn:
        chat = await rt.chats.visible_chat(conn, call.me, call.path_id("chat_id"))
        rows = await message_store.messages_after(
            conn, chat["id"], 0, 10_000, include_notes=not call.me.is_customer
        )
        view = await chat_view(conn, chat, rt.names)
        view["messages"] = await message_views(conn, chat, rows, rt.names)
    return view


@api.route(
    "GET",
    "/api/chats/{chat_id}/messages",
    summary="Messages after a sequence number",
    roles=(*STAFF, Role.CUSTOMER),
    query=MessagesQuery,
    tag="chats",
    response=schemas.MESSAGES_PAGE,
)
async def chat_messages(call: ApiRequest) -> dict[str, Any]:
    q: MessagesQuery = call.query
    rt = call.runtime
    async with rt.db.read() as conn:
        chat = await rt.chats.visible_chat(conn, call.me, call.path_id("chat_id"))
        rows = await message_store.messages_after(
            conn, chat["id"], q.after_seq, q.limit + 1, include_notes=not call.me.is_customer
        )
        items = await message_views(conn, chat, rows[: q.limit], rt.names)
    return {"items": items, "has_more": len(rows) > q.limit}
