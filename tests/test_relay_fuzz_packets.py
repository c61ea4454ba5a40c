"""Fuzzing the relay's own packet handling (hypothesis, derandomized: the same inputs each run).

Everything a peer can put in a datagram reaches one of these: RTP header parsing, keyframe
detectors, RTX unwrapping, header rewriting, the RTP tap's routing into real Publications,
the RTCP tap's feedback routing (PLI/FIR/NACK/REMB/SR) into real Subscriptions, and the
socket guard in front of aioice. Only the documented exceptions may escape (RtpHeaderError
from parse_header); the taps and the guard let nothing escape into aiortc's receive loop
(which would end it) and log no handler failure.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import aioice
import pytest
from aiortc import RTCConfiguration
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpByePacket,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
    pack_remb_fci,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadtest.relay_peer import NO_STUN, RelayPeer
from relay.interface import CloseReason, ParticipantId, RoomId
from relay.packet.codecs import is_h264_keyframe_start
from relay.packet.rtp_header import (
    RtpHeaderError,
    is_vp8_keyframe_start,
    one_byte_extension_elements,
    parse_header,
    payload_end,
    replace_extension_block,
    rtx_original,
)
from relay.packet.stream_rewriter import StreamRewriter
from relay.packet.upstream_repair import UpstreamRepair
from relay.rtc.down_track import DownTrack, RtxStream
from relay.rtc.forwarder import Forwarder
from relay.rtc.ice_guard import DropCounters, IceGuard
from relay.rtc.room import Room

T = TypeVar("T")
FUZZ = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
KNOWN_SSRCS: list[int] = []
"""Filled by the harness with the SSRCs the relay routes, so fuzzed packets hit them."""

VP8_PREFIXES = [
    b"\x90\x80\x81\x23\x10\x02\x00\x9d\x01\x2a",  # keyframe start
    b"\x90\x80\x81\x24\x31",
    b"\x10",
    b"\x90",
    b"\x90\xff",
    b"\x90\xf0\xff",
]
H264_PREFIXES = [b"\x65", b"\x67", b"\x7c\x85", b"\x7c", b"\x78\x00\x02\x67\x42", b"\x78\xff\xff"]


@st.composite
def rtp_packets(draw: st.DrawFn) -> bytes:
    """RTP-shaped bytes: mostly well-formed headers around hostile lengths and payloads."""
    csrcs = draw(st.integers(0, 15))
    extension = draw(st.booleans())
    padding = draw(st.booleans())
    version = draw(st.sampled_from([2, 2, 2, 2, 0, 1, 3]))
    first = version << 6 | padding << 5 | extension << 4 | csrcs
    second = draw(st.sampled_from([96, 97, 98, 99, 111, 0x80 | 96]) | st.integers(0, 255))
    ssrc = draw(st.sampled_from(KNOWN_SSRCS or [0]) | st.integers(0, 2**32 - 1))
    out = struct.pack(
        "!BBHII",
        first,
        second,
        draw(st.integers(0, 0xFFFF)),
        draw(st.integers(0, 2**32 - 1)),
        ssrc,
    )
    out += draw(st.binary(min_size=4 * csrcs, max_size=4 * csrcs) | st.binary(max_size=8))
    if extension:
        profile = draw(st.sampled_from([0xBEDE, 0x1000]) | st.integers(0, 0xFFFF))
        words = draw(st.integers(0, 12))
        body = draw(st.binary(max_size=4 * words + 4))
        mid = draw(
            st.sampled_from([b"", b"\x30\x30", b"\x30\x31", b"\x30\x32", b"\x3f" + bytes(16)])
        )
        out += struct.pack("!HH", profile, words) + mid + body
    out += draw(st.sampled_from(VP8_PREFIXES + H264_PREFIXES + [b""]))
    out += draw(st.binary(max_size=64))
    if padding:
        out += draw(st.binary(max_size=6)) + bytes([draw(st.integers(0, 255))])
    return out


ANY_RTP = rtp_packets() | st.binary(max_size=80)


def run_in(loop: asyncio.AbstractEventLoop, step: Callable[[], Awaitable[T]]) -> T:
    return loop.run_until_complete(step())


@settings(FUZZ, max_examples=1500)
@given(ANY_RTP)
def test_rtp_parsing_rewriting_and_keyframe_detection(data: bytes) -> None:
    try:
        header = parse_header(data)
    except RtpHeaderError:
        return
    assert 12 <= header.csrc_end <= header.payload_offset <= len(data)
    one_byte_extension_elements(data, header)
    assert payload_end(data, header) <= len(data)
    is_vp8_keyframe_start(data, header)
    is_h264_keyframe_start(data, header)
    original = rtx_original(data, header, payload_type=96, ssrc=0xABCD)
    if original is not None:
        assert parse_header(original).ssrc == 0xABCD
    rewritten = replace_extension_block(data, header, b"\xbe\xde\x00\x01\x10\x30\x00\x00")
    assert parse_header(rewritten).payload_offset <= len(rewritten)
    rewriter = StreamRewriter(
        out_ssrc=7,
        out_payload_type=100,
        clock_rate=90000,
        extension_block=b"",
        first_sequence_number=9,
    )
    out = bytes(rewriter.rewrite(data, header))
    assert parse_header(out).ssrc == 7
    rtx = RtxStream(ssrc=8, payload_type=101, first_sequence_number=1).wrap(out)
    assert parse_header(rtx).ssrc == 8


class ListSink:
    def __init__(self) -> None:
        self.packets: list[bytes] = []

    def send_rtp(self, packet: bytes) -> None:
        self.packets.append(packet)


def test_forwarder_down_tracks_and_upstream_repair_take_any_sequence_of_packets() -> None:
    """A stream of hostile packets through one forwarder (its state carries across them):
    keyframe gating, repair bookkeeping, restarts, fills and NACK answers."""
    loop = asyncio.new_event_loop()
    nacks: list[list[int]] = []

    async def send_nack(lost: list[int]) -> None:
        nacks.append(lost)

    try:
        holder: dict[str, Forwarder] = {}
        repair = run_in(
            loop,
            lambda: _async(
                lambda: UpstreamRepair(
                    send_nack,
                    on_unrepairable=lambda lost: holder["f"].restart_at_keyframe(lost),
                    retry_after=0.001,
                    min_interval=0.0,
                )
            ),
        )
        forwarder = holder["f"] = Forwarder(keyframe_requester=None, repair=repair)
        sink = ListSink()
        rewriter = StreamRewriter(out_ssrc=5, out_payload_type=96, clock_rate=90000)
        track = DownTrack(sink, rewriter, wait_for_keyframe=True, history_size=64)
        forwarder.add_down_track(track)

        @FUZZ
        @given(st.lists(ANY_RTP, max_size=12), st.lists(st.integers(0, 0xFFFF), max_size=20))
        def feed(packets: list[bytes], nacked: list[int]) -> None:
            async def step() -> None:
                for data in packets:
                    forwarder.on_rtp(data)
                track.handle_nack(nacked)
                await asyncio.sleep(0)

            run_in(loop, step)

        feed()
        loop.run_until_complete(asyncio.sleep(0.01))
        for packet in sink.packets:
            assert parse_header(packet).ssrc == 5
        loop.run_until_complete(forwarder.close())
    finally:
        loop.close()


async def _async(make: Callable[[], T]) -> T:
    """Build `make()` inside the running loop (some objects look it up on creation)."""
    return make()


# --- the taps and the guard, on a real relay room -----------------------------------------


class RelayHarness:
    """A Room with two aiortc clients joined (not connected: no media needed to route)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.room: Room | None = None
        self.peers = [RelayPeer(), RelayPeer()]

    async def start(self) -> None:
        configuration = RTCConfiguration(iceServers=[], bundlePolicy=NO_STUN.bundlePolicy)
        self.room = Room(RoomId("fuzz"), configuration)
        for peer, name in zip(self.peers, ("alice", "bob"), strict=True):
            offer, tracks = await peer.offer()
            await peer.accept(await self.room.join(ParticipantId(name), offer, tracks))

    def participant(self, name: str) -> Any:
        assert self.room is not None
        return self.room.participants[ParticipantId(name)]

    async def stop(self) -> None:
        if self.room is not None:
            await self.room.close(CloseReason.CALL_ENDED)
        for peer in self.peers:
            await peer.close()


