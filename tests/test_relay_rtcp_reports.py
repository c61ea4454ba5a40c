"""The relay's own RTCP: receive statistics per publication (RFC 3550 A.1/A.3/A.8), the round
trip of a leg from the client's report blocks, and the timing they pace upstream."""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

import pytest
from aiortc import RTCConfiguration
from aiortc.rtp import RtcpPacket, RtcpRrPacket

from loadtest.relay_peer import NO_STUN, RelayPeer, join_room_pair, until
from media.stamps import StampedVideoTrack
from relay.control.event_wire import event_from_wire, event_to_wire
from relay.interface import CloseReason, LinkReport, ParticipantId, RoomId
from relay.packet.keyframe_requests import KeyframeRequester
from relay.packet.loss_limit import MIN_BITRATE, LossLimit
from relay.packet.loss_window import LossWindow
from relay.packet.receive_statistics import ReceiveStatistics
from relay.packet.round_trip import RoundTrip
from relay.packet.upstream_repair import MAX_RETRY_AFTER, UpstreamRepair
from relay.rtc import aiortc_compat
from relay.rtc.link_reports import LinkMonitor
from relay.rtc.room import Room
from tests.impairment import udp_loss

ALICE = ParticipantId("alice")
BOB = ParticipantId("bob")

VIDEO_RATE = 90_000


def feed(stats: ReceiveStatistics, seqs: list[int], *, start: float = 0.0) -> None:
    """One packet per 20 ms, each its own frame (timestamps follow the wall clock exactly)."""
    for i, seq in enumerate(seqs):
        arrival = start + i * 0.02
        stats.on_packet(seq & 0xFFFF, round(arrival * VIDEO_RATE) & 0xFFFFFFFF, arrival)


def test_loss_is_counted_per_interval_and_in_all() -> None:
    stats = ReceiveStatistics(VIDEO_RATE)
    assert stats.report_block(1, 0.0) is None  # nothing received: nothing to report
    feed(stats, [s for s in range(100, 200) if s % 10 != 5])  # 10 of 100 lost
    block = stats.report_block(0x1234, 2.0)
    assert block is not None
    assert block.ssrc == 0x1234
    assert block.highest_sequence == 199
    assert block.packets_lost == 10 and stats.cumulative_lost == 10
    assert block.fraction_lost == (10 << 8) // 100  # 25/256 ≈ 9.8 %
    # The next interval loses nothing: fraction 0, the cumulative count stays.
    feed(stats, list(range(200, 300)), start=2.0)
    block = stats.report_block(0x1234, 4.0)
    assert block is not None
    assert block.fraction_lost == 0 and block.packets_lost == 10


def test_sequence_wrap_duplicates_and_reordering() -> None:
    stats = ReceiveStatistics(VIDEO_RATE)
    feed(stats, [65530, 65531, 65533, 65532, 65534, 65535, 0, 1, 1, 2])  # reordered, a dup
    block = stats.report_block(1, 1.0)
    assert block is not None
    assert block.highest_sequence == 65536 + 2  # one cycle
    assert block.packets_lost == -1  # the duplicate: received exceeds expected (RFC 3550)
    assert block.fraction_lost == 0


def test_a_large_jump_restarts_only_when_the_next_packet_follows_it() -> None:
    stats = ReceiveStatistics(VIDEO_RATE)
    feed(stats, list(range(1000, 1010)))
    stats.on_packet(30_000, 0, 1.0)  # a stray packet far ahead: ignored
    feed(stats, list(range(1010, 1020)), start=1.02)
    assert stats.cumulative_lost == 0 and stats.extended_highest == 1019
    stats.on_packet(40_000, 0, 2.0)
    stats.on_packet(40_001, 1, 2.02)  # the sender restarted its numbering
    assert stats.extended_highest == 40_001 and stats.cumulative_lost == 0


def test_jitter_is_zero_for_a_steady_stream_and_grows_with_variable_delay() -> None:
    steady = ReceiveStatistics(VIDEO_RATE)
    feed(steady, list(range(50)))
    assert steady.jitter_seconds < 0.0001
    shaky = ReceiveStatistics(VIDEO_RATE)
    for i in range(400):
        sent = i * 0.02
        delay = 0.05 if i % 2 else 0.02  # 30 ms of delay variation every other packet
        shaky.on_packet(i, round(sent * VIDEO_RATE), sent + delay)
    # RFC 3550's estimator converges on the mean |D|: 30 ms here.
    assert 0.025 < shaky.jitter_seconds < 0.035
    # Packets of one frame (same timestamp) paced out by the sender are not jitter.
    paced = ReceiveStatistics(VIDEO_RATE)
    for frame in range(40):
        for part in range(5):
            paced.on_packet(frame * 5 + part, frame * 3000, frame / 30 + part * 0.004)
    assert paced.jitter_seconds < 0.0001


