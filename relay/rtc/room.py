"""A room on one relay worker: its participants and who is forwarded to whom."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from aiortc import RTCConfiguration

from relay.interface import (
    CloseReason,
    NotRecording,
    ParticipantExists,
    ParticipantId,
    RecordingFailed,
    RecordingState,
    RecordingSummary,
    RoomId,
    TrackRole,
    UnknownParticipant,
    UnknownRoom,
)
from relay.packet.codecs import CodecChoice
from relay.rtc.announce import announce_address
from relay.rtc.ice_guard import DropCounters
from relay.rtc.participant import RelayParticipant
from relay.rtc.recorder import RoomRecorder


class Room:
    """Lifecycle: open → closed (close(reason), idempotent, never reused).

    Every publication of one participant is forwarded into a free slot of its role
    (audio, camera, screen) of every other participant, whichever joined first. Joining
    again under the same id replaces the old peer connection (a reconnect: aiortc has no
    ICE restart) only once the new one is answered and checked; the others' slots keep
    their sequence numbering across it.

    While a recording runs (start_recording → stop_recording, or close), every
    publication is recorded, also those of participants who join or rejoin later.
    """

    def __init__(
        self,
        room_id: RoomId,
        configuration: RTCConfiguration,
        on_participant_state: Callable[[ParticipantId, str], None] | None = None,
        drops: DropCounters | None = None,
        public_ip: str = "",
    ) -> None:
        self.room_id = room_id
        self.public_ip = public_ip
        """Announced in every answer besides the worker's own addresses (relay/rtc/announce.py)."""
        self.drops = drops if drops is not None else DropCounters()
        """Datagrams dropped at its participants' sockets (shared with the worker's rooms)."""
        self._configuration = configuration
        self._on_participant_state = on_participant_state
        self.participants: dict[ParticipantId, RelayParticipant] = {}
        self.close_reason: CloseReason | None = None
        self.recorder: RoomRecorder | None = None

    @property
    def peer_connections(self) -> int:
        return sum(1 for p in self.participants.values() if p.pc.connectionState != "closed")

    async def join(
        self,
        participant_id: ParticipantId,
        offer_sdp: str,
        roles: Mapping[str, TrackRole] | None = None,
        *,
        replace: bool = False,
    ) -> str:
        """Answer the offer and forward between the joiner and everyone else.

        A rejoin (`replace`) is checked whole before anything changes: the new peer
        connection is answered and every forwarding it would need is checked while the
        old one keeps forwarding, so a refused offer (BadOffer) leaves the call as it was.
        """
        if participant_id in self.participants and not replace:
            raise ParticipantExists(f"{participant_id} is already in room {self.room_id}")
        report = self._on_participant_state
        participant = RelayParticipant(
            participant_id,
            self._configuration,
            (lambda state: report(participant_id, state)) if report is not None else None,
            self.drops,
        )
        try:
            answer = await participant.answer(offer_sdp, roles, self._receivers(participant_id))
            answer = announce_address(answer, self.public_ip)
            if self.close_reason is not None:
                raise UnknownRoom(f"room {self.room_id} closed while {participant_id} joined")
            if participant_id in self.participants and not replace:  # a concurrent join won
                raise ParticipantExists(f"{participant_id} is already in room {self.room_id}")
            self._check_forwarding(participant)
        except BaseException:
            await participant.close()
            raise
        # The swap itself does not await: nobody sees the room half-swapped.
        old = self.participants.pop(participant_id, None)
        if old is not None:
            for other in self.participants.values():
                other.unsubscribe_from(participant_id)
            if self.recorder is not None:
                self.recorder.remove_participant(old)
        self.participants[participant_id] = participant
        if self.recorder is not None:
            self.recorder.add_participant(participant)
        try:
            for other in self.participants.values():
                if other is participant:
                    continue
                for publication in other.publications:
                    role = other.publication_roles[id(publication)]
                    participant.subscribe(other.participant_id, publication, role)
                for publication in participant.publications:
                    role = participant.publication_roles[id(publication)]
                    other.subscribe(participant_id, publication, role)
        except BaseException:
            if self.participants.get(participant_id) is participant:
                await self.leave(participant_id)
            raise
        finally:
            if old is not None:
                await old.close()
        return answer

    def _check_forwarding(self, joining: RelayParticipant) -> None:
        """BadOffer if a publication would go into a slot that cannot receive its codec, in
        either direction, exactly as join() is about to fill the slots (the joiner's old
        peer connection, if any, counts as gone)."""
        joiner = joining.participant_id
        joining_free = joining.free_slots()
        for other in self.participants.values():
            if other.participant_id == joiner:
                continue
            for publication in other.publications:
                role = other.publication_roles[id(publication)]
                joining.check_subscription(other.participant_id, publication, role, joining_free)
            other_free = other.free_slots(freed_by=joiner)
            for publication in joining.publications:
                role = joining.publication_roles[id(publication)]
                other.check_subscription(joiner, publication, role, other_free)

    def _receivers(self, joining: ParticipantId) -> dict[TrackRole, list[tuple[CodecChoice, ...]]]:
        """Per role, what the others' receiving m-lines accept (a joiner should send that)."""
        receivers: dict[TrackRole, list[tuple[CodecChoice, ...]]] = {}
        for other in self.participants.values():
            if other.participant_id == joining:
                continue
            for slot in other.slots:
                receivers.setdefault(slot.role, []).append(slot.codecs)
        return receivers

    async def leave(self, participant_id: ParticipantId) -> None:
        participant = self.participants.pop(participant_id, None)
        if participant is None:
            raise UnknownParticipant(f"{participant_id} is not in room {self.room_id}")
        for other in self.participants.values():
            other.unsubscribe_from(participant_id)
        if self.recorder is not None:
            self.recorder.remove_participant(participant)
        await participant.close()

    async def start_recording(
        self,
        recording_id: str,
        directory: Path,
        on_state: Callable[[RecordingState], None],
    ) -> None:
        """RecordingFailed if the directory is unusable or another recording runs here."""
        if self.close_reason is not None:
            raise UnknownRoom(f"room {self.room_id} is closed")
        recorder = self.recorder
        if recorder is not None and not recorder.stopped:
            if recorder.recording_id == recording_id and recorder.directory == directory:
                return
            raise RecordingFailed(f"room {self.room_id} records {recorder.recording_id} already")
        recorder = RoomRecorder(self.room_id, recording_id, directory, on_state)
        self.recorder = recorder
        try:
            await recorder.start(self.participants.values())  # live: joins meanwhile count
        except BaseException:
            if self.recorder is recorder:
                self.recorder = None
            await recorder.stop()
            raise
        if self.close_reason is not None:  # closed while the directory was prepared
            await recorder.stop()

    def _recording(self) -> RoomRecorder:
        if self.recorder is None:
            raise NotRecording(f"room {self.room_id} is not recording")
        return self.recorder

    def pause_recording(self) -> None:
        self._recording().pause()

    def resume_recording(self) -> None:
        self._recording().resume()

    async def stop_recording(self) -> RecordingSummary:
        return await self._recording().stop()

    async def close(self, reason: CloseReason) -> None:
        if self.close_reason is not None:
            return
        self.close_reason = reason
        if self.recorder is not None:
            await self.recorder.stop()
        for participant_id in list(self.participants):
            await self.leave(participant_id)
