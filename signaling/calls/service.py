"""The call coordinator: start, ring, accept or decline or miss, join the relay, drop and
rejoin, hang up. The rules of each transition are in signaling/calls/machine.py (no I/O);
this module does what they ask: every transition is written to the call's record and event
log before either side is told, each call's transitions run one at a time (its lock), and
the relay is reached through RelayControl only.

Joins, media flags and drops only append to the event log, through CallEventLog's shared
transactions; `media_used` is kept in memory while the call runs and written with its
end (after a crash it is derived from the "media" events)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import fields
from time import monotonic
from typing import Any

from sqlalchemy import Connection

from media.quality import PoorStreak
from relay.interface import (
    BadOffer,
    CloseReason,
    MediaFlow,
    NoCapacity,
    ParticipantId,
    ParticipantLink,
    RelayControl,
    RelayError,
    RelayLost,
    RoomClosed,
    RoomId,
    UnknownRoom,
    check_tracks,
)
from relay.interface import (
    RecordingState as RecordingStateEvent,
)
from signaling.auth import access
from signaling.auth.tokens import Principal
from signaling.calls import machine
from signaling.calls.event_log import CallEventLog
from signaling.calls.live import FLOW_GRACE, LiveCall
from signaling.calls.machine import Step
from signaling.calls.offer import OfferRefused, check_offer
from signaling.calls.revision import next_rev
from signaling.calls.shared_calls import CallsInProcess, SharedCalls
from signaling.calls.snapshot import VERSION as SNAPSHOT_VERSION
from signaling.calls.snapshot import adopted_call, call_snapshot
from signaling.calls.views import call_view
from signaling.config import CallsConfig
from signaling.db.database import Database
from signaling.db.schema import utcnow
from signaling.errors import Conflict, Forbidden, InvalidPayload, LiveAssistError, NotFound
from signaling.metrics import ServerMetrics
from signaling.protocol import events as ev
from signaling.protocol.notifier import Notifier
from signaling.ratelimit import RateLimiter
from signaling.recordings.recorder import CallRecorder, OpenedRecording
from signaling.store import Record
from signaling.store import calls as call_store
from signaling.store import chats as chat_store
from signaling.transcript.system_messages import add_system_message
from signaling.transcript.views import NameBook
from signaling.types import (
    CallEndReason,
    CallMedia,
    CallParty,
    CallState,
    ChatState,
    LinkState,
    Role,
    WebhookEventType,
)
from signaling.webhooks import outbox

log = logging.getLogger(__name__)


class RelayUnavailable(LiveAssistError):
    code = "relay_unavailable"


class RelayMoving(LiveAssistError):
    """The relay worker hosting the call died; the call is moving to another one."""

    code = "relay_lost"
    status = 503


ADOPT_SECONDS = 15.0
"""A take-over waits this long for the relay to say which rooms are still open."""

JOINS_PER_SECOND = 1.0
JOIN_BURST = 5
"""call.join per participant: a reconnect is one, a client retrying in a loop is refused
`rate_limited` before the relay pays for each offer."""

MOVING = (
    "the relay worker hosting this call was lost; the call is moving to another one: "
    "join again when call.updated shows a new relay_session"
)


MEDIA_DEFAULTS = {
    field.name: bool(field.default)
    for field in fields(ev.CallMediaState)
    if field.name != "call_id"
}
"""What a participant sends when it says nothing (call.media's defaults: audio only)."""


def party_of(principal: Principal) -> CallParty:
    return CallParty.CUSTOMER if principal.is_customer else CallParty.AGENT


def room_of(call_id: int) -> RoomId:
    return RoomId(f"call-{call_id}")


CallEndedListener = Callable[[Record], Awaitable[None]]


class CallService:
    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        names: NameBook,
        relay: RelayControl,
        config: CallsConfig,
        recorder: CallRecorder | None = None,
        shared: SharedCalls | None = None,
    ) -> None:
        self.db = db
        self.shared: SharedCalls = shared or CallsInProcess()
        """Each live call's snapshot after every change: a new primary takes them over."""
        self.hand_over = False
        """Leave running calls to the next primary at shutdown rather than end them."""
        self.recorder = recorder
        """Records calls as the organisation's policy says (None: never)."""
        self._notifier = notifier
        self._names = names
        self._relay = relay
        self.config = config
        self.live: dict[int, LiveCall] = {}
        relay.add_room_closed_listener(self._room_closed)
        relay.add_participant_listener(self._participant_link)
        relay.add_media_flow_listener(self._media_flow)
        relay.add_recording_listener(self._recording_changed)
        self.ended_listeners: list[CallEndedListener] = []
        self.moved_listeners: list[Callable[[LiveCall], Awaitable[None]]] = []
        """Told once a call has moved to another relay worker (its room is new)."""
        self._closing: set[asyncio.Task[None]] = set()
        self._joins = RateLimiter(
            rate=JOINS_PER_SECOND, burst=JOIN_BURST, what="joins of this call"
        )
        """A join costs the relay a peer connection (~30 ms of CPU): per call and party."""
        self.events = CallEventLog(db)
        self.metrics: ServerMetrics | None = None
        """Counts ends, setup times, recording failures (set by the Runtime)."""

    @property
    def relay(self) -> RelayControl:
        """For the parts beside this one that listen to the relay too (call quality)."""
        return self._relay

    # ---- access ---------------------------------------------------------------------------
    async def load(self, principal: Principal, call_id: int) -> Record:
        """The call, if `principal` is one of its two parties (admins: any of their org)."""
        live = self.live.get(call_id)
        call = live.record if live is not None else None
        if call is None:
            async with self.db.read() as conn:
                call = await call_store.call_by_id(conn, call_id)
        if call is None or not access.can_view_call(principal, call):
            raise NotFound(f"no call {call_id}")
        if principal.role not in (Role.CUSTOMER, Role.AGENT, Role.ADMIN):
            raise Forbidden("calls are for the chat's customer and agent")
        return call

    def _require_party(self, principal: Principal, call: Record) -> CallParty:
        if principal.role is Role.ADMIN and call["agent_id"] != principal.subject_id:
            raise Forbidden("only the call's customer and agent may do this")
        return party_of(principal)

    async def active(
        self, principal: Principal, call_id: int
    ) -> tuple[Record, LiveCall, CallParty]:
        """The running call `principal` is a party to, their side, and its live state."""
        call = await self.load(principal, call_id)
        party = self._require_party(principal, call)
        live = self.live.get(call["id"])
        if call["state"] != CallState.ACTIVE.value or live is None or live.ended:
            raise Conflict(f"the call is {call['state']}, not active")
        return call, live, party

    async def unfinished(self, principal: Principal, call_id: int) -> tuple[Record, CallParty]:
        """The ringing or running call `principal` is a party to, and their side."""
        call = await self.load(principal, call_id)
        party = self._require_party(principal, call)
        if call["state"] == CallState.ENDED.value:
            raise Conflict("the call has ended")
        return call, party

    async def view(self, principal: Principal, req: ev.CallRef) -> dict[str, Any]:
        call = await self.load(principal, req.call_id)
        return call_view(call, self.live.get(call["id"]))

    async def publish(self, live: LiveCall) -> dict[str, Any]:
        """Tell both sides of a change made under live.lock by another part (recording)."""
        return await self._publish(await self._record(live.call_id))

    async def _publish(self, call: Record, event: str = "call.updated") -> dict[str, Any]:
        """Tell both sides of a change: a new revision of the Call."""
        live = self.live.get(call["id"])
        if live is not None:
            live.rev = next_rev(live.rev)
            await self.shared.save(live.call_id, call_snapshot(live))
        view = call_view(call, live)
        await self._notifier.to_chat(call["chat_id"], event, view)
        return view

    async def _record(self, call_id: int) -> Record:
        live = self.live.get(call_id)
        if live is not None and live.record is not None:
            return live.record
        async with self.db.read() as conn:
            call = await call_store.call_by_id(conn, call_id)
        assert call is not None
        return call

    # ---- ringing --------------------------------------------------------------------------
    async def start(self, principal: Principal, req: ev.CallStart) -> dict[str, Any]:
        party = party_of(principal)
        received = monotonic()

        def create(conn: Connection) -> Record:
            chat = chat_store.chat_by_id_sync(conn, req.chat_id)
            if chat is None or chat["org_id"] != principal.org_id:
                raise NotFound(f"no chat {req.chat_id}")
            if principal.is_customer:
                access.check_write_chat(principal, chat)
            elif chat["assignee_id"] != principal.subject_id:
                raise Forbidden("only the chat's assigned agent may call its customer")
            if chat["state"] != ChatState.ACTIVE.value or chat["assignee_id"] is None:
                raise Conflict("a call needs an agent in the chat; wait until one has joined")
            if call_store.unfinished_call_of_chat_sync(conn, chat["id"]):
                raise Conflict("this chat already has a call ringing or running")
            call = call_store.create_call_sync(
                conn,
                org_id=chat["org_id"],
                chat_id=chat["id"],
                ticket_id=chat["ticket_id"],
                customer_id=chat["customer_id"],
                agent_id=chat["assignee_id"],
                media=req.media,
                started_by=party,
            )
            call_store.add_event_sync(conn, call["id"], "ringing", party, {"media": req.media})
            outbox.call_changed_sync(conn, call, WebhookEventType.CALL_STARTED)
            return call

        call = await self.db.write_in_thread(create)
        live = self.live[call["id"]] = LiveCall(
            call["id"],
            call["chat_id"],
            call["org_id"],
            call["agent_id"],
            record=call,
            media_used=dict(call["media_used"]),
            rev=call["rev"],
        )
        for side in live.parties.values():
            side.poor = PoorStreak(self.config.poor_samples)
        async with live.lock:
            live.parties[party].link = LinkState.CONNECTING
            try:
                worker = await self._relay.open_room(room_of(call["id"]))
            except (RelayError, OSError, RuntimeError, TimeoutError) as error:
                log.warning("call %s: no relay: %s", call["id"], error)
                await self._finish(live, CallEndReason.RELAY_UNAVAILABLE, None)
                raise RelayUnavailable("no media relay could take the call; try again") from None
            live.room_id = room_of(call["id"])
            live.relay_worker = worker  # written with the answer or the end: one write fewer
            self._start_timers(live, ["ring"])
            view = await self._publish(call, "call.ringing")
            log.debug("call %s: start took %.0f ms", call["id"], (monotonic() - received) * 1000)
            return view

    async def _ring_timeout(self, live: LiveCall) -> None:
        await asyncio.sleep(self.config.ring_seconds)
        async with live.lock:
            reason = machine.ring_expired(await self._record(live.call_id), live)
            if reason is not None:
                await self._finish(live, reason, None)

    async def _ringing_for_callee(
        self, principal: Principal, call_id: int
    ) -> tuple[Record, LiveCall]:
        call = await self.load(principal, call_id)
        party = self._require_party(principal, call)
        return call, machine.check_answerable(call, self.live.get(call["id"]), party)

    async def accept(self, principal: Principal, req: ev.CallRef) -> dict[str, Any]:
        received = monotonic()
        call, live = await self._ringing_for_callee(principal, req.call_id)
        party = party_of(principal)
        async with live.lock:
            machine.check_answerable(await self._record(call["id"]), live, party)
            step = machine.accepted(live, party)
            self._cancel_timers(live, step)
            live.rev = next_rev(live.rev)
            changes = {
                "state": CallState.ACTIVE.value,
                "answered_at": utcnow(),
                "relay_worker": live.relay_worker,
                "rev": live.rev,
            }

            recorder = self.recorder

            def answer(conn: Connection) -> tuple[Record, OpenedRecording | None]:
                answered = call_store.update_call_sync(conn, live.call_id, changes)
                for kind, actor, detail in step.events:
                    call_store.add_event_sync(conn, live.call_id, kind, actor, detail)
                outbox.call_changed_sync(conn, answered, WebhookEventType.CALL_ANSWERED)
                return answered, recorder.open_if_always_sync(conn, live) if recorder else None

            call, opened = await self.db.write_in_thread(answer)
            live.record = call
            if recorder and opened is not None:
                await self.events.append(live.call_id, await recorder.begin(live, opened, None))
            view = await self._publish(call)
            log.debug("call %s: accept took %.0f ms", call["id"], (monotonic() - received) * 1000)
            return view

    async def decline(self, principal: Principal, req: ev.CallRef) -> dict[str, Any]:
        _call, live = await self._ringing_for_callee(principal, req.call_id)
        async with live.lock:
            return await self._finish(live, CallEndReason.DECLINED, party_of(principal))

    async def hangup(self, principal: Principal, req: ev.CallRef) -> dict[str, Any]:
        call = await self.load(principal, req.call_id)
        party = self._require_party(principal, call)
        live = self.live.get(call["id"])
        if call["state"] == CallState.ENDED.value or live is None:
            return call_view(call, None)
        async with live.lock:
            call = await self._record(call["id"])
            if call["state"] == CallState.ENDED.value or live.ended:
                return call_view(call, None)
            return await self._finish(live, machine.hangup_reason(call, party), party)

    # ---- media ----------------------------------------------------------------------------
    async def join(self, principal: Principal, req: ev.CallJoin, sid: str) -> dict[str, Any]:
        """Give the participant's (fresh) peer connection to the relay; answer its offer."""
        try:
            tracks = check_tracks(req.tracks)
        except ValueError as error:
            raise InvalidPayload(str(error), details={"field": "tracks"}) from None
        if not req.offer.startswith("v=0"):
            raise InvalidPayload("offer must be an SDP offer (starting with 'v=0')")
        flags = media_flags(req.media) if req.media is not None else None
        check_offer(req.offer, tracks)
        received = monotonic()
        call, live, party = await self.active(principal, req.call_id)
        self._joins.hit(f"{call['id']}:{party.value}")
        async with live.lock:
            if live.room_id is None and not live.ended:
                raise RelayMoving(MOVING)
            rejoin = live.parties[party].joined
            if machine.join_begins(live, party, monotonic()):
                # The client found its connection broken before we did: the others see
                # "reconnecting" while the new peer connection is set up.
                await self._publish(await self._record(call["id"]))
            assert live.room_id is not None
            asked = monotonic()
            try:
                answer = await self._relay.join(
                    live.room_id, ParticipantId(party.value), req.offer, tracks, replace=rejoin
                )
            except BadOffer as error:
                raise OfferRefused(f"the relay refused the offer: {error.detail}") from None
            except (ValueError, TypeError) as error:
                raise InvalidPayload(str(error)) from None
            except (RelayLost, UnknownRoom):
                # The worker died under this join: the room-closed listener moves the call.
                raise RelayMoving(MOVING) from None
            except RelayError as error:
                log.warning("call %s: relay failed on join: %s", call["id"], error)
                await self._finish(live, CallEndReason.ERROR, None)
                raise RelayUnavailable(f"the call's media relay failed: {error.detail}") from None
            now = monotonic()
            step = machine.joined(live, party, sid=sid, tracks=dict(tracks), flags=flags, now=now)
            if self.metrics is not None and machine.setup_complete(live, party, rejoin):
                self.metrics.call_setup.observe(now - live.started_at)
            log.debug(
                "call %s: relay answered %s in %.0f ms", call["id"], party, (now - asked) * 1000
            )
            await self._apply(live, step)
            view = await self._publish(await self._record(call["id"]))
            log.debug(
                "call %s: join by %s took %.0f ms",
                call["id"],
                party,
                (monotonic() - received) * 1000,
            )
            return {"answer": answer, "call": view}

    async def set_media(self, principal: Principal, req: ev.CallMediaState) -> dict[str, Any]:
        call, live, party = await self.active(principal, req.call_id)
        flags = {"audio": req.audio, "camera": req.camera, "screen": req.screen}
        async with live.lock:
            await self._apply(live, machine.media_changed(live, party, flags, monotonic()))
            await self._publish(await self._record(call["id"]))
            return live.parties[party].media_wire()

    async def _apply(self, live: LiveCall, step: Step) -> None:
        """Do what a transition asks, but publishing: the caller publishes once it is done
        (a transition and what follows it, as one revision). Caller holds live.lock."""
        self._cancel_timers(live, step)
        await self.events.append(live.call_id, step.events)
        self._start_timers(live, step.start)

    def _cancel_timers(self, live: LiveCall, step: Step) -> None:
        for name in step.cancel:
            live.cancel_timer(name)

    def _start_timers(self, live: LiveCall, names: list[str]) -> None:
        for name in names:
            kind, _, side = name.partition(":")
            work: Coroutine[Any, Any, None]
            if kind == "ring":
                work = self._ring_timeout(live)
            elif kind == "reconnect":
                work = self._reconnect_timeout(live, CallParty(side))
            else:
                work = self._check_flow_later(live, CallParty(side))
            live.timers[name] = asyncio.create_task(work, name=f"call-{live.call_id}-{name}")

    # ---- drops and reconnects -------------------------------------------------------------
    async def socket_gone(self, sid: str) -> None:
        """A socket closed: a participant whose media it carried is now reconnecting."""
        for live in list(self.live.values()):
            for party, state in live.parties.items():
                if state.sid == sid and state.link is LinkState.CONNECTED:
                    await self._dropped(live, party, "socket closed")

    async def _dropped(
        self, live: LiveCall, party: CallParty, why: str, *, seen_at: float | None = None
    ) -> None:
        async with live.lock:
            step = machine.dropped(live, party, why, monotonic(), seen_at)
            if step is not None:
                await self._apply(live, step)
                await self._publish(await self._record(live.call_id))

    async def _reconnect_timeout(self, live: LiveCall, party: CallParty) -> None:
        await asyncio.sleep(self.config.reconnect_seconds)
        async with live.lock:
            reason = machine.reconnect_expired(live, party)
            if reason is not None:
                await self._finish(live, reason, None)

    async def resend_state(
        self, chat_id: int, emit: Callable[[dict[str, Any]], Awaitable[None]]
    ) -> None:
        """After a (re)connect: the chat's unfinished call, so a reloaded page can rejoin."""
        async with self.db.read() as conn:
            call = await call_store.unfinished_call_of_chat(conn, chat_id)
        if call is not None:
            await emit(call_view(call, self.live.get(call["id"])))

    # ---- ending ---------------------------------------------------------------------------
    async def end(self, call_id: int, reason: CallEndReason, by: CallParty | None = None) -> None:
        """End a call from outside its events (chat ended, quality, relay lost)."""
        live = self.live.get(call_id)
        if live is None:
            return
        async with live.lock:
            if not live.ended:
                await self._finish(live, reason, by)

    async def chat_ended(self, chat_id: int) -> None:
        for live in list(self.live.values()):
            if live.chat_id == chat_id:
                await self.end(live.call_id, CallEndReason.CHAT_ENDED)

    async def _finish(
        self, live: LiveCall, reason: CallEndReason, by: CallParty | None
    ) -> dict[str, Any]:
        """Record the end, tell both sides, close the relay room. Caller holds live.lock."""
        live.ended = True
        live.cancel_timers()
        if self.metrics is not None:
            self.metrics.calls_ended.labels(reason.value).inc()
        for party in CallParty:
            self._joins.forget(f"{live.call_id}:{party.value}")
        if self.recorder is not None:  # before the room closes: the relay's last writes
            await self.events.append(live.call_id, await self.recorder.ended(live))
        self.live.pop(live.call_id, None)
        await self.shared.forget(live.call_id)
        async with self.db.write() as conn:
            call = await call_store.update_call(
                conn,
                live.call_id,
                {
                    "state": CallState.ENDED.value,
                    "ended_at": utcnow(),
                    "end_reason": reason.value,
                    "ended_by": by.value if by else None,
                    "relay_worker": live.relay_worker,
                    "media_used": live.media_used,
                    "rev": next_rev(live.rev),
                },
            )
            await call_store.add_event(conn, live.call_id, "ended", by, {"reason": reason.value})
            await outbox.call_ended(conn, call)
            chat = await chat_store.chat_by_id(conn, call["chat_id"])
            assert chat is not None
            line = await add_system_message(conn, chat, _summary(call, reason), self._names)
        view = call_view(call, None)
        await self._notifier.to_chat(call["chat_id"], "message", line)
        await self._notifier.to_chat(call["chat_id"], "call.updated", view)
        if live.room_id is not None:
            room, live.room_id = live.room_id, None
            self._spawn(self._close_room(room, live.call_id))
        for listener in self.ended_listeners:
            try:
                await listener(call)
            except Exception:
                log.exception("call-ended listener failed")
        return view

    async def _close_room(self, room: RoomId, call_id: int) -> None:
        try:
            await self._relay.close_room(room, CloseReason.CALL_ENDED)
        except RelayError as error:
            log.info("call %s: closing its relay room: %s", call_id, error)

    def in_room(self, room_id: RoomId, participant_id: str) -> tuple[LiveCall, CallParty] | None:
        """The live call in a relay room, and which of its parties a relay participant is."""
        live = next((c for c in self.live.values() if c.room_id == room_id), None)
        try:
            return (live, CallParty(participant_id)) if live is not None else None
        except ValueError:  # not one of ours
            return None

    def _media_flow(self, event: MediaFlow) -> None:
        """The relay saw a participant's audio, camera or screen stop (or start) arriving."""
        found = self.in_room(event.room_id, event.participant_id)
        if found is not None:
            self._spawn(self._flow_changed(*found, event.role, event.flowing))

    async def _flow_changed(
        self, live: LiveCall, party: CallParty, role: str, flowing: bool
    ) -> None:
        async with live.lock:
            if live.ended:
                return
            machine.flow_changed(live, party, role, flowing)
            await self._show_stalled(live, party)

    async def _show_stalled(self, live: LiveCall, party: CallParty) -> None:
        """Record and show what a participant says it sends but the relay does not get
        (`stalled`), and its return; media its owner turned off is not news. Caller holds
        live.lock."""
        step = machine.stalled(live, party, monotonic())
        if step is not None:
            await self._apply(live, step)
            await self._publish(await self._record(live.call_id))

    async def _check_flow_later(self, live: LiveCall, party: CallParty) -> None:
        """A role just turned on: once the relay has had time to see it, is it there?"""
        await asyncio.sleep(FLOW_GRACE + 0.1)
        async with live.lock:
            if not live.ended:
                await self._show_stalled(live, party)

    def _recording_changed(self, event: RecordingStateEvent) -> None:
        """The relay stopped writing a call's recording (disk full, write error): the call
        goes on, its record and both sides say the recording failed. A lost worker is the
        move's business (recorder.relocated), not a failure."""
        if event.state != "failed" or event.reason == "relay_lost":
            return
        if self.metrics is not None:
            self.metrics.recording_failures.inc()
        live = next((c for c in self.live.values() if c.room_id == event.room_id), None)
        if live is not None and self.recorder is not None:
            self._spawn(self._recording_failed(live, event.reason or "the relay stopped writing"))

    async def _recording_failed(self, live: LiveCall, reason: str) -> None:
        async with live.lock:
            if live.ended or self.recorder is None:
                return
            if await self.recorder.relay_failed(live, reason):
                await self.events.append(
                    live.call_id, [("recording_failed", None, {"reason": reason})]
                )
                await self._publish(await self._record(live.call_id))

    def _participant_link(self, event: ParticipantLink) -> None:
        """The relay saw a participant's peer connection fail or close: reconnecting."""
        found = self.in_room(event.room_id, event.participant_id)
        if event.state in ("failed", "closed") and found is not None:
            why = f"media connection {event.state}"
            self._spawn(self._dropped(*found, why, seen_at=monotonic()))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._closing.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[None]) -> None:
        self._closing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("call background work failed", exc_info=task.exception())

    def _room_closed(self, event: RoomClosed) -> None:
        if event.reason is CloseReason.CALL_ENDED:
            return
        for live in list(self.live.values()):
            if live.room_id == event.room_id:
                live.room_id = None  # nothing left to close
                if event.reason is CloseReason.RELAY_LOST:
                    self._spawn(self._relocate(live, "worker_lost"))
                elif event.reason is CloseReason.RELAY_DRAINED:
                    self._spawn(self._relocate(live, "node_drained"))
                else:
                    self._spawn(self.end(live.call_id, CallEndReason.ERROR))

    # ---- moving to another relay worker ---------------------------------------------------
    async def _relocate(self, live: LiveCall, why: str) -> None:
        """The call's relay worker died (`why` "worker_lost") or its relay node is draining
        ("node_drained"): both sides are told at once ("reconnecting"), a room is opened on
        a live worker (or the dead one's replacement), and a new `relay_session` asks each
        participant to join it with a fresh peer connection. Without a worker within
        `calls.reconnect_seconds` the call ends as `relay_lost`."""
        lost_worker = live.relay_worker
        async with live.lock:
            if live.ended:
                return
            await self._apply(live, machine.relay_lost(live, why, monotonic()))
            await self._publish(await self._record(live.call_id))
        session = live.relay_session + 1
        room = RoomId(f"{room_of(live.call_id)}.{session}")
        worker = await self._open_room_within(room, self.config.reconnect_seconds)
        async with live.lock:
            if live.ended:
                if worker is not None:
                    self._spawn(self._close_room(room, live.call_id))
                return
            if worker is None:
                await self._finish(live, CallEndReason.RELAY_LOST, None)
                return
            step = machine.relay_moved(live, room, worker, session, monotonic())
            if self.recorder is not None:
                step.events += await self.recorder.relocated(live, why)
            await self._apply(live, step)
            await self._publish(await self._record(live.call_id))
            log.warning(
                "call %s: moved from relay worker %s to %s", live.call_id, lost_worker, worker
            )
        for listener in self.moved_listeners:
            try:
                await listener(live)
            except Exception:
                log.exception("call-moved listener failed")

    async def _open_room_within(self, room: RoomId, seconds: float) -> int | None:
        """Open `room` on any live worker, waiting (for a replacement) up to `seconds`."""
        deadline = monotonic() + seconds
        while True:
            try:
                return int(await self._relay.open_room(room))
            except (RelayLost, NoCapacity, RuntimeError, OSError) as error:
                if monotonic() >= deadline:
                    log.error("no relay worker took %s within %.0f s: %s", room, seconds, error)
                    return None
            await asyncio.sleep(0.2)

    async def restore(self) -> None:
        """At startup or take-over. A call whose snapshot another primary left (Redis) goes
        on: this process adopts it. If its relay room is still open its parties' media never
        stopped; if the room went with the old primary's process (its embedded relay node)
        the call moves to another relay, as after any lost worker. Every other unfinished
        call ended with the process that ran it (crashed, killed): it gets its end and its
        transcript line, as a call ended while running would."""
        snapshots = await self._snapshots()
        adopted: list[LiveCall] = []
        reason = CallEndReason.SERVER_SHUTDOWN
        async with self.db.write() as conn:
            for call in await call_store.unfinished_calls(conn):
                snapshot = snapshots.pop(call["id"], None)
                if snapshot is not None:
                    live = adopted_call(snapshot, call, self.config.poor_samples)
                    self.live[live.call_id] = live
                    adopted.append(live)
                    continue
                events = await call_store.events_of(conn, call["id"])
                # Its last sign of life, not now: the outage may have lasted hours.
                last_seen = events[-1]["created_at"] if events else utcnow()
                ended = await call_store.update_call(
                    conn,
                    call["id"],
                    {
                        "state": CallState.ENDED.value,
                        "ended_at": last_seen,
                        "end_reason": reason.value,
                        "media_used": call_store.media_used_of(events),
                        "rev": next_rev(call["rev"]),
                    },
                )
                await call_store.add_event(
                    conn, call["id"], "ended", None, {"reason": reason.value, "restart": True}
                )
                await outbox.call_ended(conn, ended)
                chat = await chat_store.chat_by_id(conn, call["chat_id"])
                if chat is not None:
                    await add_system_message(conn, chat, _summary(ended, reason), self._names)
        for call_id in snapshots:  # ended meanwhile, or unknown to the database
            await self.shared.forget(call_id)
        if adopted:
            open_rooms = await self._open_rooms([live.room_id for live in adopted])
            for live in adopted:
                await self._adopted(live, live.room_id in open_rooms)

    async def _snapshots(self) -> dict[int, dict[str, Any]]:
        """The running calls another primary left, in a shape this version reads."""
        return {
            call_id: snapshot
            for call_id, snapshot in (await self.shared.snapshots()).items()
            if snapshot.get("version") == SNAPSHOT_VERSION
        }

    async def _open_rooms(self, rooms: list[RoomId | None]) -> set[RoomId]:
        """Which of these relay rooms are still open (this client's from now on)."""
        wanted = {room for room in rooms if room is not None}
        try:
            return await asyncio.wait_for(self._relay.adopt_rooms(wanted), ADOPT_SECONDS)
        except (RelayError, OSError, RuntimeError, TimeoutError) as error:
            log.warning("no relay answered which rooms are open: %r", error)
            return set()

    async def _adopted(self, live: LiveCall, room_open: bool) -> None:
        """A call taken over: its timers start afresh (a ringing call rings its full time
        again, a reconnecting party gets its full grace), the log says so, both sides get
        the current state; a call whose room is gone moves to another relay."""
        async with live.lock:
            call = await self._record(live.call_id)
            timers = ["ring"] if call["state"] == CallState.RINGING.value else []
            timers += [
                machine.reconnect_timer(party)
                for party, state in live.parties.items()
                if state.link is LinkState.RECONNECTING
            ]
            self._start_timers(live, timers)
            detail = {"relay_session": live.relay_session, "relay_worker": live.relay_worker}
            await self.events.append(live.call_id, [("adopted", None, detail)])
            if not room_open:
                live.room_id = None  # nothing left to close
            await self._publish(call)
        log.warning(
            "call %s: taken over from the previous primary%s",
            live.call_id,
            "" if room_open else "; its relay room is gone, it moves",
        )
        if not room_open:
            self._spawn(self._relocate(live, "worker_lost"))

    def recordings_running(self) -> set[int]:
        """The recordings of live calls (adopted ones go on: not cut by a restart)."""
        return {live.recording.id for live in self.live.values() if live.recording is not None}

    async def shutdown(self) -> None:
        """The server is stopping. With other signaling processes to take over (`hand_over`,
        Redis), running calls are left to the next primary: their snapshots stay and, where
        their relay rooms are on nodes that stay up, the media never stops. Otherwise every
        running call ends now with `server_shutdown`, both sides told and the transcript
        given its line, rather than vanishing with the relay."""
        if self.hand_over:
            for live in list(self.live.values()):
                live.cancel_timers()
            log.warning("shutdown: %d running call(s) left to the next primary", len(self.live))
            self.live.clear()
            return
        for live in list(self.live.values()):
            await self.end(live.call_id, CallEndReason.SERVER_SHUTDOWN)

    def close(self) -> None:
        """Server shutdown: cancel every timer (the relay closes its rooms itself)."""
        for live in list(self.live.values()):
            live.cancel_timers()