def test_lsr_and_dlsr_echo_the_last_sender_report() -> None:
    stats = ReceiveStatistics(VIDEO_RATE)
    feed(stats, [1, 2, 3])
    ntp = (0x12345678 << 32) | 0x9ABCDEF0
    stats.on_sender_report(ntp, 10.0)
    block = stats.report_block(1, 10.5)
    assert block is not None
    assert block.lsr == 0x56789ABC  # the middle 32 bits
    assert block.dlsr == 32768  # half a second in 1/65536 s
    # The block survives aiortc's own parser (what a client decodes).
    packet = RtcpPacket.parse(bytes(RtcpRrPacket(ssrc=7, reports=[block])))[0]
    assert isinstance(packet, RtcpRrPacket) and packet.reports == [block]


def test_round_trip_from_echoed_sender_reports() -> None:
    trip = RoundTrip()
    ntp_a = 0x0000_1111_2222_0000
    ntp_b = 0x0000_1111_3333_0000
    trip.sent_sender_report(5, ntp_a, when=100.0)
    trip.sent_sender_report(5, ntp_b, when=101.0)
    # The client held SR a for 0.25 s and answered at 100.4: 0.15 s on the wire both ways.
    assert trip.on_report_block(5, 0x1111_2222, int(0.25 * 65536), now=100.4) is not None
    assert trip.rtt is not None and abs(trip.rtt - 0.15) < 0.001
    # Unknown SSRC, unknown LSR, or no LSR at all: no sample.
    assert trip.on_report_block(6, 0x1111_2222, 0, now=100.5) is None
    assert trip.on_report_block(5, 0x7777_7777, 0, now=100.5) is None
    assert trip.on_report_block(5, 0, 0, now=100.5) is None
    # A forged DLSR that makes the round trip negative is ignored.
    assert trip.on_report_block(5, 0x1111_3333, 65536 * 5, now=101.1) is None
    # Later samples are smoothed in.
    trip.on_report_block(5, 0x1111_3333, 0, now=101.35)
    assert 0.15 < trip.rtt < 0.35 and trip.samples == 2


async def test_a_leg_with_no_reports_is_timed_by_its_own_repairs() -> None:
    """A client that only publishes echoes no sender reports; the first retransmission that
    comes back (even too late) times the leg, and the next loss waits long enough."""

    async def send_nack(lost: list[int]) -> None:
        pass

    given_up: list[list[int]] = []
    repair = UpstreamRepair(send_nack, on_unrepairable=given_up.append)
    repair.on_sequence(1)
    repair.on_sequence(3)  # 2 lost: NACKed at once
    await asyncio.sleep(0.25)  # asked twice, 80 ms apart, then given up
    assert given_up == [[2]]
    repair.retransmitted(2)  # its retransmission (RTX), ~250 ms after the first NACK
    assert not repair.on_sequence(2)
    rtt = repair.repair_rtt
    assert rtt is not None and 0.2 <= rtt < 0.5, rtt
    assert abs(repair.retry_after - (1.5 * rtt + 0.02)) < 1e-9
    # An original that was only late (reordered) does not time the leg.
    repair.on_sequence(5)
    await asyncio.sleep(0.005)
    assert repair.on_sequence(4)
    assert repair.repair_rtt == rtt
    await repair.close()


async def test_reordering_does_not_use_up_the_nacks_of_a_packet_on_its_way() -> None:
    """A leg that reorders makes a new gap every few ms; each must not re-ask (and count)
    every older missing packet, or one lost packet is given up before its repair can come."""
    sent: list[list[int]] = []

    async def send_nack(lost: list[int]) -> None:
        sent.append(lost)

    given_up: list[list[int]] = []
    repair = UpstreamRepair(send_nack, on_unrepairable=given_up.append, min_interval=0.0)
    repair.set_round_trip(0.15)  # retry after 245 ms
    repair.on_sequence(1)
    repair.on_sequence(3)  # 2 lost for good (its retransmission will take ~160 ms)
    for seq in range(4, 40, 2):  # every 10 ms a packet overtakes another
        await asyncio.sleep(0.01)
        repair.on_sequence(seq + 1)
        repair.on_sequence(seq)
    await asyncio.sleep(0.0)
    assert not given_up, given_up
    assert sum(batch.count(2) for batch in sent) == 1  # asked once so far, not per gap
    assert repair.on_sequence(2)  # the retransmission, in time
    assert repair.recovered >= 1 and not given_up
    await repair.close()


