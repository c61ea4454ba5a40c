"""call.stats: store each participant's connection sample, grade it (MOS), tell both sides,
and offer (or apply) a step down when quality stays poor: video → screen only → audio → chat.
Beside them, the relay's own measure of each participant's link (call.link)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from media.quality import QualitySample, assess
from relay.interface import LinkReport
from signaling.auth.tokens import Principal
from signaling.calls.service import CallService
from signaling.calls.views import call_view
from signaling.errors import Conflict, Forbidden, InvalidPayload
from signaling.protocol import events as ev
from signaling.protocol.notifier import Notifier
from signaling.store import calls as call_store
from signaling.types import CallEndReason, CallParty, Downgrade

STEPS = (Downgrade.SCREEN_ONLY, Downgrade.AUDIO, Downgrade.CHAT)
log = logging.getLogger(__name__)


def link_view(call_id: int, party: CallParty, report: LinkReport) -> dict[str, Any]:
    """A Link (docs/protocol.md): the relay's figures for one participant, graded with the
    same E-model as the clients' own (loss of both directions added, the worse jitter)."""
    jitters = [j for j in (report.uplink_jitter_ms, report.downlink_jitter_ms) if j is not None]
    loss = min((report.uplink_loss_pct or 0.0) + (report.downlink_loss_pct or 0.0), 100.0)
    grade = assess(QualitySample(report.rtt_ms or 0.0, max(jitters, default=0.0), loss, 0.0))
    return {
        "call_id": call_id,
        "participant": party.value,
        "rtt_ms": report.rtt_ms,
        "uplink_loss_pct": report.uplink_loss_pct,
        "uplink_jitter_ms": report.uplink_jitter_ms,
        "downlink_loss_pct": report.downlink_loss_pct,
        "downlink_jitter_ms": report.downlink_jitter_ms,
        "mos": round(grade.mos, 2),
        "level": grade.level.value,
    }


LINK_REPEAT_SECONDS = 10.0
"""An unchanged Link is pushed again after this long (a page that missed one catches up)."""
_FIGURES = (
    "rtt_ms",
    "uplink_loss_pct",
    "uplink_jitter_ms",
    "downlink_loss_pct",
    "downlink_jitter_ms",
)


def _news(shown: dict[str, Any], view: dict[str, Any]) -> bool:
    """A Link worth pushing at once: another grade, or a figure that became known or unknown."""
    if shown["level"] != view["level"]:
        return True
    return any((shown[k] is None) != (view[k] is None) for k in _FIGURES)


class CallQuality:
    def __init__(self, calls: CallService, notifier: Notifier) -> None:
        self._calls = calls
        self._notifier = notifier
        self._pushes: set[asyncio.Task[None]] = set()
        calls.relay.add_link_listener(self.on_link_report)

    def on_link_report(self, report: LinkReport) -> None:
        """The relay measured a participant's link: both sides see it (call.link)."""
        found = self._calls.in_room(report.room_id, report.participant_id)
        if found is None:
            return
        live, party = found
        if live.ended:
            return
        view = link_view(live.call_id, party, report)
        side = live.parties[party]
        shown, shown_at = side.relay_link, side.relay_link_at
        side.relay_link = view
        now = time.monotonic()
        if shown is not None and not _news(shown, view) and now - shown_at < LINK_REPEAT_SECONDS:
            return  # the relay reports every 2 s; both sides hear of changes, and now and then
        side.relay_link_at = now
        task = asyncio.ensure_future(self._push_link(live.chat_id, view))
        self._pushes.add(task)
        task.add_done_callback(self._pushes.discard)

    async def _push_link(self, chat_id: int, view: dict[str, Any]) -> None:
        try:
            await self._notifier.to_chat(chat_id, "call.link", view)
        except Exception:
            log.exception("call.link push failed")

    async def report(self, principal: Principal, req: ev.CallStats) -> dict[str, Any]:
        call, live, party = await self._calls.active(principal, req.call_id)
        try:
            sample = QualitySample(
                req.rtt_ms,
                req.jitter_ms,
                req.loss_pct,
                req.bitrate_kbps,
                req.fps,
                req.width,
                req.height,
            )
        except ValueError as error:
            raise InvalidPayload(str(error)) from None
        grade = assess(sample)
        fields = {
            "participant": party.value,
            "rtt_ms": sample.rtt_ms,
            "jitter_ms": sample.jitter_ms,
            "loss_pct": sample.loss_pct,
            "bitrate_kbps": sample.bitrate_kbps,
            "fps": sample.fps,
            "width": sample.width,
            "height": sample.height,
            "mos": round(grade.mos, 2),
            "level": grade.level.value,
        }
        async with self._calls.db.write() as conn:
            row = await call_store.add_quality(conn, call["id"], fields)
        quality = {"call_id": call["id"], "at": row["created_at"], **fields}
        me = live.parties[party]
        me.quality = quality
        await self._notifier.to_chat(call["chat_id"], "call.quality", quality)
        if me.poor.observe(grade.level):
            step = _next_step(live.downgraded_to)
            if step is not None:
                reason = f"{party.value} connection poor (MOS {grade.mos:.1f})"
                if self._calls.config.auto_downgrade:
                    await self.apply(call["id"], step, reason, by=None)
                else:
                    await self._notifier.to_chat_staff(
                        call["chat_id"],
                        "call.downgrade",
                        {
                            "call_id": call["id"],
                            "to": step.value,
                            "applied": False,
                            "reason": reason,
                        },
                    )
        return quality

    async def choose(self, principal: Principal, req: ev.CallDowngrade) -> dict[str, Any]:
        """The agent takes a step down (offered or not)."""
        call, _live, party = await self._calls.active(principal, req.call_id)
        if party is not CallParty.AGENT:
            raise Forbidden("only the agent chooses a step down")
        return await self.apply(call["id"], req.to, "chosen by the agent", by=CallParty.AGENT)

    async def apply(
        self, call_id: int, step: Downgrade, reason: str, by: CallParty | None
    ) -> dict[str, Any]:
        live = self._calls.live.get(call_id)
        if live is None:
            raise Conflict("the call has ended")
        live.downgraded_to = step
        async with self._calls.db.write() as conn:
            await call_store.add_event(
                conn, call_id, "downgrade", by, {"to": step.value, "reason": reason}
            )
            call = await call_store.call_by_id(conn, call_id)
        assert call is not None
        await self._notifier.to_chat(
            call["chat_id"],
            "call.downgrade",
            {"call_id": call_id, "to": step.value, "applied": True, "reason": reason},
        )
        if step is Downgrade.CHAT:
            await self._calls.end(call_id, CallEndReason.POOR_QUALITY, by)
            async with self._calls.db.read() as conn:
                call = await call_store.call_by_id(conn, call_id)
            assert call is not None
        return call_view(call, self._calls.live.get(call_id))


def _next_step(current: Downgrade | None) -> Downgrade | None:
    if current is None:
        return STEPS[0]
    index = STEPS.index(current) + 1
    return STEPS[index] if index < len(STEPS) else None
