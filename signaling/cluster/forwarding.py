"""Socket events of this process's connections, run where the state is: on the primary.

A connection stays on the process that accepted it (Engine.IO, authentication, rate limits
and frame checks happen there); what it asks — an event, its arrival, its going — is run by
the primary's namespace with the same sid and principal, and the answer comes back as the
ack. The primary's emits and room changes reach the connection through python-socketio's
Redis manager. Events of one connection stay in order: the next is forwarded only after the
previous one's answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from signaling.auth.tokens import Principal
from signaling.cluster.bus import SignalingBus
from signaling.types import ChatId, OrgId, Role

if TYPE_CHECKING:
    from signaling.realtime.namespace import LiveAssistNamespace

log = logging.getLogger(__name__)


def principal_to_wire(principal: Principal) -> dict[str, Any]:
    return {
        "role": principal.role.value,
        "org_id": principal.org_id,
        "subject_id": principal.subject_id,
        "session_id": principal.session_id,
        "chat_id": principal.chat_id,
        "expires_at": principal.expires_at,
    }


def principal_from_wire(data: dict[str, Any]) -> Principal:
    chat_id = data.get("chat_id")
    return Principal(
        role=Role(data["role"]),
        org_id=OrgId(int(data["org_id"])),
        subject_id=int(data["subject_id"]),
        session_id=data.get("session_id"),
        chat_id=ChatId(int(chat_id)) if chat_id is not None else None,
        expires_at=float(data.get("expires_at") or 0.0),
    )


class Forwarder:
    def __init__(self, bus: SignalingBus, is_primary: Callable[[], bool]) -> None:
        self._bus = bus
        self._is_primary = is_primary
        self._namespaces: dict[str, LiveAssistNamespace] = {}
        self._known: set[tuple[str, str]] = set()
        """Connections whose arrival this process ran as primary: a new primary knows none,
        and adopts each at its first event or at its announcement, whichever comes first."""
        self._ready = asyncio.Event()
        """Set once this process, as primary, has restored routing and calls."""

    def ready(self) -> None:
        self._ready.set()

    @property
    def local(self) -> bool:
        """This process is the primary: its connections' events run here."""
        return self._is_primary()

    def serve(self, namespaces: Iterable[LiveAssistNamespace]) -> None:
        for namespace in namespaces:
            self._namespaces[namespace.namespace] = namespace
            namespace.forward = self
        self._bus.operation("socket.event", self._run_event)
        self._bus.operation("socket.connect", self._run_connect)
        self._bus.operation("socket.gone", self._run_gone)
        self._bus.on_notice("sockets.replay", self._replay)

    # ---- on the process holding the connection ---------------------------------------------
    async def event(
        self, namespace: str, event: str, sid: str, principal: Principal, payload: Any
    ) -> dict[str, Any]:
        body = self._body(namespace, sid, principal) | {"event": event, "payload": payload}
        answer: dict[str, Any] = await self._bus.ask_primary("socket.event", body)
        return answer

    async def connected(self, namespace: str, sid: str, principal: Principal) -> None:
        await self._bus.ask_primary("socket.connect", self._body(namespace, sid, principal))

    async def gone(self, namespace: str, sid: str, principal: Principal) -> None:
        await self._bus.ask_primary("socket.gone", self._body(namespace, sid, principal))

    async def replay_all(self) -> None:
        """A new primary knows no connection: every process announces its own again."""
        await self._bus.notify_all("sockets.replay", {})

    @staticmethod
    def _body(namespace: str, sid: str, principal: Principal) -> dict[str, Any]:
        return {"ns": namespace, "sid": sid, "principal": principal_to_wire(principal)}

    async def _replay(self, _body: dict[str, Any]) -> None:
        for namespace in self._namespaces.values():
            manager = namespace.server.manager
            for sid, _eio_sid in list(manager.get_participants(namespace.namespace, None)):
                try:
                    session = await namespace.get_session(sid)
                except KeyError:
                    continue
                principal = session.get("principal")
                if principal is None:
                    continue
                try:
                    if self.local:
                        await self.arrived(namespace, sid, principal)
                    else:
                        await self.connected(namespace.namespace, sid, principal)
                except Exception:
                    log.exception("announcing connection %s to the new primary failed", sid)

    # ---- on the primary ----------------------------------------------------------------------
    async def arrived(self, namespace: LiveAssistNamespace, sid: str, principal: Principal) -> None:
        """A connection's arrival, run once per connection (a replayed one is known)."""
        await self._ready.wait()
        key = (namespace.namespace, sid)
        if key not in self._known:
            self._known.add(key)
            await namespace.on_authenticated(sid, principal)

    async def left(self, namespace: LiveAssistNamespace, sid: str, principal: Principal) -> None:
        await self._ready.wait()
        self._known.discard((namespace.namespace, sid))
        await namespace.on_gone(sid, principal)

    async def answer(
        self,
        namespace: LiveAssistNamespace,
        sid: str,
        event: str,
        principal: Principal,
        payload: Any,
    ) -> dict[str, Any]:
        """An event, after its connection's arrival (adopted here if this primary is new and
        the announcement has not come yet)."""
        await self.arrived(namespace, sid, principal)
        return await namespace.answer_event(sid, event, principal, payload)

    def _namespace(self, body: dict[str, Any]) -> tuple[LiveAssistNamespace, str, Principal]:
        return (
            self._namespaces[str(body["ns"])],
            str(body["sid"]),
            principal_from_wire(dict(body["principal"])),
        )

    async def _run_event(self, body: dict[str, Any]) -> dict[str, Any]:
        namespace, sid, principal = self._namespace(body)
        return await self.answer(namespace, sid, str(body["event"]), principal, body["payload"])

    async def _run_connect(self, body: dict[str, Any]) -> None:
        await self.arrived(*self._namespace(body))

    async def _run_gone(self, body: dict[str, Any]) -> None:
        await self.left(*self._namespace(body))