async def test_a_measured_round_trip_paces_upstream_nacks_and_keyframe_requests() -> None:
    sent: list[list[int]] = []

    async def send_nack(lost: list[int]) -> None:
        sent.append(lost)

    repair = UpstreamRepair(send_nack)
    assert repair.retry_after == 0.08
    repair.set_round_trip(0.01)
    assert repair.retry_after == 0.08  # loopback: the floor stays
    repair.set_round_trip(0.3)
    assert abs(repair.retry_after - 0.47) < 1e-9  # 1.5 round trips and 20 ms
    repair.set_round_trip(5.0)
    assert repair.retry_after == MAX_RETRY_AFTER
    # With a 150 ms round trip, a packet whose retransmission comes 180 ms after the NACK
    # is recovered, not given up at 160 ms (two NACKs 80 ms apart).
    given_up: list[list[int]] = []
    repair = UpstreamRepair(send_nack, on_unrepairable=given_up.append)
    repair.set_round_trip(0.15)
    repair.on_sequence(1)
    repair.on_sequence(3)
    await asyncio.sleep(0.18)
    assert repair.on_sequence(2)  # the retransmission, in time
    assert repair.recovered == 1 and not given_up
    await repair.close()

    async def send_pli() -> None:
        pass

    requester = KeyframeRequester(send_pli)
    requester.set_round_trip(0.1)
    assert requester.min_interval == 0.5
    requester.set_round_trip(0.4)
    assert requester.min_interval == 0.8
    await requester.close()


# --- through a real Room, with real loss ------------------------------------------------


def stats_of(report: dict[str, Any], kind: str, stats_type: str) -> Any:
    return next(s for s in report.values() if s.type == stats_type and s.kind == kind)


async def test_a_publisher_behind_5_percent_loss_hears_it_and_both_sides_measure_the_rtt() -> None:
    configuration = RTCConfiguration(iceServers=[], bundlePolicy=NO_STUN.bundlePolicy)
    room = Room(RoomId("call-rtcp"), configuration)
    alice, bob = RelayPeer(), RelayPeer()
    try:
        await join_room_pair(room, alice, bob)
        await bob.frames_grow("camera", 3)
        assert alice.pc is not None
        started = await alice.pc.getStats()
        before = {kind: stats_of(started, kind, "outbound-rtp") for kind in ("audio", "video")}
        publications = room.participants[ALICE].publications
        counted = [(p.receive.expected, p.receive.cumulative_lost) for p in publications]
        links: list[LinkReport] = []
        monitor = LinkMonitor(lambda: [room], links.append)
        for _ in range(100):  # Bob has reported on both streams: his downlink is measurable
            if len(room.participants[BOB].legs[0].downlink) == 2:
                break
            await asyncio.sleep(0.1)
        monitor.check()  # the window starts here
        with udp_loss(local_port(alice), 0.05):
            await asyncio.sleep(8.0)
            after = await alice.pc.getStats()
            links.clear()
            monitor.check()
            now = [(p.receive.expected, p.receive.cumulative_lost) for p in publications]
            expected = sum(e1 - e0 for (e0, _), (e1, _) in zip(counted, now, strict=True))
            lost = sum(n1 - n0 for (_, n0), (_, n1) in zip(counted, now, strict=True))
        # The relay counted about 5 % of Alice's packets lost (~600 packets: 2.5-8 % is
        # three standard deviations of a binomial count either way).
        print(f"relay: {lost} of {expected} lost ({lost / expected:.1%})")
        assert 0.025 <= lost / expected <= 0.08
        # Alice heard it in the relay's receiver reports: loss (the last report is up to
        # 1.5 s old, so a little under what was sent), and a round trip from LSR/DLSR.
        sent = heard_lost = 0
        for kind in ("audio", "video"):
            heard = stats_of(after, kind, "remote-inbound-rtp")
            sent += stats_of(after, kind, "outbound-rtp").packetsSent - before[kind].packetsSent
            heard_lost += heard.packetsLost
            assert heard.roundTripTime is not None and heard.roundTripTime > 0, heard
        print(f"Alice heard {heard_lost} of {sent} lost ({heard_lost / sent:.1%})")
        assert 0.01 <= heard_lost / sent <= 0.1
        # What signaling is told (LinkReport): the same share over the window, both round trips.
        by_who = {report.participant_id: report for report in links}
        print("link reports:", by_who)
        assert by_who[ALICE].uplink_loss_pct is not None
        assert 2.5 <= by_who[ALICE].uplink_loss_pct <= 8
        assert all(r.rtt_ms is not None and 0 < r.rtt_ms < 500 for r in by_who.values())
        assert by_who[BOB].uplink_loss_pct is not None and by_who[BOB].uplink_loss_pct < 1
        # Bob's downlink over the same window, from his reports' counters: Alice's lost audio
        # (the repaired video lost nothing), so some loss and under what Alice's uplink lost.
        down = by_who[BOB].downlink_loss_pct
        assert down is not None and 0 < down < by_who[ALICE].uplink_loss_pct, by_who[BOB]
        # The relay's side: the round trip of both legs from their report blocks, the loss
        # counted per publication, and Bob's downlink reports: his video lost nothing (the
        # relay repaired Alice's uplink with NACKs before forwarding it); Opus takes no NACK,
        # so what Alice's audio lost on her uplink shows in his report as well.
        alice_leg = room.participants[ALICE].legs[0]
        bob_leg = room.participants[BOB].legs[0]
        for leg in (alice_leg, bob_leg):
            assert leg.rtt is not None and 0 < leg.rtt < 0.5, leg.rtt
            assert leg.reports_sent >= 4
        camera = next(p for p in room.participants[ALICE].publications if p.stream.kind == "video")
        assert camera.receive.cumulative_lost > 0
        assert camera.repair is not None and camera.repair.retry_after >= 0.08
        kinds = {
            slot.subscription.stream.local_ssrc: slot.subscription.stream.kind
            for slot in room.participants[BOB].slots
            if slot.subscription is not None
        }
        reported = {kinds[ssrc]: report for ssrc, report in bob_leg.downlink.items()}
        print("Bob's downlink:", reported)
        assert reported["video"].packets_lost <= 2, reported
        assert reported["audio"].packets_lost > 0, reported
        await bob.frames_grow("camera", 10)
    finally:
        await alice.close()
        await bob.close()
        await room.close(CloseReason.CALL_ENDED)