def media_flags(media: dict[str, Any]) -> dict[str, bool]:
    """call.join's optional `media` object: call.media's flags and defaults, checked."""
    unknown = sorted(str(key) for key in media if key not in MEDIA_DEFAULTS)
    if unknown:
        raise InvalidPayload(
            f"media: unknown field(s): {', '.join(unknown)}", details={"field": "media"}
        )
    flags = {**MEDIA_DEFAULTS, **media}
    if not all(isinstance(value, bool) for value in flags.values()):
        raise InvalidPayload("media flags must be true or false", details={"field": "media"})
    return flags


def _summary(call: Record, reason: CallEndReason) -> str:
    """The transcript line for a finished call (the pages translate these sentences)."""
    kind = "Video call" if call["media"] == CallMedia.VIDEO.value else "Audio call"
    if reason is CallEndReason.MISSED:
        return f"Missed {kind.lower()}"
    if reason is CallEndReason.DECLINED:
        return f"{kind} declined"
    if reason is CallEndReason.CANCELLED:
        return f"{kind} cancelled"
    if call["answered_at"] is None:
        return f"{kind} failed: {reason.text}"
    seconds = int((call["ended_at"] - call["answered_at"]).total_seconds())
    return f"{kind} ended ({seconds // 60}:{seconds % 60:02d}): {reason.text}"
