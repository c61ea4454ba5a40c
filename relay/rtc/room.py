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

    Per-participant rules (a supervisor): an `audience` limits who receives a
    participant's publications (set_audience changes it live: monitor → whisper → barge),
    `sources` pin a joiner's receiving m-lines to one participant each, and `recorded`
    False keeps a participant out of the recording.
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
        self.audiences: dict[ParticipantId, frozenset[ParticipantId] | None] = {}
        """Who receives each participant's publications (absent or None: everyone)."""
        self.unrecorded: set[ParticipantId] = set()

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
        sources: Mapping[str, ParticipantId] | None = None,
        audience: frozenset[ParticipantId] | None = None,
        recorded: bool = True,
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
            answer = await participant.answer(
                offer_sdp, roles, self._receivers(participant_id), sources
            )
            answer = announce_address(answer, self.public_ip)
            if self.close_reason is not None:
                raise UnknownRoom(f"room {self.room_id} closed while {participant_id} joined")
            if participant_id in self.participants and not replace:  # a concurrent join won
                raise ParticipantExists(f"{participant_id} is already in room {self.room_id}")
            self._check_forwarding(participant, audience)
        except BaseException:
            await participant.close()
            raise
        # The swap itself does not await: nobody sees the room half-swapped.
        old = self.participants.pop(participant_id, None)
        if old is not None:
            for other in self.participants.values():
                other.unsubscribe_from(participant_id)
            if self.recorder is not None and participant_id not in self.unrecorded:
                self.recorder.remove_participant(old)
        self.participants[participant_id] = participant
        self.audiences[participant_id] = audience
        if recorded:
            self.unrecorded.discard(participant_id)
        else:
            self.unrecorded.add(participant_id)
        if self.recorder is not None and recorded:
            self.recorder.add_participant(participant)
        try:
            for other in self.participants.values():
                if other is participant:
                    continue
                if self.forwards(other.participant_id, participant_id):
                    self._forward_all(other, participant)
                if self.forwards(participant_id, other.participant_id):
                    self._forward_all(participant, other)
        except BaseException:
            if self.participants.get(participant_id) is participant:
                await self.leave(participant_id)
            raise
        finally:
            if old is not None:
                await old.close()
        return answer

    def forwards(self, source: ParticipantId, receiver: ParticipantId) -> bool:
        """Whether `receiver` gets `source`'s publications (its audience rule)."""
        audience = self.audiences.get(source)
        return audience is None or receiver in audience

    @staticmethod
    def _forward_all(source: RelayParticipant, receiver: RelayParticipant) -> None:
        for publication in source.publications:
            role = source.publication_roles[id(publication)]
            receiver.subscribe(source.participant_id, publication, role)

    def set_audience(
        self, participant_id: ParticipantId, audience: frozenset[ParticipantId] | None
    ) -> None:
        """Forward the participant's publications to `audience` only (None: everyone),
        starting and stopping forwarding at once; the others' slots keep their numbering."""
        source = self.participants.get(participant_id)
        if source is None:
            raise UnknownParticipant(f"{participant_id} is not in room {self.room_id}")
        self.audiences[participant_id] = audience
        for other in self.participants.values():
            if other is source:
                continue
            fed = any(slot.source == participant_id for slot in other.slots)
            wanted = self.forwards(participant_id, other.participant_id)
            if wanted and not fed:
                free = other.free_slots()
                for publication in source.publications:
                    role = source.publication_roles[id(publication)]
                    other.check_subscription(participant_id, publication, role, free)
                self._forward_all(source, other)
            elif fed and not wanted:
                other.unsubscribe_from(participant_id)

    def _check_forwarding(
        self, joining: RelayParticipant, audience: frozenset[ParticipantId] | None
    ) -> None:
        """BadOffer if a publication would go into a slot that cannot receive its codec, in
        either direction, exactly as join() is about to fill the slots (the joiner's old
        peer connection, if any, counts as gone)."""
        joiner = joining.participant_id
        joining_free = joining.free_slots()
        for other in self.participants.values():
            if other.participant_id == joiner:
                continue
            if self.forwards(other.participant_id, joiner):
                for publication in other.publications:
                    role = other.publication_roles[id(publication)]
                    joining.check_subscription(
                        other.participant_id, publication, role, joining_free
                    )
            if audience is not None and other.participant_id not in audience:
                continue
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
        self.audiences.pop(participant_id, None)
        for other in self.participants.values():
            other.unsubscribe_from(participant_id)
        if self.recorder is not None and participant_id not in self.unrecorded:
            self.recorder.remove_participant(participant)
        self.unrecorded.discard(participant_id)
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
            # Read after the directory is ready (a generator): joins meanwhile count.
            await recorder.start(
                p for p in self.participants.values() if p.participant_id not in self.unrecorded
            )
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
