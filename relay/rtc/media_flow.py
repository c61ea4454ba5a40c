"""Notice when a participant's published media stops reaching the relay, and when it is back.

A call can show "connected" while no media arrives (a flood, a dead encoder, a camera
switched off without telling anyone); quality reporting needs to say so. The check runs
once a second per worker, off the hot path: it compares each publication's packet count
(Forwarder.received, incremented anyway) with the previous check, so a packet costs
nothing more, not even a clock read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from relay.interface import MediaFlow, ParticipantId, RoomId, TrackRole
from relay.rtc.periodic import Periodic
from relay.rtc.room import Room

logger = logging.getLogger(__name__)

FlowListener = Callable[[MediaFlow], None]


@dataclass(slots=True)
class _Flow:
    publications: frozenset[int]
    """id() of the publications counted last time (a rejoin brings new ones)."""
    received: int
    quiet_checks: int
    flowing: bool


class MediaFlowMonitor:
    """Lifecycle: start() → stop() (idempotent); check() is one pass, for tests.

    Per (room, participant, role): `flowing` becomes true at the first check that sees a
    new packet (so within `interval` of the first one or of a resumption) and false after
    `quiet_checks` consecutive checks saw none (2 checks 1 s apart: 2 to 3 s of silence).
    A rejoin's new publications carry on the same state: continuous media across a
    reconnect reports nothing. A participant that leaves is forgotten without an event
    (its leave is news of its own).
    """

    def __init__(
        self,
        rooms: Callable[[], Iterable[Room]],
        on_change: FlowListener,
        *,
        interval: float = 1.0,
        quiet_checks: int = 2,
    ) -> None:
        if quiet_checks < 1:
            raise ValueError("quiet_checks must be at least 1")
        self._rooms = rooms
        self._on_change = on_change
        self._quiet_checks = quiet_checks
        self._flows: dict[tuple[RoomId, ParticipantId, TrackRole], _Flow] = {}
        self._timer = Periodic(self.check, interval, "media flow check")

    def start(self) -> None:
        self._timer.start()

    async def stop(self) -> None:
        await self._timer.stop()

    def check(self) -> None:
        """Compare every publication's packet count with the last check; report changes."""
        seen: set[tuple[RoomId, ParticipantId, TrackRole]] = set()
        for room in self._rooms():
            for participant_id, participant in list(room.participants.items()):
                totals: dict[TrackRole, tuple[int, set[int]]] = {}
                for publication in participant.publications:
                    role = participant.publication_roles[id(publication)]
                    received, ids = totals.get(role, (0, set()))
                    ids.add(id(publication))
                    totals[role] = (received + publication.forwarder.received, ids)
                for role, (received, ids) in totals.items():
                    key = (room.room_id, participant_id, role)
                    seen.add(key)
                    self._update(key, received, frozenset(ids))
        for key in [k for k in self._flows if k not in seen]:
            del self._flows[key]

    def _update(
        self, key: tuple[RoomId, ParticipantId, TrackRole], received: int, ids: frozenset[int]
    ) -> None:
        flow = self._flows.get(key)
        if flow is None:
            flow = self._flows[key] = _Flow(ids, 0, 0, False)
        # New publications (a rejoin) count from zero: any packet of theirs is news.
        active = received > 0 if ids != flow.publications else received != flow.received
        flow.publications, flow.received = ids, received
        if active:
            flow.quiet_checks = 0
            if not flow.flowing:
                flow.flowing = True
                self._emit(key, True)
        elif flow.flowing:
            flow.quiet_checks += 1
            if flow.quiet_checks >= self._quiet_checks:
                flow.flowing = False
                self._emit(key, False)

    def _emit(self, key: tuple[RoomId, ParticipantId, TrackRole], flowing: bool) -> None:
        room_id, participant_id, role = key
        try:
            self._on_change(MediaFlow(room_id, participant_id, role, flowing))
        except Exception:
            logger.exception("media flow listener failed")
