"""The call's rules (signaling/calls/machine.py) driven alone: no loop, database or relay,
only the live state, a clock value and the steps the coordinator would carry out."""

from __future__ import annotations

import pytest

from relay.interface import RoomId
from signaling.calls import machine
from signaling.calls.live import FLOW_GRACE, LiveCall
from signaling.errors import Conflict
from signaling.types import CallEndReason, CallParty, CallState, LinkState

AGENT, CUSTOMER = CallParty.AGENT, CallParty.CUSTOMER


def running_call() -> LiveCall:
    live = LiveCall(call_id=7, chat_id=3, org_id=1, agent_id=2, room_id=RoomId("call-7"))
    live.relay_worker = 1
    return live


def connect(live: LiveCall, party: CallParty, now: float, sid: str = "s") -> machine.Step:
    machine.join_begins(live, party, now)
    return machine.joined(live, party, sid=sid, tracks={"0": "audio"}, flags=None, now=now)


def test_only_the_callee_answers_a_ringing_call() -> None:
    live = running_call()
    ringing = {"state": CallState.RINGING.value, "started_by": AGENT.value}
    with pytest.raises(Conflict, match="caller cannot answer"):
        machine.check_answerable(ringing, live, AGENT)
    assert machine.check_answerable(ringing, live, CUSTOMER) is live
    with pytest.raises(Conflict, match="not ringing"):
        machine.check_answerable({**ringing, "state": CallState.ACTIVE.value}, live, CUSTOMER)
    step = machine.accepted(live, CUSTOMER)
    assert step.cancel == ["ring"] and step.events == [("accepted", CUSTOMER, {})]
    assert live.parties[CUSTOMER].link is LinkState.CONNECTING


def test_hang_up_while_ringing_cancels_or_declines() -> None:
    ringing = {"state": CallState.RINGING.value, "started_by": AGENT.value}
    assert machine.hangup_reason(ringing, AGENT) is CallEndReason.CANCELLED
    assert machine.hangup_reason(ringing, CUSTOMER) is CallEndReason.DECLINED
    active = {**ringing, "state": CallState.ACTIVE.value}
    assert machine.hangup_reason(active, CUSTOMER) is CallEndReason.HUNG_UP
    live = running_call()
    assert machine.ring_expired(ringing, live) is CallEndReason.MISSED
    assert machine.ring_expired(active, live) is None


def test_join_drop_and_rejoin_log_the_gap() -> None:
    live = running_call()
    first = connect(live, CUSTOMER, now=10.0, sid="a")
    assert first.events[0][0] == "joined" and first.cancel == ["reconnect:customer"]
    assert not machine.setup_complete(live, CUSTOMER, rejoin=False)
    connect(live, AGENT, now=10.5)
    assert machine.setup_complete(live, AGENT, rejoin=False)

    drop = machine.dropped(live, CUSTOMER, "socket closed", now=12.0)
    assert drop is not None and drop.start == ["reconnect:customer"]
    assert live.parties[CUSTOMER].link is LinkState.RECONNECTING
    assert machine.dropped(live, CUSTOMER, "again", now=12.1) is None  # old news
    assert machine.reconnect_expired(live, CUSTOMER) is CallEndReason.NETWORK_LOST

    assert not machine.join_begins(live, CUSTOMER, now=13.0)  # already shown reconnecting
    back = machine.joined(live, CUSTOMER, sid="b", tracks={}, flags=None, now=13.25)
    kind, party, detail = back.events[0]
    assert (kind, party, detail["gap_ms"], detail["was"]) == (
        "reconnected",
        CUSTOMER,
        1250,
        "reconnecting",
    )
    assert machine.reconnect_expired(live, CUSTOMER) is None
    # A failure report about the peer connection the rejoin replaced changes nothing.
    assert machine.dropped(live, CUSTOMER, "media connection failed", 13.3, seen_at=13.0) is None


def test_a_connected_participant_offering_again_is_shown_reconnecting() -> None:
    live = running_call()
    connect(live, AGENT, now=1.0)
    assert machine.join_begins(live, AGENT, now=2.0)
    assert live.parties[AGENT].link is LinkState.RECONNECTING
    live.ended = True
    with pytest.raises(Conflict, match="ended"):
        machine.join_begins(live, AGENT, now=3.0)


def test_media_flags_start_a_flow_check_and_stalls_are_reported_once() -> None:
    live = running_call()
    connect(live, AGENT, now=0.0)
    step = machine.media_changed(live, AGENT, {"audio": True, "camera": True, "screen": False}, 0)
    assert step.start == ["flow:agent"] and live.media_used == {
        "audio": True,
        "camera": True,
        "screen": False,
    }
    machine.flow_changed(live, AGENT, "audio", True)
    assert machine.stalled(live, AGENT, now=1.0) is None  # within the grace
    stalled = machine.stalled(live, AGENT, now=FLOW_GRACE + 1)
    assert stalled is not None and stalled.events == [("media_stalled", AGENT, {"role": "camera"})]
    assert machine.stalled(live, AGENT, now=FLOW_GRACE + 2) is None
    machine.flow_changed(live, AGENT, "camera", True)
    resumed = machine.stalled(live, AGENT, now=FLOW_GRACE + 3)
    assert resumed is not None and resumed.events == [("media_resumed", AGENT, {"role": "camera"})]
    off = machine.media_changed(live, AGENT, {"audio": True, "camera": False, "screen": False}, 9)
    assert off.start == [] and live.media_used["camera"]


def test_a_lost_relay_moves_everyone_to_a_fresh_room() -> None:
    live = running_call()
    connect(live, AGENT, now=0.0)
    connect(live, CUSTOMER, now=0.0)
    lost = machine.relay_lost(live, "worker_lost", now=5.0)
    assert lost.events == [("relay_lost", None, {"worker": 1, "why": "worker_lost"})]
    assert sorted(lost.start) == ["reconnect:agent", "reconnect:customer"]
    live.room_id = None
    assert machine.reconnect_expired(live, AGENT) is CallEndReason.RELAY_LOST
    moved = machine.relay_moved(live, RoomId("call-7.2"), 4, 2, now=6.0)
    assert moved.events[0][2] == {"from_worker": 1, "to_worker": 4, "relay_session": 2}
    assert (live.room_id, live.relay_worker, live.relay_session) == ("call-7.2", 4, 2)
    assert not any(p.joined for p in live.parties.values())
    assert machine.reconnect_expired(live, AGENT) is CallEndReason.NETWORK_LOST