def local_port(peer: RelayPeer) -> int:
    assert peer.pc is not None
    ice = peer.pc.getTransceivers()[0].sender.transport.transport
    return int(aiortc_compat.nominated_pairs(aiortc_compat.ice_connection(ice))[1].local_addr[1])


async def test_a_lossy_downlink_lowers_what_the_publisher_is_asked_to_send() -> None:
    """20 % lost on the way to Bob: his REMB (delay-based) does not move, his receiver
    reports do; the relay caps his share and Alice is asked for less, then for as much as
    before once the loss is gone."""
    configuration = RTCConfiguration(iceServers=[], bundlePolicy=NO_STUN.bundlePolicy)
    room = Room(RoomId("call-cap"), configuration)
    # A moving picture, so Alice sends (and Bob's REMB says) far more than a cap's floor.
    alice = RelayPeer(sources={"camera": lambda: StampedVideoTrack(320, 240, 30)})
    bob = RelayPeer()
    try:
        await join_room_pair(room, alice, bob)
        await bob.frames_grow("camera", 3)
        camera = next(p for p in room.participants[ALICE].publications if p.stream.kind == "video")
        subscription = next(
            s.subscription
            for s in room.participants[BOB].slots
            if s.subscription is not None and s.subscription.stream.kind == "video"
        )
        await until(lambda: subscription.remb_received > 0, 10)
        clean = camera.bandwidth.current()
        assert clean is not None and subscription.loss_limit.cap is None
        with udp_loss(local_port(bob), 0.2, towards=True):
            await until(lambda: subscription.loss_limit.cap is not None, 10)

            # Each loss window (receiver reports every ~1 s) takes another 10 % off while
            # the loss lasts: on a loaded machine the windows close later, so wait for it.
            def asked_less() -> bool:
                asked, sent = camera.bandwidth.current(), camera.bandwidth.last_bitrate
                return (asked or clean) < 0.8 * clean and (sent or clean) < 0.8 * clean

            with contextlib.suppress(TimeoutError):
                await until(asked_less, 15)
            asked = camera.bandwidth.current()
            print(f"asked of Alice: {clean} bit/s clean, {asked} with 20 % lost to Bob")
            assert asked is not None and asked < 0.8 * clean
            assert camera.bandwidth.last_bitrate is not None
            assert camera.bandwidth.last_bitrate < 0.8 * clean  # and it went out as REMB
        await until(lambda: subscription.loss_limit.cap is None, 15)
        assert (camera.bandwidth.current() or 0) >= 0.8 * clean
    finally:
        await alice.close()
        await bob.close()
        await room.close(CloseReason.CALL_ENDED)


