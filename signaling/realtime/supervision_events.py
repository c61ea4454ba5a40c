"""The supervise.* events of the console's namespace (docs/protocol.md §8.9); who may use
them is checked inside (signaling/calls/supervision.py)."""

from __future__ import annotations

from typing import Any

from signaling.auth.actor import Actor
from signaling.auth.tokens import Principal
from signaling.calls.supervision import SupervisionService
from signaling.protocol import events as ev
from signaling.realtime.namespace import Handler, typed

# supervise.join carries a seven-m-line SDP offer.
SUPERVISE_EVENT_MAX_BYTES = {"supervise.join": 64 * 1024}


def supervision_handlers(supervision: SupervisionService) -> dict[str, Handler]:
    async def listing(sid: str, principal: Principal, payload: Any) -> dict[str, Any]:
        return await supervision.live_calls(principal)

    return {
        "supervise.list": listing,
        "supervise.join": typed(
            ev.SuperviseJoin, lambda sid, p, r: supervision.join(p, r, sid, Actor(p))
        ),
        "supervise.mode": typed(
            ev.SuperviseMode, lambda sid, p, r: supervision.set_mode(p, r, Actor(p))
        ),
        "supervise.leave": typed(ev.CallRef, lambda sid, p, r: supervision.leave(p, r, Actor(p))),
        "supervise.ice_servers": typed(ev.CallRef, lambda sid, p, r: supervision.ice_servers(p, r)),
    }
