"""How one subscriber's estimate is shared among the streams the relay sends it
(relay/rtc/send_side.py): each publisher's video is told its own share together with its
audio's, because a browser reads a REMB as the limit of all it sends. Real aiortc transport
and RTCP tap, the relay's own feedback encoder; feedback goes through the tap's handler."""

from __future__ import annotations

from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsTransport
from aiortc.rtcicetransport import RTCIceGatherer, RTCIceTransport

from relay.packet.transport_feedback import TransportFeedback
from relay.rtc.send_side import SendSide
from relay.rtc.transport_tap import RtcpTap


async def test_each_publishers_video_is_told_its_share_with_its_own_audio() -> None:
    transport = RTCDtlsTransport(
        RTCIceTransport(RTCIceGatherer()), [RTCCertificate.generateCertificate()]
    )
    tap = RtcpTap(transport)
    clock = [100.0]
    side = SendSide(tap, clock=lambda: clock[0])
    sent = {"camera a": 0, "audio a": 0, "camera b": 0, "audio b": 0}
    told: dict[str, int] = {}
    alice, bob = object(), object()
    for name, publisher in (("a", alice), ("b", bob)):
        side.join(
            f"camera {name}",
            lambda n=name: sent[f"camera {n}"],  # type: ignore[misc]
            lambda share, _congested, n=name: told.__setitem__(n, share),  # type: ignore[misc]
            publisher,
        )
        side.join(f"audio {name}", lambda n=name: sent[f"audio {n}"], None, publisher)  # type: ignore[misc]
    feedback = TransportFeedback(sender_ssrc=1, media_ssrc=2)

    async def one_feedback(at_us: int) -> None:
        for index in range(10):
            seq = side.estimator.history.on_sent(1200, at_us + index * 1000)
            feedback.on_packet(seq, at_us + index * 1000 + 20_000)
        packet = feedback.build()
        assert packet is not None
        await tap._handle_rtcp_data(packet)  # the path an RTCP datagram takes

    await one_feedback(0)  # each stream's rate window opens
    clock[0] += 0.5  # half a second: cameras 400 kbit/s, audio 40 and 60 kbit/s
    sent.update({"camera a": 25_000, "audio a": 2_500, "camera b": 25_000, "audio b": 3_750})
    await one_feedback(500_000)
    assert side.feedback_received == 2
    estimate = side.estimator.estimate
    total = 400_000 + 40_000 + 400_000 + 60_000
    assert told["a"] == int(estimate * 440_000 / total)
    assert told["b"] == int(estimate * 460_000 / total)
    side.close()
