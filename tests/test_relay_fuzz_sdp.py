"""Fuzzing the SDP path into the relay (hypothesis, derandomized: the same inputs each run).

Mutated versions of two real offers (aiortc 1.16 and Chromium 156, captured on this VM with
the protocol's three m-lines, tests/fixtures) are joined into a Room in-process while a
control participant is in the call: each must be answered or refused with BadOffer, never
another exception, never a hang; afterwards the room still carries media both ways for
the control participant and a newcomer.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from aiortc import RTCConfiguration
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadtest.relay_peer import NO_STUN, RelayPeer, until
from relay.interface import BadOffer, CloseReason, ParticipantId, RoomId, TrackRole
from relay.rtc.room import Room

FIXTURES = Path(__file__).parent / "fixtures"
ROLES: dict[str, TrackRole] = {"0": "audio", "1": "camera", "2": "screen"}
JOIN_TIMEOUT = 10.0
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

LINE_STARTS = [
    "a=mid:",
    "a=rtpmap:96 ",
    "a=rtpmap:",
    "a=fmtp:",
    "a=rtcp-fb:96 ",
    "a=extmap:",
    "a=ssrc:",
    "a=ssrc-group:FID ",
    "a=group:BUNDLE ",
    "a=setup:",
    "a=fingerprint:sha-256 ",
    "a=ice-ufrag:",
    "a=ice-pwd:",
    "a=candidate:1 1 udp 1 ",
    "a=msid:",
    "a=sendonly",
    "a=recvonly",
    "a=inactive",
    "a=rtcp-mux",
    "a=rtcp:",
    "a=end-of-candidates",
    "m=video 9 UDP/TLS/RTP/SAVPF ",
    "m=audio 9 UDP/TLS/RTP/SAVPF ",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "c=IN IP4 ",
    "c=IN IP6 ",
    "a=sctp-port:",
    "a=rid:",
    "a=simulcast:",
    "a=max-message-size:",
    "t=",
    "o=",
    "b=AS:",
]
VALUES = (
    st.integers(-(2**64), 2**64).map(str)
    | st.sampled_from(
        [
            "",
            " ",
            "0",
            "96",
            "VP8/90000",
            "H264/90000",
            "opus/48000/2",
            "rtx/90000",
            "apt=96",
            "profile-level-id=42e01f;packetization-mode=1",
            "actpass",
            "active",
            "passive",
            "1 2 3",
            "0 1 2",
            "9999999999",
            "-1",
            ":",
            "::",
            "/",
        ]
    )
    | st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=40)
    | st.text(max_size=12)
)


@st.composite
def mutated(draw: st.DrawFn, base: str) -> tuple[str, dict[str, TrackRole]]:
    """`base` with 1-4 line-level edits: delete, duplicate, move, rewrite a value, insert a
    line (known attribute or m-line, hostile value), cut a line or the whole offer."""
    lines = base.replace("\r\n", "\n").strip("\n").split("\n")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "move", "value", "insert", "cut", "end"]))
        if op == "delete" and len(lines) > 1:
            del lines[at]
        elif op == "duplicate":
            lines.insert(at, lines[at])
        elif op == "move":
            lines.insert(draw(st.integers(0, len(lines) - 1)), lines.pop(at))
        elif op == "value":
            head, sep, _ = lines[at].partition(":" if lines[at].startswith("a=") else "=")
            parts = lines[at][len(head) + len(sep) :].split(" ")
            parts[draw(st.integers(0, len(parts) - 1))] = draw(VALUES)
            lines[at] = head + sep + " ".join(parts)
        elif op == "insert":
            lines.insert(at, draw(st.sampled_from(LINE_STARTS)) + draw(VALUES))
        elif op == "cut":
            lines[at] = lines[at][: draw(st.integers(0, len(lines[at])))]
        else:
            lines = lines[: at + 1]
    roles = dict(ROLES)
    if draw(st.integers(0, 4)) == 0:  # sometimes the tracks map is off too
        roles = draw(
            st.dictionaries(
                st.sampled_from(["0", "1", "2", "3", "audio"]),
                st.sampled_from(["audio", "camera", "screen"]),
                max_size=4,
            )
        )
    return "\r\n".join(lines) + "\r\n", roles


async def join_or_refuse(room: Room, offer: str, roles: dict[str, TrackRole]) -> str:
    """ "answered" or "refused"; anything else (or a hang) fails the test."""
    try:
        async with asyncio.timeout(JOIN_TIMEOUT):
            await room.join(ParticipantId("mallory"), offer, roles, replace=True)
    except BadOffer:
        return "refused"
    return "answered"


def fuzz_sdp(base_file: str) -> Counter[str]:
    base = (FIXTURES / base_file).read_text()
    loop = asyncio.new_event_loop()
    configuration = RTCConfiguration(iceServers=[], bundlePolicy=NO_STUN.bundlePolicy)
    outcomes: Counter[str] = Counter()
    bob, alice = RelayPeer(), RelayPeer()

    async def start() -> Room:
        room = Room(RoomId("call-fuzz"), configuration)
        offer, tracks = await bob.offer()
        await bob.accept(await room.join(ParticipantId("bob"), offer, tracks))
        return room

    room = loop.run_until_complete(start())
    try:
        # The unmutated offer is answered: the mutations start from something that works.
        assert loop.run_until_complete(join_or_refuse(room, base, ROLES)) == "answered"

        @FUZZ
        @given(mutated(base))
        def one(case: tuple[str, dict[str, TrackRole]]) -> None:
            outcomes[loop.run_until_complete(join_or_refuse(room, *case))] += 1

        one()

        async def control_call() -> None:
            if ParticipantId("mallory") in room.participants:
                await room.leave(ParticipantId("mallory"))
            offer, tracks = await alice.offer()
            await alice.accept(await room.join(ParticipantId("alice"), offer, tracks))
            await until(lambda: alice.connected and bob.connected, 15)
            for peer in (alice, bob):
                await peer.frames_grow("camera", 3)
                await peer.frames_grow("audio", 5)
            assert room.peer_connections == 2

        loop.run_until_complete(control_call())
    finally:
        loop.run_until_complete(room.close(CloseReason.CALL_ENDED))
        loop.run_until_complete(alice.close())
        loop.run_until_complete(bob.close())
        loop.close()
    return outcomes


def test_mutated_aiortc_offers_are_answered_or_refused_and_the_call_goes_on() -> None:
    outcomes = fuzz_sdp("aiortc-1.16-offer.sdp")
    print(f"aiortc offer mutations: {dict(outcomes)}")
    assert outcomes["answered"] and outcomes["refused"], outcomes


def test_mutated_chromium_offers_are_answered_or_refused_and_the_call_goes_on() -> None:
    outcomes = fuzz_sdp("chromium-156-offer.sdp")
    print(f"Chromium offer mutations: {dict(outcomes)}")
    assert outcomes["answered"] and outcomes["refused"], outcomes
