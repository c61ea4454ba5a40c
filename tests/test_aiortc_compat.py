"""The contract between the relay and aiortc/aioice's private attributes
(relay/rtc/aiortc_compat.py): check() passes on the pinned versions, every accessor works on
a real connected call, a missing attribute is named, and a worker that fails the check
refuses instead of looping."""

from __future__ import annotations

import asyncio
import multiprocessing
import re
import threading
from collections.abc import AsyncIterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import aiortc.rtcrtpreceiver
import pylibsrtp
import pytest
from aioice.ice import CandidatePair, Connection
from aiortc import MediaStreamTrack, RTCConfiguration
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpsender import RTCRtpSender

from loadtest.relay_peer import NO_STUN, RelayPeer, join_room_pair
from relay.control import worker_host
from relay.control.channel import FrameChannel, socket_of
from relay.control.pool import RelayPool
from relay.control.worker import RelayWorker
from relay.interface import CloseReason, ParticipantId, RelayIncompatible, RoomId, WorkerId
from relay.rtc import aiortc_compat
from relay.rtc.negotiated import MID_URI
from relay.rtc.room import Room

CONSTRAINTS = Path(__file__).resolve().parent.parent / "constraints.txt"


def pinned(package: str) -> str:
    match = re.search(rf"^{package}==(\S+)$", CONSTRAINTS.read_text(), re.MULTILINE)
    assert match is not None, f"{package} is not pinned in constraints.txt"
    return match.group(1)


def test_check_passes_on_the_pinned_aiortc_and_aioice() -> None:
    assert version("aiortc") == pinned("aiortc")
    assert version("aioice") == pinned("aioice")
    assert aiortc_compat.missing() == []
    aiortc_compat.check()


@pytest.fixture
async def call() -> AsyncIterator[tuple[Room, RelayPeer, RelayPeer]]:
    configuration = RTCConfiguration(iceServers=[], bundlePolicy=NO_STUN.bundlePolicy)
    room = Room(RoomId("call-compat"), configuration)
    alice, bob = RelayPeer(), RelayPeer()
    try:
        await join_room_pair(room, alice, bob)
        await bob.frames_grow("camera", 3)
        yield room, alice, bob
    finally:
        await alice.close()
        await bob.close()
        await room.close(CloseReason.CALL_ENDED)


async def test_every_accessor_reads_a_real_connected_relay_peer(
    call: tuple[Room, RelayPeer, RelayPeer],
) -> None:
    room, _alice, _bob = call
    relay_side = room.participants[ParticipantId("alice")]
    transceivers = relay_side.pc.getTransceivers()
    dtls = transceivers[0].receiver.transport
    assert isinstance(dtls, RTCDtlsTransport) and dtls.state == "connected"

    # SRTP sessions: set once DTLS connected, never replaced (the hot paths keep them).
    tx, rx = aiortc_compat.tx_srtp(dtls), aiortc_compat.rx_srtp(dtls)
    assert isinstance(tx, pylibsrtp.Session) and isinstance(rx, pylibsrtp.Session)
    await _bob.frames_grow("camera", 3)
    assert aiortc_compat.tx_srtp(dtls) is tx and aiortc_compat.rx_srtp(dtls) is rx
    assert isinstance(aiortc_compat.ssrc_table(dtls), dict)

    ice = dtls.transport
    connection = aiortc_compat.ice_connection(ice)
    assert isinstance(connection, Connection)
    assert aiortc_compat.ice_connection_of(dtls) is connection
    assert asyncio.iscoroutinefunction(aiortc_compat.ice_send(ice))
    pair = aiortc_compat.nominated_pairs(connection)[1]
    assert isinstance(pair, CandidatePair) and pair.remote_addr is not None
    assert any(p is pair for p in aiortc_compat.check_list(connection))
    remote = aiortc_compat.remote_candidates(connection)
    assert remote and all(isinstance(aiortc_compat.network_host(c), str) for c in remote)
    assert hasattr(aiortc_compat.receive_queue(connection), "qsize")

    # What the relay shadows on this call is shadowed, and only once.
    protocols = aiortc_compat.stun_protocols(connection)
    assert protocols and all("datagram_received" in vars(p) for p in protocols)
    assert "put_nowait" in vars(aiortc_compat.receive_queue(connection))
    assert "data_received" in vars(connection)
    assert "_handle_rtp_data" in vars(dtls) and "_handle_rtcp_data" in vars(dtls)
    with pytest.raises(aiortc_compat.AlreadyShadowed):
        aiortc_compat.shadow_handle_rtp_data(dtls, lambda *a, **k: None)

    for transceiver in transceivers:
        codecs = aiortc_compat.negotiated_codecs(transceiver)
        assert codecs and all(isinstance(c.payloadType, int) for c in codecs)
        uris = {e.uri for e in aiortc_compat.header_extensions(transceiver)}
        assert MID_URI in uris
        assert aiortc_compat.offered_direction(transceiver) in ("sendonly", "recvonly", "sendrecv")
        ssrc, rtx_ssrc = aiortc_compat.sender_ssrcs(transceiver.sender)
        assert ssrc > 0 and rtx_ssrc > 0 and ssrc != rtx_ssrc

    await room.close(CloseReason.CALL_ENDED)
    assert "_handle_rtp_data" not in vars(dtls) and "data_received" not in vars(connection)
    assert all("datagram_received" not in vars(p) for p in protocols)


