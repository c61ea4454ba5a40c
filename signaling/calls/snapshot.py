"""A live call as plain JSON, so another signaling process can take it over: what a new
primary needs to go on serving a call whose relay room outlived the old one (parties'
links and media flags, the relay room and session, the recording). Timers, locks and
monotonic instants are this process's own and are not kept; the adopter starts afresh."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from time import monotonic
from typing import Any

from media.quality import PoorStreak
from relay.interface import RoomId
from signaling.calls.live import LiveCall, PartyLive
from signaling.recordings.recorder import LiveRecording
from signaling.store import Record
from signaling.types import CallParty, Downgrade, LinkState, RecordingState

VERSION = 1
"""Bumped when the shape changes: a snapshot of another version is not adopted."""


def call_snapshot(live: LiveCall) -> dict[str, Any]:
    recording = live.recording
    return {
        "version": VERSION,
        "call_id": live.call_id,
        "chat_id": live.chat_id,
        "org_id": live.org_id,
        "agent_id": live.agent_id,
        "room_id": live.room_id,
        "relay_worker": live.relay_worker,
        "relay_session": live.relay_session,
        "rev": live.rev,
        "downgraded_to": live.downgraded_to.value if live.downgraded_to else None,
        "media_used": dict(live.media_used),
        "parties": {party.value: _party_snapshot(state) for party, state in live.parties.items()},
        "recording": None if recording is None else _recording_snapshot(recording),
    }


def adopted_call(snapshot: dict[str, Any], record: Record, poor_samples: int) -> LiveCall:
    """The LiveCall a snapshot describes, its row as the database has it (`record`)."""
    now = monotonic()
    live = LiveCall(
        call_id=int(snapshot["call_id"]),
        chat_id=int(snapshot["chat_id"]),
        org_id=int(snapshot["org_id"]),
        agent_id=int(snapshot["agent_id"]),
        room_id=RoomId(snapshot["room_id"]) if snapshot["room_id"] else None,
        relay_worker=snapshot["relay_worker"],
        relay_session=int(snapshot["relay_session"]),
        rev=max(int(snapshot["rev"]), int(record["rev"])),
        downgraded_to=Downgrade(snapshot["downgraded_to"]) if snapshot["downgraded_to"] else None,
        media_used={str(k): bool(v) for k, v in snapshot["media_used"].items()},
        record=record,
    )
    for party in CallParty:
        live.parties[party] = _party_from(snapshot["parties"][party.value], now, poor_samples)
    if snapshot["recording"] is not None:
        live.recording = _recording_from(snapshot["recording"], now)
    return live


def _party_snapshot(state: PartyLive) -> dict[str, Any]:
    return {
        "link": state.link.value,
        "audio": state.audio,
        "camera": state.camera,
        "screen": state.screen,
        "sid": state.sid,
        "joined": state.joined,
        "reconnecting": state.dropped_at is not None,
    }


def _party_from(data: dict[str, Any], now: float, poor_samples: int) -> PartyLive:
    state = PartyLive(
        link=LinkState(data["link"]),
        audio=bool(data["audio"]),
        camera=bool(data["camera"]),
        screen=bool(data["screen"]),
        sid=data["sid"],
        joined=bool(data["joined"]),
        joined_at=now,
        dropped_at=now if data["reconnecting"] else None,
        poor=PoorStreak(poor_samples),
    )
    # The relay reports each stream that reaches it within a second: until it does, count
    # every role as flowing rather than show a stall that is only this process's ignorance.
    state.flowing = {role for role in ("audio", "camera", "screen") if data[role]}
    return state


def _recording_snapshot(recording: LiveRecording) -> dict[str, Any]:
    return {
        "id": recording.id,
        "state": recording.state.value,
        "since": recording.since.isoformat(),
        "directory": str(recording.directory),
        "paused": recording.paused_since is not None,
        "paused_ms": recording.paused_ms,
    }


def _recording_from(data: dict[str, Any], now: float) -> LiveRecording:
    """A pause that was running goes on from now: the time between the old process's last
    word and the take-over is not counted as paused (at most a few seconds)."""
    return LiveRecording(
        id=int(data["id"]),
        state=RecordingState(data["state"]),
        since=datetime.fromisoformat(data["since"]),
        directory=Path(data["directory"]),
        paused_since=now if data["paused"] else None,
        paused_ms=int(data["paused_ms"]),
    )
