"""What signaling keeps in memory about a call while it rings or runs (the record is in the
database; this is the part that changes many times a second or needs timers)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from time import monotonic
from typing import TYPE_CHECKING, Any

from media.quality import PoorStreak
from relay.interface import RoomId
from signaling.store import Record

if TYPE_CHECKING:
    from signaling.recordings.recorder import LiveRecording
from signaling.types import CallParty, Downgrade, LinkState

FLOW_GRACE = 4.0
"""Seconds a role may be sent before its absence at the relay counts: the relay reports a
stream within a second of its first packet, and one that stops after 2-3 s of silence."""


@dataclass
class PartyLive:
    link: LinkState = LinkState.INVITED
    audio: bool = False
    camera: bool = False
    screen: bool = False
    sid: str | None = None
    """The socket that last joined the media; its disconnect means "reconnecting"."""
    joined: bool = False
    """Has a peer connection on the relay (so the next join replaces it)."""
    joined_at: float = 0.0
    dropped_at: float | None = None
    quality: dict[str, Any] | None = None
    relay_link: dict[str, Any] | None = None
    """The relay's last measure of this participant's link (a Link, docs/protocol.md)."""
    relay_link_at: float = 0.0
    """When a Link of this participant was last pushed (monotonic)."""
    poor: PoorStreak = field(default_factory=PoorStreak)
    """Set from calls.poor_samples when the call starts."""
    last_pointer_stored: float = 0.0
    flowing: set[str] = field(default_factory=set)
    """Roles whose packets reach the relay now (its media-flow events)."""
    sending_since: dict[str, float] = field(default_factory=dict)
    """When each role's flag last turned on (monotonic): the relay needs a moment to see it."""
    stalled: list[str] = field(default_factory=list)
    """Roles this participant says it sends but the relay has not been getting (as shown)."""

    def stalled_now(self, now: float) -> list[str]:
        """Roles sent for over FLOW_GRACE seconds whose packets are not reaching the relay."""
        sending = {"audio": self.audio, "camera": self.camera, "screen": self.screen}
        return sorted(
            role
            for role, on in sending.items()
            if on
            and role not in self.flowing
            and now - self.sending_since.get(role, now) >= FLOW_GRACE
        )

    def media_wire(self) -> dict[str, Any]:
        return {
            "state": self.link.value,
            "audio": self.audio,
            "camera": self.camera,
            "screen": self.screen,
            "stalled": self.stalled,
        }


@dataclass
class LiveCall:
    call_id: int
    chat_id: int
    org_id: int
    agent_id: int
    room_id: RoomId | None = None
    relay_worker: int | None = None
    parties: dict[CallParty, PartyLive] = field(
        default_factory=lambda: {party: PartyLive() for party in CallParty}
    )
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    timers: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    downgraded_to: Downgrade | None = None
    ended: bool = False
    media_used: dict[str, bool] = field(default_factory=dict)
    """What was ever sent so far; written to the record when the call ends."""
    rev: int = 0
    """The Call's revision (signaling/calls/revision.py), bumped by every published change."""
    relay_session: int = 1
    """Which relay room the participants join; it grows when the call moves to another
    relay worker (its own died), and each participant then joins afresh."""
    recording: LiveRecording | None = None
    """The call's recording while it runs (signaling/recordings/recorder.py)."""
    record: Record | None = None
    started_at: float = field(default_factory=monotonic)
    """When call.start created it (monotonic), for the call setup time in /metrics."""
    """The call's row as this process last wrote it. A live call's row changes only through
    its CallService, under `lock`, so reading it here saves a database round trip per event."""

    def cancel_timer(self, name: str) -> None:
        task = self.timers.pop(name, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def cancel_timers(self) -> None:
        for name in list(self.timers):
            self.cancel_timer(name)
