"""The common Socket.IO namespace: authenticate at connect, then for every event parse the
payload into its dataclass, run the handler, and ack with {"ok": true, "data": ...} or
{"ok": false, "error": {"code", "message"}}.

Rate limits, frame sizes and event names are checked before an event gets here, by the
server's gate (signaling/realtime/server.py); `connect` and `disconnect` reach
trigger_event only from python-socketio itself, never from the wire.

Events of one connection start one at a time, in arrival order, and are answered in that
order (signaling/protocol/turns.py), so a client's messages are stored in the order it sent
them. A failing event never closes the connection.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import socketio

from signaling.auth.authenticator import Authenticator
from signaling.auth.tokens import Principal
from signaling.errors import InvalidPayload, LiveAssistError, Unauthenticated, UnknownEvent
from signaling.metrics import ServerMetrics
from signaling.protocol.turns import Turns
from signaling.ratelimit import Buckets
from signaling.realtime.server import client_ip
from signaling.types import Role
from signaling.wire import parse

if TYPE_CHECKING:
    from signaling.cluster.forwarding import Forwarder

log = logging.getLogger(__name__)

Handler = Callable[[str, Principal, Any], Awaitable[Any]]


class TypedHandler:
    """A handler that receives the parsed dataclass instead of the raw payload; `payload`
    names that dataclass, so tests and documents can list what each event takes."""

    def __init__(
        self, payload: type[Any], handler: Callable[[str, Principal, Any], Awaitable[Any]]
    ) -> None:
        self.payload = payload
        self._handler = handler

    async def __call__(self, sid: str, principal: Principal, payload: Any) -> Any:
        return await self._handler(sid, principal, parse(self.payload, payload))


def typed(payload: type[Any], handler: Callable[[str, Principal, Any], Awaitable[Any]]) -> Handler:
    return TypedHandler(payload, handler)


class LiveAssistNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    roles: frozenset[Role] = frozenset()

    def __init__(
        self,
        namespace: str,
        *,
        authenticator: Authenticator,
        connects: Buckets,
    ) -> None:
        super().__init__(namespace)
        self._auth = authenticator
        self._connects = connects
        """Namespace connects per token holder (limits.connects_per_principal)."""
        self._turns: dict[str, Turns] = {}
        self._principals: dict[str, Principal] = {}
        """Who each connection authenticated as (also in its session), read per event
        without python-socketio's session lookups."""
        self.events: dict[str, Handler] = {}
        """The protocol's events of this namespace; the server's gate lets no other through."""
        self.metrics: ServerMetrics | None = None
        """Counts every answer (set by the Runtime)."""
        self.event_max_bytes: dict[str, int] = {}
        """Per-event frame size limits above limits.max_event_bytes (SDP offers)."""
        self.forward: Forwarder | None = None
        """With several signaling processes: runs this process's events on the primary."""

    # ---- lifecycle ------------------------------------------------------------------------
    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event == "connect":
            sid, environ = args[0], args[1]
            auth = args[2] if len(args) > 2 else None
            return await self._connect(sid, environ, auth)
        if event == "disconnect":
            return await self._disconnect(args[0])
        sid = args[0]
        payload = args[1] if len(args) == 2 else (list(args[1:]) if len(args) > 2 else None)
        turns = self._turns.get(sid)
        if turns is None:
            turns = self._turns[sid] = Turns()
        return await turns.run(lambda: self._event(sid, event, payload, many=len(args) > 2))

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        ip = client_ip(environ)
        try:
            token = auth.get("token") if isinstance(auth, dict) else None
            principal = await self._auth.principal(token)
            await self._connects.hit(f"{principal.role.value}:{principal.subject_id}")
            if principal.role not in self.roles:
                allowed = ", ".join(sorted(r.value for r in self.roles))
                raise LiveAssistError(
                    f"{self.namespace} is for {allowed}; this token is {principal.role.value}"
                )
        except LiveAssistError as exc:
            wire = (
                exc.to_wire()
                if exc.code != "internal"
                else {"code": "forbidden", "message": exc.message}
            )
            raise socketio.exceptions.ConnectionRefusedError(exc.message, wire) from None
        await self.save_session(sid, {"principal": principal, "ip": ip})
        self._principals[sid] = principal
        try:
            await self._arrive(sid, principal)
        except BaseException:
            self._principals.pop(sid, None)  # refused: no disconnect will follow
            raise

    async def _arrive(self, sid: str, principal: Principal) -> None:
        if self.forward is None:
            await self.on_authenticated(sid, principal)
            return
        if self.forward.local:
            await self.forward.arrived(self, sid, principal)
            return
        try:
            await self.forward.connected(self.namespace, sid, principal)
        except LiveAssistError as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.message, exc.to_wire()) from None

    async def _disconnect(self, sid: str) -> None:
        self._turns.pop(sid, None)
        self._principals.pop(sid, None)
        session = await self.get_session(sid)
        principal = session.get("principal")
        if principal is not None:
            try:
                if self.forward is None:
                    await self.on_gone(sid, principal)
                elif self.forward.local:
                    await self.forward.left(self, sid, principal)
                else:
                    await self.forward.gone(self.namespace, sid, principal)
            except Exception:
                log.exception("disconnect handling failed for %s", sid)

    async def on_authenticated(self, sid: str, principal: Principal) -> None:
        """Join rooms and announce presence; subclasses extend."""

    async def on_gone(self, sid: str, principal: Principal) -> None:
        """Undo on_authenticated; subclasses extend."""

    # ---- events ---------------------------------------------------------------------------
    async def _event(self, sid: str, event: str, payload: Any, *, many: bool) -> dict[str, Any]:
        answer = await self._answer(sid, event, payload, many=many)
        if self.metrics is not None:
            self._count(self.metrics, event, answer)
        return answer

    def _count(self, metrics: ServerMetrics, event: str, answer: dict[str, Any]) -> None:
        ok = bool(answer.get("ok"))
        known = event if event in self.events else "unknown"
        metrics.answered(self.namespace, known, None if ok else str(answer["error"]["code"]))
        if not ok:
            return
        data = answer.get("data")
        if event == "message.send" and isinstance(data, dict) and not data.get("duplicate"):
            metrics.messages.labels(self.namespace.strip("/")).inc()
        elif event == "call.start" and isinstance(data, dict):
            metrics.calls_started.labels(str(data.get("media"))).inc()

    async def _answer(self, sid: str, event: str, payload: Any, *, many: bool) -> dict[str, Any]:
        try:
            if many:
                raise InvalidPayload("send one payload object per event")
            if event not in self.events:
                raise UnknownEvent(f"unknown event {event!r} on {self.namespace}")
            principal = self._principals.get(sid)
            if principal is None:  # closed meanwhile (e.g. for flooding): nobody waits for this
                raise Unauthenticated("this connection has closed")
            if self.forward is not None and not self.forward.local:
                return await self.forward.event(self.namespace, event, sid, principal, payload)
        except LiveAssistError as exc:
            return {"ok": False, "error": exc.to_wire()}
        if self.forward is not None:  # the primary: after the take-over and the arrival
            return await self.forward.answer(self, sid, event, principal, payload)
        return await self.answer_event(sid, event, principal, payload)

    async def answer_event(
        self, sid: str, event: str, principal: Principal, payload: Any
    ) -> dict[str, Any]:
        """Run one event of a connection (this process's, or forwarded to the primary)."""
        try:
            handler = self.events.get(event)
            if handler is None:
                raise UnknownEvent(f"unknown event {event!r} on {self.namespace}")
            data = await handler(sid, principal, payload)
            return {"ok": True, "data": data}
        except LiveAssistError as exc:
            return {"ok": False, "error": exc.to_wire()}
        except Exception:
            log.exception("event %s on %s failed", event, self.namespace)
            return {
                "ok": False,
                "error": {"code": "internal", "message": "internal error; it was logged"},
            }
