"""Relay events as JSON objects: one shape for a worker telling its pool and for a relay node
telling signaling over Redis, so both ends parse (and validate) them the same way.

{"event": "room_closed", "room_id", "reason"}
{"event": "participant", "room_id", "participant_id", "state"}
{"event": "media", "room_id", "participant_id", "role", "flowing"}
{"event": "link", "room_id", "participant_id", "rtt_ms", "uplink_loss_pct", "uplink_jitter_ms",
 "downlink_loss_pct", "downlink_jitter_ms"}
{"event": "recording", "room_id", "recording_id", "state", "reason", "bytes", "dropped_bytes"}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from relay.interface import (
    CloseReason,
    LinkReport,
    MediaFlow,
    ParticipantId,
    ParticipantLink,
    RecordingState,
    RoomClosed,
    RoomId,
)

RelayEvent = RoomClosed | ParticipantLink | MediaFlow | RecordingState | LinkReport


def event_to_wire(event: RelayEvent) -> dict[str, Any]:
    if isinstance(event, RoomClosed):
        return {"event": "room_closed", "room_id": event.room_id, "reason": event.reason.value}
    if isinstance(event, ParticipantLink):
        return {
            "event": "participant",
            "room_id": event.room_id,
            "participant_id": event.participant_id,
            "state": event.state,
        }
    if isinstance(event, MediaFlow):
        return {
            "event": "media",
            "room_id": event.room_id,
            "participant_id": event.participant_id,
            "role": event.role,
            "flowing": event.flowing,
        }
    if isinstance(event, LinkReport):
        return {"event": "link", **dataclasses.asdict(event)}
    return {"event": "recording", **dataclasses.asdict(event)}


def event_from_wire(message: Mapping[str, Any]) -> RelayEvent:
    """The event a message carries; ValueError (saying what is wrong) for anything else."""
    try:
        kind = message["event"]
        room_id = RoomId(str(message["room_id"]))
        if kind == "room_closed":
            return RoomClosed(room_id, CloseReason(message["reason"]))
        if kind == "participant":
            participant = ParticipantId(str(message["participant_id"]))
            return ParticipantLink(room_id, participant, str(message["state"]))
        if kind == "media":
            participant = ParticipantId(str(message["participant_id"]))
            return MediaFlow(room_id, participant, message["role"], message["flowing"])
        if kind == "link":
            return LinkReport(
                room_id,
                ParticipantId(str(message["participant_id"])),
                message["rtt_ms"],
                message["uplink_loss_pct"],
                message["uplink_jitter_ms"],
                message["downlink_loss_pct"],
                message["downlink_jitter_ms"],
            )
        if kind == "recording":
            return RecordingState(
                room_id,
                str(message["recording_id"]),
                message["state"],
                message["reason"],
                message["bytes"],
                message["dropped_bytes"],
            )
    except KeyError as missing:
        raise ValueError(f"relay event without {missing}") from None
    raise ValueError(f"unknown relay event {kind!r}")