@pytest.fixture
def harness() -> Iterator[RelayHarness]:
    loop = asyncio.new_event_loop()
    relay = RelayHarness(loop)
    try:
        loop.run_until_complete(relay.start())
        yield relay
    finally:
        loop.run_until_complete(relay.stop())
        loop.close()


def handler_failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_rtp_tap_routes_any_packet_into_real_publications_without_a_handler_failure(
    harness: RelayHarness, caplog: pytest.LogCaptureFixture
) -> None:
    alice = harness.participant("alice")
    (tap,) = alice._rtp_taps.values()
    KNOWN_SSRCS[:] = [t.sender._ssrc for t in alice.pc.getTransceivers()]
    routed = [0]

    @FUZZ
    @given(ANY_RTP)
    def feed(data: bytes) -> None:
        async def step() -> None:
            routed[0] += tap.dispatch(data)
            await asyncio.sleep(0)

        run_in(harness.loop, step)

    with caplog.at_level(logging.ERROR):
        feed()
    assert routed[0] > 0  # the strategy does reach the publications
    assert handler_failures(caplog) == []
    KNOWN_SSRCS.clear()


def rtcp_packets(ssrcs: list[int]) -> st.SearchStrategy[bytes]:
    """Real compound RTCP as aiortc serializes it, about our SSRCs, then damaged."""
    ssrc = st.sampled_from(ssrcs) | st.integers(0, 2**32 - 1)
    u32 = st.integers(0, 2**32 - 1)
    report = st.builds(
        RtcpReceiverInfo,
        ssrc=ssrc,
        fraction_lost=st.integers(0, 255),
        packets_lost=st.integers(0, 2**23 - 1),
        highest_sequence=u32,
        jitter=u32,
        lsr=u32,
        dlsr=u32,
    )
    sr = st.builds(
        lambda s, info, reports: RtcpSrPacket(ssrc=s, sender_info=info, reports=reports),
        ssrc,
        st.builds(
            RtcpSenderInfo,
            ntp_timestamp=st.integers(0, 2**64 - 1),
            rtp_timestamp=u32,
            packet_count=u32,
            octet_count=u32,
        ),
        st.lists(report, max_size=3),
    )
    rr = st.builds(lambda s, r: RtcpRrPacket(ssrc=s, reports=r), ssrc, st.lists(report, max_size=3))
    pli = st.builds(
        lambda s, m, f: RtcpPsfbPacket(fmt=f, ssrc=s, media_ssrc=m),
        u32,
        ssrc,
        st.sampled_from([RTCP_PSFB_PLI, RTCP_PSFB_FIR]),
    )
    remb = st.builds(
        lambda s, rate, targets: RtcpPsfbPacket(
            fmt=RTCP_PSFB_APP, ssrc=s, media_ssrc=0, fci=pack_remb_fci(rate, targets)
        ),
        u32,
        st.integers(0, 2**40),
        st.lists(ssrc, max_size=4),
    )
    bad_fci = st.builds(
        lambda s, fci: RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=s, media_ssrc=0, fci=fci),
        u32,
        st.sampled_from([b"REMB\x05\x00\x00\x00", b"REMB", b"REMX\x01\x00\x00\x00\x00\x00\x00\x01"])
        | st.binary(max_size=16).map(lambda b: b + bytes(-len(b) % 4)),  # aiortc packs whole words
    )

    def nack_packet(s: int, m: int, lost: list[int]) -> RtcpRtpfbPacket:
        packet = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=s, media_ssrc=m)
        packet.lost = sorted(set(lost))
        return packet

    nack = st.builds(nack_packet, u32, ssrc, st.lists(st.integers(0, 0xFFFF), max_size=40))
    sdes = st.builds(
        lambda s: RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=s, items=[(1, b"cname")])]), ssrc
    )
    bye = st.builds(lambda s: RtcpByePacket(sources=[s]), ssrc)
    compound = st.lists(
        st.one_of(sr, rr, pli, remb, bad_fci, nack, sdes, bye), min_size=1, max_size=4
    )

    @st.composite
    def damaged(draw: st.DrawFn) -> bytes:
        data = bytearray(b"".join(bytes(p) for p in draw(compound)))
        for _ in range(draw(st.integers(0, 3))):
            if data:
                data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        cut = draw(st.integers(0, len(data)))
        return bytes(data[: cut if draw(st.booleans()) else len(data)])

    return damaged() | st.binary(max_size=64)


