"""/customer: the widget's connection. A guest token opens exactly one chat's room."""

from __future__ import annotations

from typing import Any

from signaling.auth.tokens import Principal
from signaling.calls.service import CallService
from signaling.chat.service import ChatService
from signaling.kb.bot import Bot
from signaling.protocol import events as ev
from signaling.protocol.notifier import chat_room
from signaling.realtime.call_events import CALL_EVENT_MAX_BYTES
from signaling.realtime.namespace import Handler, LiveAssistNamespace, typed
from signaling.types import Role


class CustomerNamespace(LiveAssistNamespace):
    roles = frozenset({Role.CUSTOMER})

    def __init__(
        self,
        chats: ChatService,
        calls: CallService,
        call_handlers: dict[str, Handler],
        bot: Bot,
        **kwargs: Any,
    ) -> None:
        super().__init__("/customer", **kwargs)
        self._chats = chats
        self._calls = calls
        self.events = {
            "chat.start": typed(ev.ChatRef, lambda sid, p, r: chats.start(p, r)),
            "chat.sync": typed(ev.ChatSync, lambda sid, p, r: chats.sync(p, r)),
            "message.send": typed(ev.MessageSend, lambda sid, p, r: chats.send(p, r, sid)),
            "typing": typed(ev.Typing, lambda sid, p, r: chats.typing(p, r, sid)),
            "read": typed(ev.ReadReceipt, lambda sid, p, r: chats.read(p, r, sid)),
            "chat.end": typed(ev.ChatRef, lambda sid, p, r: chats.end(p, r)),
            "csat.submit": typed(ev.CsatSubmit, lambda sid, p, r: chats.rate(p, r)),
            "bot.solved": typed(ev.ChatRef, lambda sid, p, r: bot.solved(p, r)),
            "bot.human": typed(ev.ChatRef, lambda sid, p, r: bot.human(p, r)),
            **call_handlers,
        }
        self.event_max_bytes = dict(CALL_EVENT_MAX_BYTES)

    async def on_authenticated(self, sid: str, principal: Principal) -> None:
        assert principal.chat_id is not None
        await self.enter_room(sid, chat_room(principal.chat_id))
        # Sent after the connect handshake completes, so the client is listening.
        self.server.start_background_task(self._greet, sid, principal)

    async def _greet(self, sid: str, principal: Principal) -> None:
        assert principal.chat_id is not None
        snapshot = await self._chats.snapshot(principal, principal.chat_id)
        await self.emit("chat.updated", snapshot, to=sid)
        await self._calls.resend_state(
            principal.chat_id, lambda call: self.emit("call.updated", call, to=sid)
        )

    async def on_gone(self, sid: str, principal: Principal) -> None:
        await self._calls.socket_gone(sid)
