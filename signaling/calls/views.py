"""The Call object of docs/protocol.md §8, built from its record and its live state."""

from __future__ import annotations

from typing import Any

from signaling.calls.live import LiveCall
from signaling.store import Record
from signaling.types import CallEndReason, CallParty, LinkState


def call_view(call: Record, live: LiveCall | None) -> dict[str, Any]:
    reason = CallEndReason(call["end_reason"]) if call["end_reason"] else None
    running = live is not None and not live.ended
    if live is not None and not live.ended:
        participants = {party.value: live.parties[party].media_wire() for party in CallParty}
        quality = {party.value: live.parties[party].quality for party in CallParty}
    else:
        left = {
            "state": LinkState.LEFT.value,
            "audio": False,
            "camera": False,
            "screen": False,
            "stalled": [],
        }
        participants = {party.value: dict(left) for party in CallParty}
        quality = {party.value: None for party in CallParty}
    return {
        "id": call["id"],
        "rev": live.rev if live is not None and running else call["rev"],
        "chat_id": call["chat_id"],
        "ticket_id": call["ticket_id"],
        "media": call["media"],
        "state": call["state"],
        "started_by": call["started_by"],
        "agent_id": call["agent_id"],
        "relay_worker": live.relay_worker if live is not None else call["relay_worker"],
        "relay_session": live.relay_session if live is not None and running else None,
        "created_at": call["created_at"],
        "answered_at": call["answered_at"],
        "ended_at": call["ended_at"],
        "end_reason": reason.value if reason else None,
        "end_reason_text": reason.text if reason else None,
        "ended_by": call["ended_by"],
        # While a call runs its media_used lives in memory (written when it ends).
        "media_used": (
            dict(live.media_used)
            if live is not None and not live.ended and live.media_used
            else call["media_used"]
        ),
        "participants": participants,
        "quality": quality,
        # While the call runs: is it being recorded (the customer's notice says so)?
        "recording": live.recording.wire() if running and live and live.recording else None,
    }


def event_view(event: Record) -> dict[str, Any]:
    return {
        "id": event["id"],
        "kind": event["kind"],
        "actor": event["actor"],
        "at": event["created_at"],
        "detail": event["detail"],
    }


def quality_view(sample: Record) -> dict[str, Any]:
    keys = ("participant", "rtt_ms", "jitter_ms", "loss_pct", "bitrate_kbps", "fps")
    view = {key: sample[key] for key in keys}
    view.update(
        width=sample["width"],
        height=sample["height"],
        mos=sample["mos"],
        level=sample["level"],
        at=sample["created_at"],
    )
    return view