def test_rtcp_tap_takes_any_compound_into_real_subscriptions_without_escaping(
    harness: RelayHarness, caplog: pytest.LogCaptureFixture
) -> None:
    """Feedback a subscriber sends (PLI, NACK, REMB) and a publisher's SRs; nothing may
    escape _handle_rtcp_data: in aiortc's _recv_next that ends the transport."""
    bob, alice = harness.participant("bob"), harness.participant("alice")
    ssrcs = [t.sender._ssrc for p in (alice, bob) for t in p.pc.getTransceivers()]
    taps = [*bob._rtcp_taps.values(), *alice._rtcp_taps.values()]

    @FUZZ
    @given(rtcp_packets(ssrcs))
    def feed(data: bytes) -> None:
        async def step() -> None:
            for tap in taps:
                await tap._handle_rtcp_data(data)
            await asyncio.sleep(0)

        run_in(harness.loop, step)

    with caplog.at_level(logging.ERROR):
        feed()
    assert handler_failures(caplog) == []


@st.composite
def stun_like(draw: st.DrawFn) -> bytes:
    """A STUN header (RFC 5389 magic cookie) with hostile attributes, or raw bytes."""
    attributes = b""
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(
            st.sampled_from([0x0006, 0x0008, 0x0020, 0x0024, 0x8028, 0x8029, 0x802A, 0x0025])
        )
        value = draw(st.binary(max_size=24))
        length = draw(st.sampled_from([len(value)]) | st.integers(0, 40))
        attributes += struct.pack("!HH", kind, length) + value + bytes(-len(value) % 4)
    kind = draw(st.sampled_from([0x0001, 0x0101, 0x0111, 0x0011]) | st.integers(0, 0x3FFF))
    header = struct.pack("!HHI", kind, len(attributes), 0x2112A442) + draw(
        st.binary(min_size=12, max_size=12)
    )
    return header + attributes


