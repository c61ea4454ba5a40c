"""What the relay keeps from one join to the next (a worker's certificate, its SSL context, the
host addresses, negotiated codecs) and what it must not: every join its own ICE credentials,
DTLS session and SRTP keys; a rejoin a fresh peer connection; each worker its own certificate.
Relay receivers start no decoder thread; a client's in the same process still decodes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiortc import RTCConfiguration
from aiortc.rtcdtlstransport import SRTP_PROFILES, RTCCertificate
from OpenSSL import SSL

from loadtest.call_peer import NO_STUN
from loadtest.relay_peer import RelayPeer, join_room_pair, until
from relay.control.pool import RelayPool
from relay.interface import CloseReason, ParticipantId, RoomId
from relay.rtc import aiortc_compat
from relay.rtc.certificate import WORKER_CERTIFICATE, WorkerCertificate
from relay.rtc.host_addresses import CachedHostAddresses
from relay.rtc.negotiated import codec_choices
from relay.rtc.participant import RelayParticipant
from relay.rtc.room import Room

ALICE = ParticipantId("alice")
BOB = ParticipantId("bob")


def sdp_values(sdp: str, attribute: str) -> set[str]:
    return set(re.findall(rf"^a={attribute}:(.+?)\r?$", sdp, re.MULTILINE))


@pytest.fixture
async def room() -> AsyncIterator[Room]:
    opened = Room(
        RoomId("cache-1"), RTCConfiguration(iceServers=[], bundlePolicy=NO_STUN.bundlePolicy)
    )
    try:
        yield opened
    finally:
        await opened.close(CloseReason.CALL_ENDED)


def dtls_of(participant: RelayParticipant) -> Any:
    return participant.pc.getTransceivers()[0].receiver.transport


async def test_two_joins_share_the_certificate_and_nothing_else(room: Room) -> None:
    alice, bob = RelayPeer(), RelayPeer()
    answers = []
    try:
        for peer, who in ((alice, ALICE), (bob, BOB)):
            offer, tracks = await peer.offer()
            answers.append(await room.join(who, offer, tracks))
            await peer.accept(answers[-1])
        await until(lambda: alice.connected and bob.connected)
        await bob.frames_grow("camera", 3)

        # One certificate per worker: the same fingerprint in both answers, the worker's.
        fingerprints = [sdp_values(a, "fingerprint") for a in answers]
        assert fingerprints[0] == fingerprints[1]
        current = WORKER_CERTIFICATE.current()
        assert {f"{f.algorithm} {f.value}" for f in current.getFingerprints()} == fingerprints[0]
        relay_a, relay_b = room.participants[ALICE], room.participants[BOB]
        assert aiortc_compat.certificates(relay_a.pc) == [current]
        assert aiortc_compat.certificates(relay_b.pc) == [current]

        # Everything per connection stays per connection.
        assert sdp_values(answers[0], "ice-ufrag").isdisjoint(sdp_values(answers[1], "ice-ufrag"))
        assert sdp_values(answers[0], "ice-pwd").isdisjoint(sdp_values(answers[1], "ice-pwd"))
        dtls_a, dtls_b = dtls_of(relay_a), dtls_of(relay_b)
        assert dtls_a.state == dtls_b.state == "connected"
        assert dtls_a._ssl is not dtls_b._ssl
        assert dtls_a._ssl.get_context() is dtls_b._ssl.get_context()  # shared, sessionless
        key_a = dtls_a._ssl.export_keying_material(b"EXTRACTOR-dtls_srtp", 60)
        key_b = dtls_b._ssl.export_keying_material(b"EXTRACTOR-dtls_srtp", 60)
        assert key_a != key_b
        assert aiortc_compat.tx_srtp(dtls_a) is not aiortc_compat.tx_srtp(dtls_b)
    finally:
        await alice.close()
        await bob.close()


async def test_a_rejoin_gets_new_ice_credentials_and_still_carries_media(room: Room) -> None:
    alice, bob = RelayPeer(), RelayPeer()
    try:
        await join_room_pair(room, alice, bob)
        await bob.frames_grow("camera", 3)
        before = room.participants[ALICE]
        first_ufrag = dtls_of(before).transport.iceGatherer.getLocalParameters().usernameFragment

        offer, tracks = await alice.offer()  # a fresh client peer connection, as on reconnect
        answer = await room.join(ALICE, offer, tracks, replace=True)
        await alice.accept(answer)
        after = room.participants[ALICE]
        assert after is not before and before.closed
        assert first_ufrag not in sdp_values(answer, "ice-ufrag")
        assert aiortc_compat.certificates(after.pc) == aiortc_compat.certificates(before.pc)
        await until(lambda: alice.connected)
        await bob.frames_grow("camera", 3)
        await alice.frames_grow("camera", 3)
    finally:
        await alice.close()
        await bob.close()


async def test_relay_receivers_start_no_decoder_thread_and_clients_still_decode(
    room: Room,
) -> None:
    alice, bob = RelayPeer(), RelayPeer()
    try:
        await join_room_pair(room, alice, bob)
        await alice.frames_grow("camera", 3)  # decoded by the client's own receiver
        for participant in room.participants.values():
            for transceiver in participant.pc.getTransceivers():
                thread = aiortc_compat.decoder_thread(transceiver.receiver)
                assert thread is not None and not thread  # started, as a _NoThread
        assert alice.pc is not None
        client_threads = [
            aiortc_compat.decoder_thread(t.receiver) for t in alice.pc.getTransceivers()
        ]
        assert all(thread and thread.is_alive() for thread in client_threads)
    finally:
        await alice.close()
        await bob.close()


async def test_each_worker_has_its_own_certificate_and_keeps_it() -> None:
    pool = RelayPool(workers=2)
    await pool.start()
    peers = [RelayPeer(camera=False, audio=False) for _ in range(3)]
    try:
        rooms = [RoomId("cert-a"), RoomId("cert-b")]
        placed = [await pool.open_room(room) for room in rooms]
        assert placed[0] != placed[1]  # the second room goes to the idle worker
        fingerprints = []
        for peer, room, who in zip(peers, [*rooms, rooms[0]], ["a", "b", "c"], strict=True):
            offer, tracks = await peer.offer()
            answer = await pool.join(room, ParticipantId(who), offer, tracks)
            fingerprints.append(sdp_values(answer, "fingerprint"))
        assert fingerprints[0] != fingerprints[1]  # two workers
        assert fingerprints[0] == fingerprints[2]  # one worker, two joins
    finally:
        for peer in peers:
            await peer.close()
        await pool.stop()


def test_a_worker_certificate_is_replaced_once_it_is_a_day_old() -> None:
    now = [0.0]
    holder = WorkerCertificate(max_age=86_400, clock=lambda: now[0])
    first = holder.current()
    now[0] = 86_399
    assert holder.current() is first
    now[0] = 86_400
    second = holder.current()
    assert second is not first
    assert second.getFingerprints() != first.getFingerprints()


def test_a_reusable_certificate_computes_as_aiortc_does_once() -> None:
    certificate = aiortc_compat.ReusableCertificate.generateCertificate()
    plain = RTCCertificate(certificate._key, certificate._cert)
    first, again = certificate.getFingerprints(), certificate.getFingerprints()
    assert first == plain.getFingerprints() == again
    assert first[0] is not again[0]  # fresh objects: aiortc may keep them in a description
    context = certificate._create_ssl_context(SRTP_PROFILES)
    assert certificate._create_ssl_context(SRTP_PROFILES) is context
    assert context.get_session_cache_mode() == SSL.SESS_CACHE_OFF
    assert certificate._create_ssl_context(SRTP_PROFILES[:1]) is not context


def test_peer_connection_takes_the_given_certificate_and_leaves_aiortc_as_it_was() -> None:
    import aiortc.rtcpeerconnection
    from aiortc import RTCPeerConnection

    certificate = aiortc_compat.ReusableCertificate.generateCertificate()
    pc = aiortc_compat.peer_connection(RTCConfiguration(), certificate)
    assert aiortc_compat.certificates(pc) == [certificate]
    assert vars(aiortc.rtcpeerconnection)["RTCCertificate"] is RTCCertificate
    assert aiortc_compat.certificates(RTCPeerConnection())[0] is not certificate


def test_host_addresses_are_looked_up_again_only_after_the_ttl() -> None:
    now = [0.0]
    calls: list[tuple[bool, bool]] = []
    answers = [["192.0.2.1"], ["192.0.2.1", "192.0.2.7"]]

    def lookup(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        calls.append((use_ipv4, use_ipv6))
        return answers[min(len(calls), 2) - 1]

    cached = CachedHostAddresses(ttl=10.0, lookup=lookup, clock=lambda: now[0])
    assert cached(True, True) == ["192.0.2.1"]
    cached(True, True).append("mutated by a caller")
    now[0] = 9.9
    assert cached(True, True) == ["192.0.2.1"]
    assert cached(True, False) == ["192.0.2.1", "192.0.2.7"]  # other arguments: own entry
    now[0] = 10.0
    assert cached(True, True) == ["192.0.2.1", "192.0.2.7"]
    assert calls == [(True, True), (True, False), (True, True)]


def test_codec_choices_pairs_each_codec_with_its_first_rtx() -> None:
    def codec(pt: int, mime: str, **parameters: Any) -> Any:
        return SimpleNamespace(
            payloadType=pt, mimeType=mime, clockRate=90000, parameters=parameters, rtcpFeedback=[]
        )

    raw = [
        codec(97, "video/VP8"),
        codec(98, "video/rtx", apt=97),
        codec(99, "video/rtx", apt=97),
        codec(100, "video/H264", **{"packetization-mode": 1}),
        codec(101, "video/rtx", apt=100),
        codec(102, "video/VP9"),
    ]
    choices = codec_choices(raw)
    assert [(c.payload_type, c.rtx_payload_type) for c in choices] == [
        (97, 98),
        (100, 101),
        (102, None),
    ]
    assert choices[1].parameters == {"packetization-mode": "1"}
