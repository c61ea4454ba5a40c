"""/agent: the console's connection, for agents, admins and supervisors."""

from __future__ import annotations

from typing import Any

from signaling.auth import access
from signaling.auth.tokens import Principal
from signaling.calls.service import CallService
from signaling.calls.supervision import SupervisionService
from signaling.chat.service import ChatService
from signaling.db.database import Database
from signaling.protocol import events as ev
from signaling.protocol.notifier import Notifier, admins_room, chat_room, user_room
from signaling.realtime.call_events import CALL_EVENT_MAX_BYTES
from signaling.realtime.namespace import Handler, LiveAssistNamespace, typed
from signaling.realtime.supervision_events import SUPERVISE_EVENT_MAX_BYTES, supervision_handlers
from signaling.routing.dispatcher import Dispatcher
from signaling.routing.presence import PresenceRegistry
from signaling.store import chats as chat_store
from signaling.types import Presence, Role


class AgentNamespace(LiveAssistNamespace):
    roles = frozenset({Role.AGENT, Role.ADMIN, Role.SUPERVISOR})

    def __init__(
        self,
        chats: ChatService,
        dispatcher: Dispatcher,
        presence: PresenceRegistry,
        notifier: Notifier,
        db: Database,
        calls: CallService,
        call_handlers: dict[str, Handler],
        supervision: SupervisionService,
        **kwargs: Any,
    ) -> None:
        super().__init__("/agent", **kwargs)
        self._chats = chats
        self._calls = calls
        self._dispatcher = dispatcher
        self._presence = presence
        self._notifier = notifier
        self._db = db
        self.events = {
            "presence.set": typed(ev.PresenceSet, self._set_presence),
            "console.state": self._console_state,
            "chat.sync": typed(ev.ChatSync, lambda sid, p, r: chats.sync(p, r)),
            "message.send": typed(ev.MessageSend, lambda sid, p, r: chats.send(p, r, sid)),
            "typing": typed(ev.Typing, lambda sid, p, r: chats.typing(p, r, sid)),
            "read": typed(ev.ReadReceipt, lambda sid, p, r: chats.read(p, r, sid)),
            "chat.close": typed(ev.ChatRef, lambda sid, p, r: chats.end(p, r)),
            "chat.transfer": typed(ev.ChatTransfer, lambda sid, p, r: chats.transfer(p, r)),
            "chat.escalate": typed(ev.ChatEscalate, lambda sid, p, r: chats.escalate(p, r)),
            **call_handlers,
            **supervision_handlers(supervision),
        }
        self._supervision = supervision
        self.event_max_bytes = {**CALL_EVENT_MAX_BYTES, **SUPERVISE_EVENT_MAX_BYTES}

    async def on_authenticated(self, sid: str, principal: Principal) -> None:
        self._notifier.staff_connected(principal.subject_id, sid, principal.session_id)
        await self.enter_room(sid, user_room(principal.subject_id))
        if principal.role is Role.ADMIN:
            await self.enter_room(sid, admins_room(principal.org_id))
            return
        if principal.role is Role.SUPERVISOR:  # takes no chats; supervises calls
            return
        async with self._db.read() as conn:
            agent = await self._dispatcher.load_agent(conn, principal.subject_id)
            active = await chat_store.active_chats_of(conn, principal.subject_id)
        assert agent is not None
        agent.chats.update(chat["id"] for chat in active)
        for chat in active:
            await self.enter_room(sid, chat_room(chat["id"]))
        self.server.start_background_task(self._resend_calls, sid, [c["id"] for c in active])
        agent.sids.add(sid)
        if agent.offline_timer is not None:
            agent.offline_timer.cancel()
            agent.offline_timer = None
        if len(agent.sids) == 1 and agent.status is Presence.ONLINE:
            # Back within the grace period: what waited meanwhile may be theirs now.
            self.server.start_background_task(self._dispatcher.dispatch, agent.org_id)

    async def _resend_calls(self, sid: str, chat_ids: list[int]) -> None:
        for chat_id in chat_ids:
            await self._calls.resend_state(
                chat_id, lambda call: self.emit("call.updated", call, to=sid)
            )

    async def on_gone(self, sid: str, principal: Principal) -> None:
        self._notifier.staff_gone(principal.subject_id, sid)
        await self._calls.socket_gone(sid)
        await self._supervision.socket_gone(sid)
        agent = self._presence.get(principal.subject_id)
        if agent is None:
            return
        agent.sids.discard(sid)
        if not agent.sids:
            if agent.status is Presence.OFFLINE:
                return
            self._dispatcher.schedule_offline(agent)

    async def _set_presence(
        self, sid: str, principal: Principal, req: ev.PresenceSet
    ) -> dict[str, Any]:
        access.require_role(principal, Role.AGENT)
        agent = self._presence.get(principal.subject_id)
        assert agent is not None
        await self._dispatcher.set_status(agent, req.status)
        return agent.to_wire()

    async def _console_state(self, sid: str, principal: Principal, payload: Any) -> dict[str, Any]:
        """Everything a console needs after (re)connecting: own status, chats, the line."""
        agent = self._presence.get(principal.subject_id) if principal.role is Role.AGENT else None
        async with self._db.read() as conn:
            active = await chat_store.active_chats_of(conn, principal.subject_id)
        chats = [await self._chats.snapshot(principal, chat["id"]) for chat in active]
        return {
            "me": agent.to_wire() if agent else None,
            "chats": chats,
            **self._dispatcher.snapshot(principal.org_id, agent),
        }