def test_socket_guard_takes_any_datagram_from_anyone_without_escaping() -> None:
    loop = asyncio.new_event_loop()

    async def connect() -> tuple[aioice.Connection, aioice.Connection]:
        a = aioice.Connection(ice_controlling=True)
        b = aioice.Connection(ice_controlling=False)
        await asyncio.gather(a.gather_candidates(), b.gather_candidates())
        for near, far in ((a, b), (b, a)):
            for candidate in far.local_candidates:
                await near.add_remote_candidate(candidate)
            await near.add_remote_candidate(None)
            near.remote_username, near.remote_password = far.local_username, far.local_password
        await asyncio.gather(a.connect(), b.connect())
        return a, b

    a, b = loop.run_until_complete(connect())
    drops = DropCounters()
    guard = IceGuard(b, drops)
    try:
        pair = b._nominated[1]
        gate = pair.protocol.datagram_received
        peer = pair.remote_addr
        stranger = ("198.51.100.7", 4000)

        @FUZZ
        @given(stun_like() | st.binary(max_size=64), st.booleans())
        def feed(data: bytes, from_peer: bool) -> None:
            async def step() -> None:
                gate(data, peer if from_peer else stranger)
                await asyncio.sleep(0)

            run_in(loop, step)

        feed()
        assert b._queue.qsize() <= 256
        assert sum(drops.as_dict().values()) > 0
    finally:
        guard.close()
        loop.run_until_complete(a.close())
        loop.run_until_complete(b.close())
        loop.close()