async def test_the_relay_answers_opus_asking_for_in_band_fec() -> None:
    configuration = RTCConfiguration(iceServers=[], bundlePolicy=NO_STUN.bundlePolicy)
    room = Room(RoomId("call-fec"), configuration)
    alice = RelayPeer()
    try:
        offer, tracks = await alice.offer()
        answer = await room.join(ALICE, offer, tracks)
        opus = re.search(r"a=rtpmap:(\d+) opus/48000/2", answer)
        assert opus is not None, answer
        fmtp = re.search(rf"a=fmtp:{opus.group(1)} ([^\r\n]*)", answer)
        assert fmtp is not None and "useinbandfec=1" in fmtp.group(1).split(";"), answer
        await alice.accept(answer)
        await until(lambda: alice.connected)
    finally:
        await alice.close()
        await room.close(CloseReason.CALL_ENDED)


def test_a_link_report_crosses_the_wire_and_bad_figures_are_refused() -> None:
    report = LinkReport(RoomId("call-1"), ALICE, 148.2, 4.9, 6.1, None, None)
    assert event_from_wire(event_to_wire(report)) == report
    wire = event_to_wire(report)
    for field, bad in (("uplink_loss_pct", 101), ("rtt_ms", -1), ("downlink_jitter_ms", True)):
        with pytest.raises(ValueError, match=field):
            event_from_wire({**wire, field: bad})
    with pytest.raises(ValueError, match="without"):
        event_from_wire({k: v for k, v in wire.items() if k != "rtt_ms"})


def test_loss_in_a_subscribers_reports_caps_its_estimate_until_it_stays_clean() -> None:
    sent = [0]
    counters = {"highest": 1000, "lost": 0}
    limit = LossLimit(lambda: sent[0])

    def report(octets: int, loss: float, at: float, packets: int = 100) -> float | None:
        """One second's worth: `packets` expected, `loss` of them lost."""
        sent[0] += octets
        counters["highest"] += packets
        counters["lost"] += round(loss * packets)
        return limit.on_report(counters["highest"], counters["lost"], at)

    assert report(125_000, 0.0, 0.0) is None  # the first report only starts the measure
    assert report(125_000, 0.01, 1.0) is None and limit.limit(2_000_000) == 2_000_000
    cap = report(125_000, 0.2, 2.0)  # 1 Mbit/s received, 20 % lost: cut by 10 %
    assert cap is not None and abs(cap - 900_000) < 1
    assert limit.limit(2_000_000) == 900_000 and limit.limit(500_000) == 500_000
    assert report(125_000, 0.05, 3.0) == cap  # between 2 and 10 %: hold
    grown = report(125_000, 0.0, 4.0)
    assert grown is not None and abs(grown - cap * 1.08) < 1
    assert report(125_000, 0.0, 5.0) is not None
    assert report(125_000, 0.0, 6.0) is None  # three clean windows: lifted
    # Heavy loss on a starved link never caps below what a keyframe needs.
    report(100, 0.9, 7.0)
    assert limit.cap == MIN_BITRATE


def test_the_report_sent_with_a_nack_does_not_cut_the_estimate_of_a_link_losing_2_percent() -> None:
    """Chromium sends a receiver report with every NACK: the one right after a loss covers a
    few packets and that loss (25 % here). Over a second the link loses 1.6 %: no cap."""
    sent = [0]
    limit = LossLimit(lambda: sent[0])
    highest, lost, at = 0, 0, 0.0
    for step in range(200):  # 20 s of reports every 0.1 s
        at += 0.1
        sent[0] += 18_000
        if step % 5 == 4:
            highest, lost = highest + 4, lost + 1  # the NACK's report: 1 of 4 lost
        else:
            highest += 15
        limit.on_report(highest, lost, at)
        assert limit.cap is None, (step, limit.cap)


def test_a_loss_window_needs_a_second_and_enough_packets() -> None:
    window = LossWindow(seconds=1.0, min_packets=20)
    assert window.add(100, 0, 0.0) is None
    assert window.add(110, 5, 0.5) is None  # too early
    assert window.add(115, 5, 1.2) is None  # too few packets (15)
    sample = window.add(200, 10, 1.5)
    assert sample is not None and sample.expected == 100 and sample.fraction == 0.1
    assert window.add(150, 10, 3.0) is None  # the stream restarted: start over
    sample = window.add(250, 9, 4.0)  # repairs made the count fall: never below 0
    assert sample is not None and sample.fraction == 0.0
