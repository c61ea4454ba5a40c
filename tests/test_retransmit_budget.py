"""Answering a subscriber's NACKs without flooding its link: a packet resent at most once per
interval (relay/packet/packet_history.py; the leg's round trip while it is congested), and a
leg's retransmissions within its estimated downlink (relay/packet/retransmit_budget.py). Real
RTP bytes through a real DownTrack and the relay's own estimator; time is passed in."""

from __future__ import annotations

import pytest
from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsTransport
from aiortc.rtcicetransport import RTCIceGatherer, RTCIceTransport

from relay.packet.packet_history import PacketHistory
from relay.packet.retransmit_budget import WINDOW, RetransmitBudget
from relay.packet.rtp_header import parse_header
from relay.packet.send_side_bwe import MIN_BITRATE, SendSideEstimator
from relay.packet.transport_feedback import TransportFeedback
from relay.rtc.down_track import DownTrack
from relay.rtc.send_side import SendSide
from relay.rtc.transport_tap import RtcpTap
from tests.test_relay_core import ListSink, rewriter, rtp

PACKET = 1200


def test_a_packet_is_resent_once_per_interval_and_again_after_it() -> None:
    history = PacketHistory(8)
    history.put(5, b"five")
    assert history.get_for_resend(5, now=1.0, interval=0.1) == b"five"
    history.mark_resent(5, 1.0)
    assert history.get_for_resend(5, now=1.05, interval=0.1) is None  # asked again too soon
    assert history.get_for_resend(5, now=1.11, interval=0.1) == b"five"
    history.put(13, b"thirteen")  # the slot is reused: a new packet, never resent
    assert history.get_for_resend(13, now=1.12, interval=0.1) == b"thirteen"
    history.mark_resent(5, 1.12)  # no longer held: marks nothing
    assert history.get_for_resend(13, now=1.13, interval=0.1) == b"thirteen"
    assert history.get_for_resend(5, now=2.0, interval=0.1) is None  # gone


def test_a_down_track_answers_a_repeated_nack_only_after_the_round_trip() -> None:
    sink = ListSink()
    track = DownTrack(sink, rewriter([0.0]), wait_for_keyframe=False, history_size=16)
    for i in range(3):
        data = rtp(10 + i, 3000 * i)
        track.forward(data, parse_header(data), keyframe_start=False)
    first = parse_header(sink.packets[0]).sequence_number
    lost = [first, first + 1]
    assert track.handle_nack(lost, now=5.0, resend_interval=0.08) == 2
    assert track.handle_nack(lost, now=5.03, resend_interval=0.08) == 0  # still on its way
    assert track.handle_nack([first + 2, first], now=5.05, resend_interval=0.08) == 1
    assert track.handle_nack(lost, now=5.09, resend_interval=0.08) == 2  # a round trip later
    assert len(sink.packets) == 3 + 5 and track.retransmitted == 5


def resends_allowed(budget: RetransmitBudget, now: float) -> int:
    count = 0
    while budget.take(PACKET, now):
        count += 1
        if count > 1000:
            raise AssertionError("the budget never ran out")
    return count


def test_retransmissions_stay_within_the_estimate_over_half_a_second() -> None:
    estimator = SendSideEstimator(start_bitrate=400_000)
    budget = RetransmitBudget(estimator)
    # 400 kbit/s over the 0.5 s window: 25,000 octets, 20 packets of 1,200
    assert resends_allowed(budget, 10.0) == 20 and budget.refused == 1
    assert resends_allowed(budget, 10.25) == 0  # half a window later they still count
    assert resends_allowed(budget, 10.51) == 20  # a window later, the whole allowance again


def test_the_allowance_follows_the_estimate() -> None:
    estimator = SendSideEstimator(start_bitrate=2_000_000)
    budget = RetransmitBudget(estimator)
    assert resends_allowed(budget, 1.0) == int(2_000_000 * WINDOW / 8 // PACKET)
    low = SendSideEstimator(start_bitrate=MIN_BITRATE)
    assert resends_allowed(RetransmitBudget(low), 1.0) == 1  # 1,875 octets


def test_a_subscriber_asking_for_its_whole_history_gets_its_estimate_at_most() -> None:
    """A NACK for every packet held, on every report, with the round trip as short as a
    client can make it: the resends stop at the budget and the rest is refused, counted."""
    estimator = SendSideEstimator(start_bitrate=MIN_BITRATE)  # 30 kbit/s: 1,875 octets
    budget = RetransmitBudget(estimator)
    sink = ListSink()
    track = DownTrack(sink, rewriter([0.0]), wait_for_keyframe=False, history_size=16)
    payload = b"\x90\xe0\x80\x01" + b"x" * 700  # a VP8 delta packet, ~730 octets in all
    for i in range(16):
        data = rtp(10 + i, 3000 * i, payload=payload)
        track.forward(data, parse_header(data), keyframe_start=False)
    first = parse_header(sink.packets[0]).sequence_number
    every = range(first, first + 16)
    resent = sum(
        track.handle_nack(every, now=2.0 + i * 0.01, resend_interval=0.0, budget=budget)
        for i in range(10)
    )
    assert resent == 2 and track.refused == 10 and budget.refused == 10
    assert len(sink.packets) == 16 + 2
    # a refused packet is not marked resent: once there is room it goes at the first request
    refused_seq = parse_header(sink.packets[2]).sequence_number
    later = track.handle_nack([refused_seq], now=2.6, resend_interval=1.0, budget=budget)
    assert later == 1 and parse_header(sink.packets[-1]).sequence_number == refused_seq


async def test_a_leg_refuses_repeats_within_its_round_trip_only_while_congested() -> None:
    """Clean feedback: every request answered (interval 0). Feedback losing half of what
    was sent: a loss cut, the leg congested, repeats refused for a round trip + 5 ms."""
    transport = RTCDtlsTransport(
        RTCIceTransport(RTCIceGatherer()), [RTCCertificate.generateCertificate()]
    )
    tap = RtcpTap(transport)
    side = SendSide(tap)
    feedback = TransportFeedback(sender_ssrc=1, media_ssrc=2)

    def one_feedback(at_us: int, *, lose_every: int = 0) -> None:
        for index in range(30):
            sent_at = at_us + index * 3_000
            seq = side.estimator.history.on_sent(1200, sent_at)
            if not lose_every or index % lose_every:
                feedback.on_packet(seq, sent_at + 20_000)
        packet = feedback.build()
        assert packet is not None
        # the tap's handler, with the arrival time a real link would give (loss is judged
        # over windows of at least 0.5 s)
        side._on_feedback(packet, (at_us + 100_000) / 1e6)

    for i in range(10):
        one_feedback(i * 100_000)
    assert not side.estimator.congested
    assert side.resend_interval(0.12) == 0.0
    for i in range(10, 20):
        one_feedback(i * 100_000, lose_every=2)
    assert side.estimator.loss_cuts >= 1 and side.estimator.congested
    assert side.resend_interval(0.12) == pytest.approx(0.125)
    assert side.resend_interval(None) == pytest.approx(0.055)  # no round trip measured yet
    side.close()
