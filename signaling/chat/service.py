"""What customers and agents do in a chat: start, write, read, type, end, rate, transfer,
escalate. Every action checks access first and persists before anyone is told."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.auth import access
from signaling.auth.tokens import Principal
from signaling.chat.message_writer import MessageWriter
from signaling.db.database import Database
from signaling.db.schema import utcnow
from signaling.errors import Conflict, Forbidden, InvalidPayload, NotFound
from signaling.protocol import events as ev
from signaling.protocol.notifier import Notifier
from signaling.routing.dispatcher import Dispatcher
from signaling.store import Record
from signaling.store import chats as chat_store
from signaling.store import messages as message_store
from signaling.store import orgs as org_store
from signaling.store import tickets as ticket_store
from signaling.store import users as user_store
from signaling.store.audit import audit
from signaling.transcript.system_messages import add_system_message
from signaling.transcript.views import (
    NameBook,
    chat_view,
    chat_view_sync,
    message_views_sync,
)
from signaling.types import (
    ChatEndReason,
    ChatState,
    Presence,
    Role,
    SenderType,
    TicketStatus,
)
from signaling.webhooks import outbox

ESCALATED_TAG = "escalated"
BOT_TYPED_AGAIN = "The customer wrote again; the chat is waiting for a person"
BOT_SOLVED = "The customer's question was answered by the help articles"


@dataclass(frozen=True)
class _Closed:
    """A chat ended in a transaction, and what to tell once it is committed."""

    chat: Record
    reason: ChatEndReason
    system: dict[str, Any]
    solved: Record | None
    view: dict[str, Any]
    at: datetime


def sender_of(principal: Principal) -> tuple[SenderType, int]:
    if principal.is_customer:
        return SenderType.CUSTOMER, principal.subject_id
    return SenderType.AGENT, principal.subject_id


def visible_chat_sync(conn: Connection, principal: Principal, chat_id: int) -> Record:
    """The chat, if `principal` may see it, read in a thread's transaction
    (Database.read_in_thread or write_in_thread): ChatService.visible_chat in one hand-off."""
    found = chat_store.chat_by_id_sync(conn, chat_id)
    groups = (
        org_store.group_ids_of_sync(conn, principal.subject_id)
        if principal.role is Role.AGENT
        else set()
    )
    return access.check_view_chat(principal, found, groups)


def writable_chat_sync(conn: Connection, principal: Principal, chat_id: int) -> Record:
    """The chat, if `principal` sees it and may write in it (its customer, its agent)."""
    chat = visible_chat_sync(conn, principal, chat_id)
    access.check_write_chat(principal, chat)
    return chat


class ChatService:
    def __init__(
        self, db: Database, dispatcher: Dispatcher, notifier: Notifier, names: NameBook
    ) -> None:
        self._db = db
        self._dispatcher = dispatcher
        self._notifier = notifier
        self._names = names
        self.messages = MessageWriter(db, notifier, names)
        """Writes the messages people send, in batches (its `batches` count is read by tests)."""
        self.ended_listeners: list[Callable[[int], Awaitable[None]]] = []
        """Told the id of every chat that ends (its call, if any, ends with it)."""
        self.bot_first: Callable[[Record, str], None] | None = None
        """Given a chat the bot answers first, and its first message (signaling/kb/bot.py)."""

    async def group_ids(self, conn: AsyncConnection, principal: Principal) -> set[int]:
        if principal.role is not Role.AGENT:
            return set()
        return await org_store.group_ids_of(conn, principal.subject_id)

    async def visible_chat(
        self, conn: AsyncConnection, principal: Principal, chat_id: int
    ) -> Record:
        return await conn.run_sync(visible_chat_sync, principal, chat_id)

    # ---- reading --------------------------------------------------------------------------
    async def snapshot(self, principal: Principal, chat_id: int) -> dict[str, Any]:
        async with self._db.read() as conn:
            chat = await self.visible_chat(conn, principal, chat_id)
            view = await chat_view(conn, chat, self._names)
        view["queue"] = await self._dispatcher.estimate_for(chat_id)
        return view

    async def sync(self, principal: Principal, req: ev.ChatSync) -> dict[str, Any]:
        """The chat and its messages after a seq: read in one hand-off (every page load and
        every reconnect asks, so a restart's reconnecting pages all ask at once)."""
        names = self._names

        def read(conn: Connection) -> tuple[dict[str, Any], list[dict[str, Any]], bool]:
            chat = visible_chat_sync(conn, principal, req.chat_id)
            rows = message_store.messages_after_sync(
                conn,
                chat["id"],
                req.after_seq,
                req.limit + 1,
                include_notes=not principal.is_customer,
            )
            views = message_views_sync(conn, chat, rows[: req.limit], names)
            return chat_view_sync(conn, chat, names), views, len(rows) > req.limit

        view, views, has_more = await self._db.read_in_thread(read)
        view["queue"] = await self._dispatcher.estimate_for(view["id"])
        return {"chat": view, "messages": views, "has_more": has_more}

    # ---- writing --------------------------------------------------------------------------
    async def send(
        self, principal: Principal, req: ev.MessageSend, sid: str | None
    ) -> dict[str, Any]:
        """Persist, then acknowledge and fan out; a resend with the same client_msg_id returns
        the stored message and tells no one twice. Written in batches (MessageWriter)."""
        text = req.text.strip()
        if not text and req.attachment_id is None:
            raise InvalidPayload("a message needs text or an attachment", details={"field": "text"})
        written = await self.messages.write(principal, sender_of(principal), req, text, sid)
        in_bot = written.chat["state"] == ChatState.BOT.value
        if written.started and not in_bot:
            await self._dispatcher.enqueue(written.chat)
        elif written.started and self.bot_first is not None:
            self.bot_first(written.chat, text)
            view = await self.snapshot(principal, written.chat["id"])  # the page shows "bot"
            await self._notifier.to_chat(written.chat["id"], "chat.updated", view)
        elif in_bot and not written.duplicate:
            # Writing again while the bot has the chat asks for a person: never blocked.
            await self.leave_bot(written.chat["id"], BOT_TYPED_AGAIN)
        return {"message": written.view, "duplicate": written.duplicate}

    async def leave_bot(self, chat_id: int, note: str) -> bool:
        """The bot's exchange is over without an answer: the chat joins the line now, with
        `note` in its transcript. False when the bot no longer had it (already queued or
        ended: whoever moved it first decided)."""
        async with self._db.write() as conn:
            chat = await chat_store.update_chat_in_state(
                conn,
                chat_id,
                ChatState.BOT,
                {"state": ChatState.QUEUED.value, "queued_at": utcnow()},
            )
            if chat is None:
                return False
            system = await add_system_message(conn, chat, note, self._names)
            view = await chat_view(conn, chat, self._names)
        await self._notifier.to_chat(chat_id, "message", system)
        await self._notifier.to_chat(chat_id, "chat.updated", view)
        await self._dispatcher.enqueue(chat)
        return True

    async def start(self, principal: Principal, req: ev.ChatRef) -> dict[str, Any]:
        """Put a new chat in line (idempotent: a started chat is returned as it is)."""
        async with self._db.write() as conn:
            chat = await self.visible_chat(conn, principal, req.chat_id)
            if principal.is_customer and chat["state"] == ChatState.NEW.value:
                chat = await chat_store.update_chat(
                    conn, chat["id"], {"state": ChatState.QUEUED.value, "queued_at": utcnow()}
                )
                enqueue = True
            else:
                enqueue = False
        if enqueue:
            await self._dispatcher.enqueue(chat)
        return await self.snapshot(principal, chat["id"])

    async def typing(self, principal: Principal, req: ev.Typing, sid: str | None) -> dict[str, Any]:
        """Tell the others in the chat; checked in one read (a page sends one every 3 s while
        someone types, several per message, so this is the chat's most frequent event)."""
        names = self._names

        def check(conn: Connection) -> tuple[Record, str | None]:
            chat = writable_chat_sync(conn, principal, req.chat_id)
            if principal.is_customer:
                return chat, names.customer_sync(conn, chat["customer_id"])
            return chat, names.user_sync(conn, principal.subject_id)

        chat, name = await self._db.read_in_thread(check)
        sender_type, sender_id = sender_of(principal)
        payload = {
            "chat_id": chat["id"],
            "typing": req.typing,
            "sender": {"type": sender_type.value, "id": sender_id, "name": name},
        }
        await self._notifier.to_chat(chat["id"], "typing", payload, skip_sid=sid)
        return {}

    async def read(
        self, principal: Principal, req: ev.ReadReceipt, sid: str | None
    ) -> dict[str, Any]:
        """A read receipt: one transaction in the writer thread (a page sends one for nearly
        every message it shows, so this is as frequent as messages are)."""
        column = "customer_read_seq" if principal.is_customer else "agent_read_seq"

        def mark(conn: Connection) -> Record:
            chat = writable_chat_sync(conn, principal, req.chat_id)
            seq = min(req.seq, chat["last_seq"])
            if seq > chat[column] and chat_store.raise_read_seq_sync(conn, chat["id"], column, seq):
                return {**chat, column: seq}
            return chat

        chat = await self._db.write_in_thread(mark)
        payload = {
            "chat_id": chat["id"],
            "reader": "customer" if principal.is_customer else "agent",
            "seq": chat[column],
        }
        await self._notifier.to_chat(chat["id"], "read", payload, skip_sid=sid)
        return payload

    # ---- ending ---------------------------------------------------------------------------
    async def end(self, principal: Principal, req: ev.ChatRef) -> dict[str, Any]:
        """Customer leaves or agent closes. The ticket is solved with it unless escalated."""
        async with self._db.write() as conn:
            chat = await self.visible_chat(conn, principal, req.chat_id)
            if principal.is_customer:
                access.check_write_chat(principal, chat)
                reason, who = ChatEndReason.CUSTOMER_ENDED, "The customer"
            else:
                access.check_manage_chat(principal, chat)
                reason, who = (
                    ChatEndReason.AGENT_CLOSED,
                    await self._names.user(conn, principal.subject_id) or "The agent",
                )
            if chat["state"] == ChatState.ENDED.value:
                return await chat_view(conn, chat, self._names)
            ended = await self._close(conn, principal, chat, reason, f"{who} ended the chat")
            assert ended is not None
        return await self._after_close(ended)

    async def end_self_served(self, principal: Principal, req: ev.ChatRef) -> dict[str, Any]:
        """The customer says the bot's articles answered their question: the chat ends as
        self-served (counted in the KPIs, said in the chat.ended webhook). Only while the bot
        has the chat; once it is queued or with an agent, that is `chat.end`'s job."""
        async with self._db.write() as conn:
            chat = await self.visible_chat(conn, principal, req.chat_id)
            access.check_write_chat(principal, chat)
            if chat["state"] == ChatState.ENDED.value:
                if chat["end_reason"] == ChatEndReason.SELF_SERVED.value:
                    return await chat_view(conn, chat, self._names)  # a resend
                raise Conflict("this chat has ended")
            if chat["state"] != ChatState.BOT.value:
                raise Conflict("the chat is already with the support team; end it with chat.end")
            ended = await self._close(conn, principal, chat, ChatEndReason.SELF_SERVED, BOT_SOLVED)
            if ended is None:  # handed to the team in the meantime
                raise Conflict("the chat is already with the support team; end it with chat.end")
        return await self._after_close(ended)

    async def _close(
        self,
        conn: AsyncConnection,
        principal: Principal,
        chat: Record,
        reason: ChatEndReason,
        line: str,
    ) -> _Closed | None:
        """End the chat in the caller's transaction (None: it was no longer in the state it
        was read in): its webhook, its transcript line, its ticket solved unless escalated."""
        now = utcnow()
        changed = await chat_store.update_chat_in_state(
            conn,
            chat["id"],
            ChatState(chat["state"]),
            {"state": ChatState.ENDED.value, "ended_at": now, "end_reason": reason.value},
        )
        if changed is None:
            return None
        chat = changed
        await outbox.chat_ended(conn, chat)
        system = await add_system_message(conn, chat, line, self._names)
        ticket = await ticket_store.ticket_by_id(conn, chat["ticket_id"])
        assert ticket is not None
        solved = None
        if ESCALATED_TAG not in ticket["tags"] and ticket["status"] == TicketStatus.OPEN.value:
            solved = await ticket_store.change_ticket(
                conn,
                ticket,
                {"status": TicketStatus.SOLVED.value},
                actor_type="system",
                actor_id=None,
            )
        view = await chat_view(conn, chat, self._names)
        await _audit(conn, principal, "chat.end", chat, {"reason": reason.value})
        return _Closed(chat, reason, system, solved, view, now)

    async def _after_close(self, closed: _Closed) -> dict[str, Any]:
        """Tell everyone, after the commit, and let the chat's call and agent go."""
        chat = closed.chat
        started = chat["assigned_at"]
        handle = (closed.at - started).total_seconds() if started else None
        self._dispatcher.chat_ended(chat["org_id"], handle)
        await self._notifier.to_chat(chat["id"], "message", closed.system)
        await self._notifier.to_chat(
            chat["id"], "chat.ended", {"chat_id": chat["id"], "reason": closed.reason.value}
        )
        if closed.solved is not None:
            await self._notifier.ticket_updated(closed.solved)
        await self._dispatcher.release(chat, requeue=False, note=closed.reason.value)
        for listener in self.ended_listeners:
            await listener(chat["id"])
        return closed.view

    async def rate(self, principal: Principal, req: ev.CsatSubmit) -> dict[str, Any]:
        if not principal.is_customer:
            raise Forbidden("only the customer rates a chat")
        async with self._db.write() as conn:
            chat = await self.visible_chat(conn, principal, req.chat_id)
            if chat["state"] != ChatState.ENDED.value:
                raise Conflict("rate the chat once it has ended")
            ticket = await ticket_store.ticket_by_id(conn, chat["ticket_id"])
            assert ticket is not None
            ticket = await ticket_store.change_ticket(
                conn,
                ticket,
                {"csat_score": req.score, "csat_comment": req.comment.strip() or None},
                actor_type="customer",
                actor_id=principal.subject_id,
            )
            await outbox.csat_received(conn, chat, ticket, req.score, ticket["csat_comment"])
        await self._notifier.ticket_updated(ticket, also=(chat["assignee_id"],))
        if chat["assignee_id"]:
            await self._notifier.to_user(
                chat["assignee_id"],
                "csat",
                {"chat_id": chat["id"], "ticket_id": chat["ticket_id"], "score": req.score},
            )
        return {"chat_id": chat["id"], "score": req.score}

    # ---- agents ---------------------------------------------------------------------------
    async def transfer(self, principal: Principal, req: ev.ChatTransfer) -> dict[str, Any]:
        """Hand a chat, with its whole history, to one agent or back into a group's line."""
        if (req.to_user_id is None) == (req.to_group_id is None):
            raise InvalidPayload("give exactly one of to_user_id or to_group_id")
        async with self._db.write() as conn:
            chat = await self.visible_chat(conn, principal, req.chat_id)
            access.check_manage_chat(principal, chat)
            if chat["state"] == ChatState.ENDED.value:
                raise Conflict("this chat has ended")
            from_name = await self._names.user(conn, principal.subject_id)
            if req.to_group_id is not None:
                group = await org_store.group_by_id(conn, req.to_group_id)
                if group is None or group["org_id"] != chat["org_id"]:
                    raise NotFound("no such group")
                changes = {"group_id": group["id"], "topic": group["topic"] or "general"}
                chat = await chat_store.update_chat(conn, chat["id"], changes)
                ticket = await ticket_store.ticket_by_id(conn, chat["ticket_id"])
                assert ticket is not None
                previous_assignee = ticket["assignee_id"]
                moved = await ticket_store.change_ticket(
                    conn,
                    ticket,
                    {"group_id": group["id"], "assignee_id": None},
                    actor_type="agent",
                    actor_id=principal.subject_id,
                )
                target = None
                note = f"{from_name} transferred the chat to {group['name']}"
            else:
                user = await user_store.user_by_id(conn, req.to_user_id or 0)
                if (
                    user is None
                    or user["org_id"] != chat["org_id"]
                    or user["role"] != Role.AGENT.value
                    or not user["active"]
                ):
                    raise NotFound("no such agent")
                target = await self._dispatcher.load_agent(conn, user["id"])
                assert target is not None
                if target.status is Presence.OFFLINE or not target.sids:
                    raise Conflict(f"{user['name']} is offline")
                if target.load >= target.max_chats:
                    raise Conflict(f"{user['name']} is at capacity ({target.max_chats} chats)")
                if target.user_id == chat["assignee_id"]:
                    raise Conflict("the chat is already theirs")
                note = f"transferred by {from_name}"
            if req.note.strip():
                await add_system_message(
                    conn, chat, f"Transfer note: {req.note.strip()}", self._names, internal=True
                )
            target_detail = {"to_user_id": req.to_user_id, "to_group_id": req.to_group_id}
            await _audit(conn, principal, "chat.transfer", chat, target_detail)
        if target is None:
            await self._notifier.ticket_updated(
                moved, also=(previous_assignee, principal.subject_id)
            )
            await self._dispatcher.release(chat, requeue=True, note=note, avoid_agent=True)
        else:
            await self._dispatcher.release(chat, requeue=False, note="transferred")
            await self._dispatcher.assign_directly(chat["id"], target, note)
        return {"chat_id": chat["id"]}

    async def escalate(self, principal: Principal, req: ev.ChatEscalate) -> dict[str, Any]:
        """Keep the chat's ticket open for follow-up after the chat ends."""
        async with self._db.write() as conn:
            chat = await self.visible_chat(conn, principal, req.chat_id)
            access.check_manage_chat(principal, chat)
            ticket = await ticket_store.ticket_by_id(conn, chat["ticket_id"])
            assert ticket is not None
            changes: dict[str, Any] = {
                "status": TicketStatus.OPEN.value,
                "tags": sorted({*ticket["tags"], ESCALATED_TAG}),
            }
            if req.priority is not None:
                changes["priority"] = req.priority.value
            if req.subject:
                changes["subject"] = req.subject.strip()
            if req.group_id is not None:
                group = await org_store.group_by_id(conn, req.group_id)
                if group is None or group["org_id"] != chat["org_id"]:
                    raise NotFound("no such group")
                changes["group_id"] = group["id"]
            ticket = await ticket_store.change_ticket(
                conn,
                ticket,
                changes,
                actor_type=principal.role.value,
                actor_id=principal.subject_id,
            )
            await _audit(conn, principal, "chat.escalate", chat, {"ticket_id": ticket["id"]})
            await outbox.ticket_escalated(conn, ticket, chat["id"])
            system = await add_system_message(
                conn, chat, f"Escalated to ticket #{ticket['id']} for follow-up", self._names
            )
            note = None
            if req.note.strip():
                note = await add_system_message(
                    conn, chat, f"Escalation note: {req.note.strip()}", self._names, internal=True
                )
        await self._notifier.to_chat(chat["id"], "message", system)
        if note is not None:
            await self._notifier.to_chat_staff(chat["id"], "message", note)
        await self._notifier.ticket_updated(ticket, also=(principal.subject_id,))
        return {"ticket": ticket}


async def _audit(
    conn: AsyncConnection, principal: Principal, action: str, chat: Record, detail: dict[str, Any]
) -> None:
    await audit(
        conn,
        org_id=chat["org_id"],
        actor_type=principal.role.value,
        actor_id=principal.subject_id,
        action=action,
        target_type="chat",
        target_id=chat["id"],
        detail=detail,
    )
