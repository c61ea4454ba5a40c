"""What a RelayControl tells its listeners, kept in one place for both implementations (the
embedded RelayPool and ClusterRelay over Redis): the five kinds of listener, the running
recording of each room (a room lost while recording reports that recording failed), and
that a listener which raises is logged without keeping the event from the others."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import TypeVar

from relay.control.event_wire import RelayEvent
from relay.interface import (
    CloseReason,
    LinkListener,
    LinkReport,
    MediaFlow,
    MediaFlowListener,
    ParticipantLink,
    ParticipantListener,
    RecordingListener,
    RecordingState,
    RoomClosed,
    RoomClosedListener,
    RoomId,
)

logger = logging.getLogger(__name__)
E = TypeVar("E")


class RelayListeners:
    def __init__(self) -> None:
        self._room_listeners: list[RoomClosedListener] = []
        self._participant_listeners: list[ParticipantListener] = []
        self._media_listeners: list[MediaFlowListener] = []
        self._recording_listeners: list[RecordingListener] = []
        self._link_listeners: list[LinkListener] = []
        self._recordings: dict[RoomId, RecordingState] = {}
        """The last state of each open room's running recording."""

    def add_room_closed_listener(self, listener: RoomClosedListener) -> None:
        self._room_listeners.append(listener)

    def add_participant_listener(self, listener: ParticipantListener) -> None:
        self._participant_listeners.append(listener)

    def add_media_flow_listener(self, listener: MediaFlowListener) -> None:
        self._media_listeners.append(listener)

    def add_recording_listener(self, listener: RecordingListener) -> None:
        self._recording_listeners.append(listener)

    def add_link_listener(self, listener: LinkListener) -> None:
        self._link_listeners.append(listener)

    def tell(self, event: RelayEvent, *, room_open: bool = True) -> None:
        """An event from the relay (RoomClosed goes through room_closed instead)."""
        if isinstance(event, RecordingState):
            if event.state == "stopped":
                self._recordings.pop(event.room_id, None)
            elif room_open:
                self._recordings[event.room_id] = event
            _notify(self._recording_listeners, event, "recording")
        elif isinstance(event, MediaFlow):
            _notify(self._media_listeners, event, "media flow")
        elif isinstance(event, LinkReport):
            _notify(self._link_listeners, event, "link")
        elif isinstance(event, ParticipantLink):
            _notify(self._participant_listeners, event, "participant")
        elif isinstance(event, RoomClosed):
            self.room_closed(event.room_id, event.reason)

    def room_closed(self, room_id: RoomId, reason: CloseReason) -> None:
        recording = self._recordings.pop(room_id, None)
        if recording is not None and reason is CloseReason.RELAY_LOST:
            failed = dataclasses.replace(recording, state="failed", reason=reason.value)
            _notify(self._recording_listeners, failed, "recording")
        _notify(self._room_listeners, RoomClosed(room_id, reason), "room-closed")


def _notify(listeners: list[Callable[[E], None]], event: E, kind: str) -> None:
    for listener in list(listeners):
        try:
            listener(event)
        except Exception:
            logger.exception("%s listener failed", kind)
