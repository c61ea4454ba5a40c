"""Chat messages written in shared transactions (group commit), then told, in order.

One message used to be 5-6 statements through aiosqlite, each a hand-off to its thread and
back, with SQLAlchemy's execution machinery around each: ~3.5 ms of CPU per message, most
of a process's budget (docs/benchmarks.md, "Chat: the cost of one message"). Here a message
that arrives while a batch is being written waits for the next batch, which carries
everything that arrived meanwhile, and the whole batch runs in one transaction in SQLite's
writer thread (Database.write_in_thread; on PostgreSQL through the async engine) with the
statements of signaling/store/message_batch.py: the batch's chats, one insert per message
(which skips a client id already stored: the idempotency lookup is folded into it), each
chat's last_seq once.

What holds as before:
- **Persisted before anyone is told.** Each sender's ack waits for its batch's commit, and
  the pushes to the chat are sent after it.
- **One order.** Within a batch messages are numbered in arrival order; after the commit
  they are pushed in that order, and the senders' acks resume in that order too. Events of
  one connection start one at a time and are answered in order (signaling/protocol/turns.py);
  a message hands its connection's turn on once it is queued, so a sender's next messages
  can join the same batch, behind it.
- **Idempotent.** A resend with the same client_msg_id finds the stored message, also when
  the original is earlier in the same batch, and is acked `duplicate: true` without a push.
- **One bad message fails alone.** Refusals (no such chat, ended, not yours) are that
  message's answer and write nothing; a batch whose transaction fails is written again one
  message at a time, so only the message that breaks it fails.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Dialect, update

from signaling import jsonutil
from signaling.auth import access
from signaling.auth.tokens import Principal
from signaling.db.database import Database
from signaling.db.schema import chat_sessions, utcnow
from signaling.errors import Conflict, LiveAssistError, NotFound
from signaling.protocol import events as ev
from signaling.protocol import turns
from signaling.protocol.notifier import Notifier
from signaling.store import Record
from signaling.store import kb as kb_store
from signaling.store import orgs as org_store
from signaling.store.message_batch import ClientKey, MessageStatements
from signaling.store.messages import attachment_by_id_sync
from signaling.transcript.views import NameBook, message_view
from signaling.types import ChatState, MessageKind, Role, SenderType

log = logging.getLogger(__name__)

MAX_BATCH = 256
"""Messages in one transaction at most; more wait for the next one."""


@dataclass(frozen=True)
class Written:
    """What became of one message: its view, whether it was a resend of a stored one, the
    chat as the message left it, and whether the message started a new chat (put it in line,
    or in the bot's hands)."""

    view: dict[str, Any]
    duplicate: bool
    chat: Record
    started: bool = False


@dataclass
class _Pending:
    principal: Principal
    sender: tuple[SenderType, int]
    req: ev.MessageSend
    text: str
    sid: str | None
    key: ClientKey
    done: asyncio.Future[Written] = field(repr=False)


Outcome = Written | BaseException


class MessageWriter:
    """Lifecycle: usable at once; a batch writer task exists only while messages wait."""

    def __init__(self, db: Database, notifier: Notifier, names: NameBook) -> None:
        self._db = db
        self._notifier = notifier
        self._names = names
        self._queued: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None
        self._statements: dict[tuple[str, str], MessageStatements] = {}
        self.batches = 0
        """Transactions committed so far (for tests and load reports)."""
        self.waiting = 0
        """Messages received and not answered yet (queued or in the batch being written)."""

    async def write(
        self,
        principal: Principal,
        sender: tuple[SenderType, int],
        req: ev.MessageSend,
        text: str,
        sid: str | None,
    ) -> Written:
        """Store the message (or find its stored original) and push it to the chat, except
        to socket `sid`; returns once it is committed and pushed."""
        done: asyncio.Future[Written] = asyncio.get_running_loop().create_future()
        key = (req.chat_id, sender[0].value, sender[1], req.client_msg_id)
        self._queued.append(_Pending(principal, sender, req, text, sid, key, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_batches())
        turns.hand_on()  # its place is fixed: the sender's next event may join this batch
        self.waiting += 1
        try:
            return await done
        finally:
            self.waiting -= 1

    async def _write_batches(self) -> None:
        while self._queued:
            batch, self._queued = self._queued[:MAX_BATCH], self._queued[MAX_BATCH:]
            try:
                try:
                    outcomes = await self._commit(batch)
                except Exception as error:
                    if len(batch) == 1:
                        outcomes = [error]
                    else:  # one message broke the transaction: the others must not fail too
                        outcomes = [await self._commit_alone(pending) for pending in batch]
                await self._tell(batch, outcomes)
            except Exception as error:  # a bug: its senders get an error, the rest go on
                log.exception("writing a batch of %d chat messages failed", len(batch))
                for pending in batch:
                    if not pending.done.done():
                        pending.done.set_exception(error)
            except BaseException:  # cancelled (shutting down): nobody waits forever
                for pending in [*batch, *self._queued]:
                    pending.done.cancel()
                self._queued = []
                raise

    async def _commit(self, batch: list[_Pending]) -> list[Outcome]:
        outcomes = await self._db.write_in_thread(lambda conn: self._apply(conn, batch))
        self.batches += 1
        return outcomes

    async def _commit_alone(self, pending: _Pending) -> Outcome:
        try:
            (outcome,) = await self._commit([pending])
        except Exception as error:
            return error
        return outcome

    async def _tell(self, batch: list[_Pending], outcomes: list[Outcome]) -> None:
        """Push the new messages in the order they were numbered, then wake their senders
        (in the same order)."""
        for pending, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Written) and not outcome.duplicate:
                try:
                    await self._notifier.to_chat(
                        outcome.chat["id"], "message", outcome.view, skip_sid=pending.sid
                    )
                except Exception:  # stored all the same: the ack says so; clients sync
                    log.exception("pushing message %s failed", outcome.view["id"])
        for pending, outcome in zip(batch, outcomes, strict=True):
            if pending.done.done():
                continue
            if isinstance(outcome, Written):
                pending.done.set_result(outcome)
            else:
                pending.done.set_exception(outcome)

    # ---- in the writer's transaction ------------------------------------------------------
    def _apply(self, conn: Connection, batch: list[_Pending]) -> list[Outcome]:
        """Write the batch; refusals are outcomes, anything else aborts the transaction."""
        statements = self._statements_for(conn.dialect)
        chats = statements.chats(conn, {p.req.chat_id for p in batch})
        stored: dict[ClientKey, Record] = {}  # this batch's messages and originals found
        last_seq: dict[int, int] = {}
        changes: dict[int, dict[str, Any]] = {}
        outcomes: list[Outcome] = []
        for pending in batch:
            try:
                written = self._apply_one(conn, statements, pending, chats, stored, changes)
            except LiveAssistError as refused:
                outcomes.append(refused)
                continue
            if not written.duplicate:
                last_seq[written.chat["id"]] = written.chat["last_seq"]
            outcomes.append(written)
        statements.set_last_seq(conn, last_seq)
        for chat_id, values in changes.items():
            conn.execute(update(chat_sessions).where(chat_sessions.c.id == chat_id).values(values))
        return outcomes

    def _apply_one(
        self,
        conn: Connection,
        statements: MessageStatements,
        pending: _Pending,
        chats: dict[int, Record],
        stored: dict[ClientKey, Record],
        changes: dict[int, dict[str, Any]],
    ) -> Written:
        principal, req = pending.principal, pending.req
        chat = chats.get(req.chat_id)
        groups: set[int] = set()
        if (
            chat is not None
            and principal.role is Role.AGENT
            and chat["assignee_id"] != principal.subject_id
        ):  # only then can the agent's groups decide (as NotFound or Forbidden)
            groups = org_store.group_ids_of_sync(conn, principal.subject_id)
        chat = access.check_view_chat(principal, chat, groups)
        access.check_write_chat(principal, chat)
        original = stored.get(pending.key)
        if original is None and chat["state"] == ChatState.ENDED.value:
            original = statements.stored(conn, [pending.key]).get(pending.key)
        if original is not None:
            return Written(self._view(conn, chat, original), True, chat)
        if chat["state"] == ChatState.ENDED.value:
            raise Conflict("this chat has ended; start a new one")
        attachment = None
        if req.attachment_id is not None:
            attachment = attachment_by_id_sync(conn, req.attachment_id)
            if attachment is None or attachment["chat_id"] != chat["id"]:
                raise NotFound("no such attachment in this chat")
        sender_type, sender_id = pending.sender
        row: Record = {
            "chat_id": chat["id"],
            "seq": chat["last_seq"] + 1,
            "sender_type": sender_type.value,
            "sender_id": sender_id,
            "client_msg_id": req.client_msg_id,
            "kind": (MessageKind.ATTACHMENT if req.attachment_id else MessageKind.TEXT).value,
            "text": pending.text,
            "attachment_id": req.attachment_id,
            "created_at": utcnow(),
        }
        message_id = statements.insert(conn, row)
        if message_id is None:  # a resend of a message stored before this batch
            original = stored[pending.key] = statements.stored(conn, [pending.key])[pending.key]
            return Written(self._view(conn, chat, original), True, chat)
        row["id"] = message_id
        stored[pending.key] = row  # a resend later in this batch finds it
        chat = {**chat, "last_seq": row["seq"]}
        change: dict[str, Any] = {}
        if sender_type is SenderType.AGENT and chat["first_response_at"] is None:
            change["first_response_at"] = row["created_at"]
        started = chat["state"] == ChatState.NEW.value
        if started and kb_store.bot_enabled_sync(conn, chat["org_id"]):
            change.update(state=ChatState.BOT.value)  # the bot answers first (ChatService.send)
        elif started:
            change.update(state=ChatState.QUEUED.value, queued_at=row["created_at"])
        if change:
            chat.update(change)
            changes.setdefault(chat["id"], {}).update(change)
        chats[chat["id"]] = chat
        view = message_view(row, self._sender_name(conn, chat, row), attachment)
        view["created_at"] = jsonutil.wire_time(row["created_at"])  # once, not per encoding
        return Written(view, False, chat, started)

    def _view(self, conn: Connection, chat: Record, row: Record) -> dict[str, Any]:
        attachment = None
        if row["attachment_id"] is not None:
            attachment = attachment_by_id_sync(conn, row["attachment_id"])
        return message_view(row, self._sender_name(conn, chat, row), attachment)

    def _sender_name(self, conn: Connection, chat: Record, row: Record) -> str | None:
        if row["sender_type"] == SenderType.AGENT.value:
            return self._names.user_sync(conn, row["sender_id"])
        if row["sender_type"] == SenderType.CUSTOMER.value:
            return self._names.customer_sync(conn, chat["customer_id"])
        return None

    def _statements_for(self, dialect: Dialect) -> MessageStatements:
        key = (dialect.name, dialect.driver)
        statements = self._statements.get(key)
        if statements is None:
            statements = self._statements[key] = MessageStatements(dialect)
        return statements