def test_shadow_installs_once_and_restores_idempotently() -> None:
    class Thing:
        def hello(self) -> str:
            return "own"

    thing = Thing()
    shadow = aiortc_compat.Shadow(thing, "hello", lambda: "ours")
    assert thing.hello() == "ours" and shadow.original() == "own"
    with pytest.raises(aiortc_compat.AlreadyShadowed):
        aiortc_compat.Shadow(thing, "hello", lambda: "again")
    shadow.restore()
    shadow.restore()
    assert thing.hello() == "own"


def test_install_remote_bitrate_estimator_replaces_aiortcs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(  # restored after the test
        aiortc.rtcrtpreceiver,
        "RemoteBitrateEstimator",
        aiortc.rtcrtpreceiver.RemoteBitrateEstimator,
    )
    sentinel = object
    aiortc_compat.install_remote_bitrate_estimator(sentinel)
    assert aiortc.rtcrtpreceiver.RemoteBitrateEstimator is sentinel


def _gaps_named(*fragments: str) -> str:
    with pytest.raises(aiortc_compat.AiortcIncompatible) as raised:
        aiortc_compat.check()
    message = str(raised.value)
    for fragment in fragments:
        assert fragment in message, message
    assert f"aiortc {version('aiortc')}" in message and f"aioice {version('aioice')}" in message
    return message


def test_check_names_a_missing_method(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(RTCDtlsTransport, "_handle_rtp_data")
    monkeypatch.delattr(Connection, "data_received")
    message = _gaps_named("RTCDtlsTransport._handle_rtp_data", "Connection.data_received")
    assert "_tx_srtp" not in message  # only what is missing


def test_check_names_a_missing_instance_attribute(monkeypatch: pytest.MonkeyPatch) -> None:
    init = RTCRtpSender.__init__

    def without_rtx_ssrc(self: RTCRtpSender, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        del self._rtx_ssrc

    monkeypatch.setattr(RTCRtpSender, "__init__", without_rtx_ssrc)
    _gaps_named("RTCRtpSender._rtx_ssrc")


def test_check_names_a_changed_signature_and_a_taken_name(monkeypatch: pytest.MonkeyPatch) -> None:
    async def renamed(self: RTCDtlsTransport, data: bytes, arrival: int) -> None:
        return None

    monkeypatch.setattr(RTCDtlsTransport, "_handle_rtp_data", renamed)
    monkeypatch.setattr(MediaStreamTrack, "_stopped", None, raising=False)
    _gaps_named(
        "RTCDtlsTransport._handle_rtp_data parameter(s) arrival_time_ms",
        "MediaStreamTrack._stopped now exists",
    )


async def test_a_worker_failing_the_check_refuses_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """worker_host.main (run here in a thread, with check() failing) answers hello with a
    refusal and exits EX_CONFIG; RelayWorker turns the refusal into RelayIncompatible."""

    def failing() -> None:
        raise aiortc_compat.AiortcIncompatible(["RTCDtlsTransport._tx_srtp (test)"])

    monkeypatch.setattr(aiortc_compat, "check", failing)
    parent, child = multiprocessing.Pipe()
    exits: list[object] = []

    def run() -> None:
        try:
            worker_host.main(child, 7, 4, "asyncio")
        except SystemExit as stop:
            exits.append(stop.code)

    thread = threading.Thread(target=run)
    thread.start()
    channel = await FrameChannel.open(socket_of(parent))
    try:
        hello = await asyncio.wait_for(channel.receive(), 10)
    finally:
        channel.close()
        await asyncio.to_thread(thread.join, 10)
    assert hello["event"] == "hello" and "RTCDtlsTransport._tx_srtp" in hello["refused"]
    assert exits == [worker_host.EXIT_INCOMPATIBLE]

    worker = RelayWorker(WorkerId(7), 4)
    worker._hello = asyncio.get_running_loop().create_future()
    worker._dispatch(hello)
    with pytest.raises(RelayIncompatible, match="_tx_srtp"):
        await worker._hello


async def test_the_pool_does_not_restart_a_worker_that_refuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    starts: list[int] = []

    async def refuse(self: RelayWorker, timeout: float = 30.0) -> None:
        starts.append(int(self.worker_id))
        raise RelayIncompatible("aiortc lacks RTCDtlsTransport._tx_srtp")

    monkeypatch.setattr(RelayWorker, "start", refuse)
    with pytest.raises(RelayIncompatible):  # at start-up: the server's start fails with it
        await RelayPool(workers=1, capacity=4).start()
    pool = RelayPool(workers=1, capacity=4)  # a worker lost later, its replacement refuses
    lost = pool.workers[0]
    await asyncio.wait_for(pool._replace(lost), 5)  # returns: no restart loop
    assert len(starts) == 2 and pool.restarts[lost.worker_id].restarts == 1
    await pool.stop()
