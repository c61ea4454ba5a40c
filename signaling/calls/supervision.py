"""A supervisor (an admin of the call's organisation, or a supervisor of a group the call's
agent is in) in a live call: monitor (receives both
sides, heard by nobody, the customer not told), whisper (the agent hears them) and barge
(both hear them; the customer is told). The relay routes the supervisor's voice by mode
(set_audience); signaling keeps who supervises which call, tells the agent of a whisper or
barge and the customer only of a barge, and writes each change to the call's event log and
the audit log. One supervisor per call at a time."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from relay.interface import BadOffer, ParticipantId, RelayError
from signaling.auth import access
from signaling.auth.actor import Actor
from signaling.auth.tokens import Principal
from signaling.calls.ice_servers import IceServers
from signaling.calls.live import LiveCall
from signaling.calls.offer import OfferRefused
from signaling.calls.service import CallService
from signaling.calls.supervisor_offer import check_supervisor_offer
from signaling.db.database import Database
from signaling.errors import Conflict, NotFound
from signaling.protocol import events as ev
from signaling.protocol.notifier import Notifier
from signaling.store import Record
from signaling.store import chats as chat_store
from signaling.store import orgs as org_store
from signaling.transcript.views import NameBook
from signaling.types import CallParty, CallState, Role, SupervisionMode

log = logging.getLogger(__name__)

SUPERVISORS = (Role.ADMIN, Role.SUPERVISOR)
AUDIENCE: dict[SupervisionMode, tuple[ParticipantId, ...] | None] = {
    SupervisionMode.MONITOR: (),
    SupervisionMode.WHISPER: (ParticipantId(CallParty.AGENT.value),),
    SupervisionMode.BARGE: None,
}
"""Who hears the supervisor in each mode (None: everyone in the room)."""


@dataclass
class Supervisor:
    user_id: int
    name: str
    sid: str
    mode: SupervisionMode
    relay_session: int

    @property
    def participant(self) -> ParticipantId:
        return ParticipantId(f"supervisor-{self.user_id}")

    def to_wire(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "name": self.name, "mode": self.mode.value}


class SupervisionService:
    def __init__(
        self,
        calls: CallService,
        db: Database,
        notifier: Notifier,
        names: NameBook,
        ice: IceServers | None = None,
    ) -> None:
        self._calls = calls
        self._ice = ice or IceServers([])
        self._db = db
        self._notifier = notifier
        self._names = names
        self.supervising: dict[int, Supervisor] = {}
        """By call id."""
        calls.ended_listeners.append(self._call_ended)
        calls.moved_listeners.append(self._call_moved)

    # ---- what a supervisor may see ----------------------------------------------------------
    async def live_calls(self, principal: Principal) -> dict[str, Any]:
        """supervise.list: the active calls this supervisor may join, with who supervises."""
        access.require_role(principal, *SUPERVISORS)
        calls = []
        async with self._db.read() as conn:
            teams = await self._teams(conn, principal)
            for live in list(self._calls.live.values()):
                record = live.record
                if live.org_id != principal.org_id or live.ended or record is None:
                    continue
                if record["state"] != CallState.ACTIVE.value:
                    continue
                if not await self._oversees(conn, teams, live.agent_id):
                    continue
                chat = await chat_store.chat_by_id(conn, live.chat_id)
                if chat is None:
                    continue
                supervisor = self.supervising.get(live.call_id)
                calls.append(
                    {
                        "call_id": live.call_id,
                        "chat_id": live.chat_id,
                        "agent_id": live.agent_id,
                        "agent_name": await self._names.user(conn, live.agent_id),
                        "customer_name": await self._names.customer(conn, chat["customer_id"]),
                        "answered_at": record["answered_at"],
                        "participants": {
                            party.value: live.parties[party].media_wire() for party in CallParty
                        },
                        "supervisor": supervisor.to_wire() if supervisor else None,
                    }
                )
        return {"calls": sorted(calls, key=lambda c: c["call_id"])}

    async def _teams(self, conn: AsyncConnection, principal: Principal) -> set[int] | None:
        """The groups whose agents' calls `principal` supervises (None: all, an admin)."""
        if principal.role is Role.ADMIN:
            return None
        return await org_store.group_ids_of(conn, principal.subject_id)

    async def _oversees(self, conn: AsyncConnection, teams: set[int] | None, agent_id: int) -> bool:
        return teams is None or bool(teams & await org_store.group_ids_of(conn, agent_id))

    async def _live(self, principal: Principal, call_id: int) -> LiveCall:
        access.require_role(principal, *SUPERVISORS)
        live = self._calls.live.get(call_id)
        if live is None or live.org_id != principal.org_id or live.ended:
            raise NotFound(f"no live call {call_id}")
        async with self._db.read() as conn:
            if not await self._oversees(conn, await self._teams(conn, principal), live.agent_id):
                raise NotFound(f"no live call {call_id}")
        if live.record is None or live.record["state"] != CallState.ACTIVE.value:
            raise Conflict(f"call {call_id} is not active")
        return live

    async def ice_servers(self, principal: Principal, req: ev.CallRef) -> dict[str, Any]:
        """supervise.ice_servers: STUN/TURN for the supervisor's peer connection, the TURN
        credential naming the call and the supervisor ("call-12-supervisor-7")."""
        live = await self._live(principal, req.call_id)
        return self._ice.for_holder(f"call-{live.call_id}-supervisor-{principal.subject_id}")

    # ---- joining, switching, leaving --------------------------------------------------------
    async def join(
        self, principal: Principal, req: ev.SuperviseJoin, sid: str, actor: Actor
    ) -> dict[str, Any]:
        """Give the supervisor's offer to the call's relay room; answer it. Who may comes
        first: someone who may not learns nothing, not even what their offer lacks."""
        live = await self._live(principal, req.call_id)
        tracks, sources = check_supervisor_offer(req.offer, req.tracks, req.sources)
        async with live.lock:
            current = self.supervising.get(live.call_id)
            if current is not None and current.user_id != principal.subject_id:
                raise Conflict(f"{current.name} already supervises call {live.call_id}")
            if live.room_id is None:
                raise Conflict("the call is moving to another relay worker; try again")
            async with self._db.read() as conn:
                name = await self._names.user(conn, principal.subject_id) or "Supervisor"
            supervisor = Supervisor(principal.subject_id, name, sid, req.mode, live.relay_session)
            try:
                answer = await self._calls.relay.join(
                    live.room_id,
                    supervisor.participant,
                    req.offer,
                    tracks,
                    replace=current is not None,
                    sources=sources,
                    audience=AUDIENCE[req.mode],
                    recorded=False,
                )
            except BadOffer as error:
                raise OfferRefused(f"the relay refused the offer: {error.detail}") from None
            except RelayError as error:
                raise Conflict(f"the call's relay did not take the supervisor: {error}") from None
            self.supervising[live.call_id] = supervisor
            await self._changed(live, supervisor, actor, previous=current)
            return {"answer": answer, "supervisor": supervisor.to_wire()}

    async def set_mode(
        self, principal: Principal, req: ev.SuperviseMode, actor: Actor
    ) -> dict[str, Any]:
        live = await self._live(principal, req.call_id)
        async with live.lock:
            supervisor = self._own(principal, live)
            if supervisor.mode is req.mode:
                return supervisor.to_wire()
            assert live.room_id is not None
            await self._calls.relay.set_audience(
                live.room_id, supervisor.participant, AUDIENCE[req.mode]
            )
            previous = dataclasses.replace(supervisor)
            supervisor.mode = req.mode
            await self._changed(live, supervisor, actor, previous=previous)
            return supervisor.to_wire()

    async def leave(self, principal: Principal, req: ev.CallRef, actor: Actor) -> dict[str, Any]:
        live = await self._live(principal, req.call_id)
        async with live.lock:
            supervisor = self._own(principal, live)
            await self._remove(live, supervisor, "left")
            await self._audit(actor, live, "supervisor.left", supervisor)
        return {"call_id": live.call_id, "supervisor": None}

    def _own(self, principal: Principal, live: LiveCall) -> Supervisor:
        supervisor = self.supervising.get(live.call_id)
        if supervisor is None or supervisor.user_id != principal.subject_id:
            raise Conflict(f"you do not supervise call {live.call_id}; supervise.join first")
        return supervisor

    async def socket_gone(self, sid: str) -> None:
        """A supervisor's console closed: they leave whatever call they were in."""
        for call_id, supervisor in list(self.supervising.items()):
            live = self._calls.live.get(call_id)
            if supervisor.sid != sid or live is None:
                continue
            async with live.lock:
                if self.supervising.get(call_id) is supervisor:
                    await self._remove(live, supervisor, "disconnected")

    # ---- telling people ---------------------------------------------------------------------
    async def _changed(
        self, live: LiveCall, supervisor: Supervisor, actor: Actor, previous: Supervisor | None
    ) -> None:
        """Log the new mode, and tell whoever may know: the agent of a whisper or barge, the
        customer of a barge only. Never the customer of a monitor or whisper."""
        mode = supervisor.mode
        await self._calls.events.append(
            live.call_id, [(f"supervisor_{mode.value}", None, supervisor.to_wire())]
        )
        await self._audit(actor, live, f"supervisor.{mode.value}", supervisor)
        was = previous.mode if previous is not None else SupervisionMode.MONITOR
        if mode is not SupervisionMode.MONITOR or was is not SupervisionMode.MONITOR:
            await self._tell_agent(live, supervisor.to_wire())
        if mode is SupervisionMode.BARGE or was is SupervisionMode.BARGE:
            shown = supervisor.to_wire() if mode is SupervisionMode.BARGE else None
            await self._notifier.to_customer(
                live.chat_id, "call.supervisor", {"call_id": live.call_id, "supervisor": shown}
            )

    async def _tell_agent(self, live: LiveCall, supervisor: dict[str, Any] | None) -> None:
        await self._notifier.to_user(
            live.agent_id, "call.supervisor", {"call_id": live.call_id, "supervisor": supervisor}
        )

    async def _remove(self, live: LiveCall, supervisor: Supervisor, why: str) -> None:
        self.supervising.pop(live.call_id, None)
        if live.room_id is not None and supervisor.relay_session == live.relay_session:
            try:
                await self._calls.relay.leave(live.room_id, supervisor.participant)
            except RelayError as error:
                log.info("call %s: supervisor leaving the relay: %s", live.call_id, error)
        await self._calls.events.append(
            live.call_id, [("supervisor_left", None, {**supervisor.to_wire(), "why": why})]
        )
        if supervisor.mode is not SupervisionMode.MONITOR:
            await self._tell_agent(live, None)
        if supervisor.mode is SupervisionMode.BARGE:
            await self._notifier.to_customer(
                live.chat_id, "call.supervisor", {"call_id": live.call_id, "supervisor": None}
            )

    async def _audit(
        self, actor: Actor, live: LiveCall, action: str, supervisor: Supervisor
    ) -> None:
        async with self._db.write() as conn:
            await actor.audit(
                conn,
                action,
                target_type="call",
                target_id=live.call_id,
                detail=supervisor.to_wire(),
            )

    async def _ended_for_supervisor(self, call_id: int, why: str) -> None:
        supervisor = self.supervising.pop(call_id, None)
        if supervisor is not None:
            await self._notifier.to_user(
                supervisor.user_id, "supervise.ended", {"call_id": call_id, "why": why}
            )

    async def _call_ended(self, call: Record) -> None:
        await self._ended_for_supervisor(call["id"], "call_ended")

    async def _call_moved(self, live: LiveCall) -> None:
        """The call moved to another relay worker: the supervisor's peer connection died with
        the old one; they are told and may supervise.join again."""
        await self._ended_for_supervisor(live.call_id, "relay_moved")
