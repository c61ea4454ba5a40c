"""The first-response bot: with the organisation's bot on, a new chat's first message is
answered with up to three articles before the chat joins the line.

    new ──first message──▶ bot ──"that solved it"──▶ ended (self_served)
                            ├──"talk to a person", or writes again──▶ queued
                            └──no article good enough──▶ queued (at once)

The customer is never held: "talk to a person" and a second message move the chat to the
line whatever the bot is doing, and the bot's answer, if it comes after, is dropped (both
transitions are one conditional UPDATE on the chat's state, so exactly one wins). The
exchange stays in the transcript: the bot's message with the articles it offered, and a
line saying how it ended, which the agent reads like any other."""

from __future__ import annotations

import asyncio
import logging
from time import perf_counter
from typing import Any

from signaling.auth.tokens import Principal
from signaling.chat.service import ChatService
from signaling.db.database import Database
from signaling.errors import Conflict
from signaling.kb.index import KbIndex
from signaling.protocol import events as ev
from signaling.protocol.notifier import Notifier
from signaling.store import Record
from signaling.store import chats as chat_store
from signaling.store import messages as message_store
from signaling.transcript.views import NameBook, message_views
from signaling.types import ChatState, KbLanguage, MessageKind, SenderType

log = logging.getLogger(__name__)

SUGGESTIONS = 3
MIN_SCORE = 0.6
"""A BM25 score at or under this is no answer. Chosen on the labelled set of
benchmarks/kb_bot.py (so fitted to it): the weakest right answer there scores 0.62, an
off-topic question sharing a common word ("order a taxi") 0.51; docs/benchmarks.md."""
ANSWER_TEXT = {
    "en": "These articles may answer your question. Did one of them solve it?",
    "zh": "这些文章也许能解答您的问题。问题解决了吗？",  # noqa: RUF001
}
NO_ANSWER = "The assistant found no article for this question; the chat is waiting for a person"
HUMAN_ASKED = "The customer asked for a person"
RESTARTED = "The assistant was interrupted by a restart; the chat is waiting for a person"


def kb_language(chat_language: str) -> str | None:
    """The knowledge-base language of a chat's language (zh-CN → zh); None: search all."""
    base = chat_language.split("-")[0].lower()
    return base if base in {lang.value for lang in KbLanguage} else None


class Bot:
    """Lifecycle: answers are tasks of their own (`pending`); `stop()` cancels and awaits them."""

    def __init__(
        self, db: Database, index: KbIndex, chats: ChatService, notifier: Notifier, names: NameBook
    ) -> None:
        self._db = db
        self._index = index
        self._chats = chats
        self._notifier = notifier
        self._names = names
        self.pending: set[asyncio.Task[None]] = set()
        self.latencies: list[float] = []
        """Seconds from the question to the answer being stored, per answer (tests, bench)."""

    def first_message(self, chat: Record, text: str) -> None:
        task = asyncio.create_task(self._answer(chat, text))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _answer(self, chat: Record, text: str) -> None:
        began = perf_counter()
        try:
            hits = await self._index.search(
                chat["org_id"],
                text,
                language=kb_language(chat["language"]),
                limit=SUGGESTIONS,
                min_score=MIN_SCORE,
            )
        except Exception:
            log.exception("the bot could not search for chat %s", chat["id"])
            hits = []
        try:
            if not hits:
                await self._chats.leave_bot(chat["id"], NO_ANSWER)
                return
            articles = [
                {k: v for k, v in hit.view().items() if k in ("id", "title", "excerpt", "score")}
                for hit in hits
            ]
            await self._post(chat, articles, began)
        except Exception:  # the customer must not wait for a bot that failed
            log.exception("the bot's answer to chat %s failed", chat["id"])
            await self._chats.leave_bot(chat["id"], NO_ANSWER)

    async def _post(self, chat: Record, articles: list[dict[str, Any]], began: float) -> None:
        language = kb_language(chat["language"]) or "en"
        async with self._db.write() as conn:
            # Still the bot's? The same conditional statement as every other way out of it.
            bot = ChatState.BOT
            still = await chat_store.update_chat_in_state(
                conn, chat["id"], bot, {"state": bot.value}
            )
            if still is None:
                return
            row = await message_store.append_message(
                conn,
                chat_id=chat["id"],
                sender_type=SenderType.BOT,
                sender_id=None,
                kind=MessageKind.TEXT,
                text=ANSWER_TEXT[language],
                meta={"articles": articles},
            )
            (view,) = await message_views(conn, still, [row], self._names)
        self.latencies.append(perf_counter() - began)
        await self._notifier.to_chat(chat["id"], "message", view)

    # ---- what the customer chooses ----------------------------------------------------------
    async def solved(self, principal: Principal, req: ev.ChatRef) -> dict[str, Any]:
        return await self._chats.end_self_served(principal, req)

    async def human(self, principal: Principal, req: ev.ChatRef) -> dict[str, Any]:
        """Queue the chat now (also before the bot has answered); a chat already queued or
        with an agent is answered as it is, so a second press is harmless."""
        snapshot = await self._chats.snapshot(principal, req.chat_id)
        if snapshot["state"] == ChatState.ENDED.value:
            raise Conflict("this chat has ended; start a new one")
        if snapshot["state"] == ChatState.BOT.value:
            await self._chats.leave_bot(req.chat_id, HUMAN_ASKED)
            snapshot = await self._chats.snapshot(principal, req.chat_id)
        return snapshot  # new: nothing asked yet, the first message goes to a person anyway

    # ---- lifecycle ----------------------------------------------------------------------------
    async def restore(self) -> None:
        """Chats a stopped process left with the bot go to the line: nobody waits on a bot
        that is gone."""
        async with self._db.read() as conn:
            waiting = await chat_store.chats_in_state(conn, ChatState.BOT)
        for chat in waiting:
            await self._chats.leave_bot(chat["id"], RESTARTED)

    async def stop(self) -> None:
        for task in list(self.pending):
            task.cancel()
        await asyncio.gather(*self.pending, return_exceptions=True)
