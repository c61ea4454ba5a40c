"""The call's rules without I/O: which transitions are allowed, what each one changes in the
live state, which events it logs and which timers it starts or stops. CallService (the
coordinator) takes the call's lock, asks these functions, then does the writing, telling,
relay requests and timers they name. `now` is always passed in (monotonic seconds), so the
rules run, and are tested, without a loop, a database or a clock.

Timer names: "ring", "reconnect:<party>" (a dropped participant's grace) and
"flow:<party>" (a role just turned on: is the relay getting it?)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from signaling.calls.event_log import CallEvent
from signaling.calls.live import LiveCall
from signaling.errors import Conflict
from signaling.types import CallEndReason, CallParty, CallState, LinkState


@dataclass
class Step:
    """What a transition asks the coordinator to do, in this order: cancel timers, log
    `events` (before telling anyone), publish the new revision, start timers."""

    events: list[CallEvent] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)
    start: list[str] = field(default_factory=list)
    publish: bool = True


def reconnect_timer(party: CallParty) -> str:
    return f"reconnect:{party.value}"


def flow_timer(party: CallParty) -> str:
    return f"flow:{party.value}"


# ---- ringing ---------------------------------------------------------------------------------
def check_answerable(call: dict[str, Any], live: LiveCall | None, party: CallParty) -> LiveCall:
    """The ringing call `party` may accept or decline (not the caller's own)."""
    if call["state"] != CallState.RINGING.value or live is None or live.ended:
        raise Conflict(f"the call is {call['state']}, not ringing")
    if call["started_by"] == party.value:
        raise Conflict("the caller cannot answer their own call")
    return live


def accepted(live: LiveCall, party: CallParty) -> Step:
    live.parties[party].link = LinkState.CONNECTING
    return Step(events=[("accepted", party, {})], cancel=["ring"])


def hangup_reason(call: dict[str, Any], party: CallParty) -> CallEndReason:
    """A hang-up while ringing cancels (caller) or declines (callee) the call."""
    if call["state"] == CallState.RINGING.value:
        if call["started_by"] == party.value:
            return CallEndReason.CANCELLED
        return CallEndReason.DECLINED
    return CallEndReason.HUNG_UP


def ring_expired(call: dict[str, Any], live: LiveCall) -> CallEndReason | None:
    if call["state"] == CallState.RINGING.value and not live.ended:
        return CallEndReason.MISSED
    return None


# ---- joining the relay -----------------------------------------------------------------------
def join_begins(live: LiveCall, party: CallParty, now: float) -> bool:
    """A participant offers a peer connection. True if the others must be shown that its
    current one is being replaced ("reconnecting") while the relay answers."""
    if live.ended:
        raise Conflict("the call has ended")
    me = live.parties[party]
    if me.joined and me.link is LinkState.CONNECTED:
        me.link = LinkState.RECONNECTING
        me.dropped_at = now
        return True
    return False


def joined(
    live: LiveCall,
    party: CallParty,
    *,
    sid: str,
    tracks: dict[str, str],
    flags: dict[str, bool] | None,
    now: float,
) -> Step:
    """The relay answered the participant's offer: connected (again)."""
    me = live.parties[party]
    rejoin = me.joined
    gap_ms = round((now - me.dropped_at) * 1000) if me.dropped_at is not None else None
    was = me.link
    me.joined, me.joined_at, me.sid = True, now, sid
    me.link, me.dropped_at = LinkState.CONNECTED, None
    detail: dict[str, Any] = {"tracks": dict(tracks)}
    if rejoin:
        detail.update(gap_ms=gap_ms, was=was.value)
    step = Step(
        events=[("reconnected" if rejoin else "joined", party, detail)],
        cancel=[reconnect_timer(party)],
    )
    if flags is not None:  # the join and the first media flags are one transition
        media = media_changed(live, party, flags, now)
        step.events += media.events
        step.cancel += media.cancel
        step.start += media.start
    return step


def setup_complete(live: LiveCall, party: CallParty, rejoin: bool) -> bool:
    """This first join was the last one missing: the call's setup time ends now."""
    return not rejoin and all(p.joined for p in live.parties.values())


def media_changed(live: LiveCall, party: CallParty, flags: dict[str, bool], now: float) -> Step:
    """A participant's audio/camera/screen flags; a role turned on is checked for flow later."""
    for key, on in flags.items():
        live.media_used[key] = live.media_used.get(key, False) or on
    me = live.parties[party]
    was = {"audio": me.audio, "camera": me.camera, "screen": me.screen}
    me.audio, me.camera, me.screen = flags["audio"], flags["camera"], flags["screen"]
    turned_on = [role for role, on in flags.items() if on and not was[role]]
    for role in turned_on:
        me.sending_since[role] = now
    me.stalled = [role for role in me.stalled if flags[role]]  # turned off: not news
    step = Step(events=[("media", party, dict(flags))])
    if turned_on:
        step.cancel.append(flow_timer(party))
        step.start.append(flow_timer(party))
    return step


# ---- drops, reconnects, relay trouble --------------------------------------------------------
def dropped(
    live: LiveCall, party: CallParty, why: str, now: float, seen_at: float | None = None
) -> Step | None:
    """A connected participant's socket or peer connection went away: reconnecting, with
    calls.reconnect_seconds to come back. None if that is old news."""
    state = live.parties[party]
    if live.ended or state.link is not LinkState.CONNECTED:
        return None
    if seen_at is not None and state.joined_at > seen_at:
        return None  # about a peer connection that a rejoin has already replaced
    state.link, state.dropped_at, state.sid = LinkState.RECONNECTING, now, None
    return Step(events=[("reconnecting", party, {"why": why})], start=[reconnect_timer(party)])


def reconnect_expired(live: LiveCall, party: CallParty) -> CallEndReason | None:
    """The grace ran out: still without a relay room, the relay is what failed."""
    if live.ended or live.parties[party].link is not LinkState.RECONNECTING:
        return None
    return CallEndReason.RELAY_LOST if live.room_id is None else CallEndReason.NETWORK_LOST


def relay_lost(live: LiveCall, why: str, now: float) -> Step:
    """The call's relay room is gone (worker lost, node drained): everyone reconnecting."""
    step = Step(events=[("relay_lost", None, {"worker": live.relay_worker, "why": why})])
    for party, state in live.parties.items():
        if state.link is LinkState.CONNECTED:
            state.link, state.dropped_at = LinkState.RECONNECTING, now
            step.start.append(reconnect_timer(party))
    return step


def relay_moved(live: LiveCall, room: Any, worker: int, session: int, now: float) -> Step:
    """A room on another worker took the call: each participant joins it afresh."""
    detail = {"from_worker": live.relay_worker, "to_worker": worker, "relay_session": session}
    live.room_id, live.relay_worker, live.relay_session = room, worker, session
    for state in live.parties.values():
        state.joined = False  # the next join is a first join in the new room
        state.flowing.clear()  # the new room reports each stream from its first packet
        state.sending_since = dict.fromkeys(state.sending_since, now)
    return Step(events=[("relay_moved", None, detail)])


def flow_changed(live: LiveCall, party: CallParty, role: str, flowing: bool) -> None:
    me = live.parties[party]
    (me.flowing.add if flowing else me.flowing.discard)(role)


def stalled(live: LiveCall, party: CallParty, now: float) -> Step | None:
    """What a participant says it sends but the relay does not get (`stalled`), and its
    return; None when nothing changed."""
    me = live.parties[party]
    current = me.stalled_now(now)
    if current == me.stalled:
        return None
    events: list[CallEvent] = [
        ("media_stalled", party, {"role": role}) for role in current if role not in me.stalled
    ]
    events += [
        ("media_resumed", party, {"role": role}) for role in me.stalled if role not in current
    ]
    me.stalled = current
    return Step(events=events)
