"""call.annotate: the agent's pointer and short-lived marks on a shared screen, passed to
the other side at once and kept in the call's event log (pointer moves at most 4/s)."""

from __future__ import annotations

import itertools
from time import monotonic
from typing import Any

from signaling.auth.tokens import Principal
from signaling.calls.service import CallService
from signaling.db.schema import utcnow
from signaling.errors import Forbidden, InvalidPayload
from signaling.protocol import events as ev
from signaling.protocol.notifier import Notifier
from signaling.store import calls as call_store
from signaling.types import AnnotationKind, CallParty

POINTER_STORE_INTERVAL = 0.25
POINTS_NEEDED = {
    AnnotationKind.POINTER: (1, 1),
    AnnotationKind.ARROW: (2, 2),
    AnnotationKind.CIRCLE: (2, 2),
    AnnotationKind.FREEHAND: (2, 500),
    AnnotationKind.CLEAR: (0, 0),
}
STORED_FIELDS = ("id", "kind", "surface", "points", "color", "ttl_ms")
_ids = itertools.count(1)


class CallGuidance:
    def __init__(self, calls: CallService, notifier: Notifier) -> None:
        self._calls = calls
        self._notifier = notifier

    async def annotate(
        self, principal: Principal, req: ev.CallAnnotate, sid: str
    ) -> dict[str, Any]:
        call, live, party = await self._calls.active(principal, req.call_id)
        if party is not CallParty.AGENT:
            raise Forbidden("only the agent points and draws; customers see the marks")
        low, high = POINTS_NEEDED[req.kind]
        if not low <= len(req.points) <= high:
            raise InvalidPayload(
                f"a {req.kind.value} has {low} to {high} points, got {len(req.points)}",
                details={"field": "points"},
            )
        if any(len(point) != 2 for point in req.points):
            raise InvalidPayload("each point is [x, y]", details={"field": "points"})
        annotation = {
            "id": f"{call['id']}-{next(_ids)}",
            "call_id": call["id"],
            "by": CallParty.AGENT.value,
            "at": utcnow(),
            "kind": req.kind.value,
            "surface": req.surface.value,
            "points": [[round(x, 4), round(y, 4)] for x, y in req.points],
            "color": req.color,
            "ttl_ms": req.ttl_ms,
        }
        await self._notifier.to_chat(call["chat_id"], "call.annotation", annotation, skip_sid=sid)
        now = monotonic()
        state = live.parties[CallParty.AGENT]
        pointer = req.kind is AnnotationKind.POINTER
        if not pointer or now - state.last_pointer_stored >= POINTER_STORE_INTERVAL:
            if pointer:
                state.last_pointer_stored = now
            detail = {
                k: annotation[k] for k in ("id", "kind", "surface", "points", "color", "ttl_ms")
            }
            async with self._calls.db.write() as conn:
                await call_store.add_event(conn, call["id"], "annotation", CallParty.AGENT, detail)
        return annotation
