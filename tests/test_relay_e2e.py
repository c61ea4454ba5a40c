"""Real aiortc peers on loopback: publisher → relay (tap, forward, no decode) → subscriber."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    VideoStreamTrack,
)
from aiortc.rtp import AnyRtcpPacket, RtcpSrPacket, RtpPacket
from av import VideoFrame

from relay.rtc.bandwidth import remb_packet
from relay.rtc.publication import Publication
from relay.rtc.silent_track import SilentTrack
from relay.rtc.subscription import Subscription
from relay.rtc.transport_tap import RtcpTap, RtpTap

NO_STUN = RTCConfiguration(iceServers=[])


def prefer_vp8(transceiver: RTCRtpTransceiver) -> None:
    prefer(transceiver, "video/VP8")


def prefer(transceiver: RTCRtpTransceiver, mime_type: str) -> None:
    """Offer only `mime_type` (and RTX): aiortc's default order puts VP8 first."""
    codecs = RTCRtpSender.getCapabilities("video").codecs
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType in (mime_type, "video/rtx")])


async def negotiate(offerer: RTCPeerConnection, answerer: RTCPeerConnection) -> None:
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll aiortc state that has no single event to wait on (four peers' states)."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("mime_type", ["video/VP8", "video/H264"])
async def test_subscriber_decodes_forwarded_video_and_pli_reaches_publisher(mime_type: str) -> None:
    publisher = RTCPeerConnection(NO_STUN)
    relay_in = RTCPeerConnection(NO_STUN)
    relay_out = RTCPeerConnection(NO_STUN)
    subscriber = RTCPeerConnection(NO_STUN)
    peers = [publisher, relay_in, relay_out, subscriber]
    rtp_tap: RtpTap | None = None
    rtcp_tap: RtcpTap | None = None
    rtcp_tap_in: RtcpTap | None = None
    publication: Publication | None = None
    subscription: Subscription | None = None
    try:
        # Publisher → relay: the relay side answers recvonly.
        source = VideoStreamTrack()
        prefer(publisher.addTransceiver(source, direction="sendonly"), mime_type)
        await negotiate(publisher, relay_in)
        (inbound,) = relay_in.getTransceivers()
        rtp_tap = RtpTap(inbound.receiver.transport)
        rtcp_tap_in = RtcpTap(inbound.receiver.transport)
        publication = Publication(inbound, rtp_tap, rtcp_tap_in)

        # Relay → subscriber: the relay side offers sendonly with a track that never yields.
        prefer(relay_out.addTransceiver(SilentTrack("video"), direction="sendonly"), mime_type)
        received: list[object] = []
        subscriber.on("track", received.append)
        await negotiate(relay_out, subscriber)
        # This test sends its own REMB below: the subscriber's estimator stays out of it
        # (test_subscribers_own_bandwidth_estimate_reaches_the_publisher covers that one).
        subscriber.getReceivers()[0]._RTCRtpReceiver__remote_bitrate_estimator = None  # type: ignore[attr-defined]
        (outbound,) = relay_out.getTransceivers()
        rtcp_tap = RtcpTap(outbound.sender.transport)
        subscription = Subscription(outbound, publication, rtcp_tap)
        assert publication.stream.mime_type == subscription.codec.mime_type == mime_type
        assert subscription.rtx is not None and subscription.codec.nack  # so history is kept

        await until(lambda: all(pc.connectionState == "connected" for pc in peers))
        await until(lambda: bool(received))
        track = received[0]
        for _ in range(5):
            frame = await asyncio.wait_for(track.recv(), 5)  # type: ignore[attr-defined]
            assert isinstance(frame, VideoFrame)
            assert (frame.width, frame.height) == (640, 480)
        down = subscription.down_track
        assert down.sent > 0 and publication.forwarder.received >= down.sent
        # The relay's aiortc receiver never saw the tapped packets (no jitter buffer, no decode),
        # nor did the DTLS transport's receive task: RTP is forwarded from the datagram callback.
        stats = await inbound.receiver.getStats()
        assert not [s for s in stats.values() if s.type == "inbound-rtp"]
        await until(lambda: publication.forwarder.received >= 40)
        dtls_received = inbound.receiver.transport._RTCDtlsTransport__rx_packets
        assert dtls_received < publication.forwarder.received / 4, dtls_received

        # A PLI from the subscriber reaches the publisher's sender (it forces a keyframe).
        (pub_sender,) = publisher.getSenders()
        keyframes_forced: list[int] = []
        original = pub_sender._send_keyframe

        def spy() -> None:
            keyframes_forced.append(1)
            original()

        pub_sender._send_keyframe = spy  # type: ignore[method-assign]
        (sub_receiver,) = subscriber.getReceivers()
        requests_before = subscription.keyframe_requests  # the decoder may have asked too
        await sub_receiver._send_rtcp_pli(outbound.sender._ssrc)
        await until(lambda: bool(keyframes_forced), timeout=5)
        assert subscription.keyframe_requests > requests_before
        assert publication.pli_sent >= 1
        frame = await asyncio.wait_for(track.recv(), 5)  # type: ignore[attr-defined]
        assert (frame.width, frame.height) == (640, 480)

        # A NACK from the subscriber is answered from the relay's history, as RTX (negotiated).
        rtx_seen: list[RtpPacket] = []
        original_rtp = sub_receiver._handle_rtp_packet

        async def spy_rtp(packet: RtpPacket, arrival_time_ms: int) -> None:
            if packet.payload_type == subscription.codec.rtx_payload_type:
                rtx_seen.append(packet)
            await original_rtp(packet, arrival_time_ms)

        sub_receiver._handle_rtp_packet = spy_rtp  # type: ignore[method-assign]
        nacked = down.last_sequence_number
        await sub_receiver._send_rtcp_nack(outbound.sender._ssrc, [nacked])
        await until(lambda: down.retransmitted == 1 and bool(rtx_seen), timeout=5)
        assert rtx_seen[0].ssrc == outbound.sender._rtx_ssrc
        assert rtx_seen[0].payload[:2] == nacked.to_bytes(2, "big")  # the original seq
        sub_receiver._handle_rtp_packet = original_rtp  # type: ignore[method-assign]

        # A REMB from the subscriber (media_ssrc 0, our SSRC in the FCI) reaches the
        # publisher's sender as a REMB for its own SSRC: its encoder takes the bitrate.
        encoder = pub_sender._RTCRtpSender__encoder  # type: ignore[attr-defined]
        assert encoder.target_bitrate != 600_000
        remb = remb_packet(sender_ssrc=1, media_ssrcs=[outbound.sender._ssrc], bitrate=600_000)
        await sub_receiver.transport._send_rtp(remb)
        await until(lambda: encoder.target_bitrate == 600_000, timeout=5)
        assert subscription.remb_received == 1 and publication.remb_sent == 1

        # The publisher's SR reaches the subscriber under our SSRC, with its NTP time.
        srs: list[RtcpSrPacket] = []
        original_rtcp = sub_receiver._handle_rtcp_packet

        async def spy_rtcp(packet: AnyRtcpPacket) -> None:
            if isinstance(packet, RtcpSrPacket):
                srs.append(packet)
            await original_rtcp(packet)

        sub_receiver._handle_rtcp_packet = spy_rtcp  # type: ignore[method-assign]
        await until(lambda: bool(srs), timeout=4)
        # Only ours: the relay's silent sender's own SRs (NTP 0, no packets) are turned into RRs.
        for sr in srs:
            assert sr.ssrc == outbound.sender._ssrc
            assert sr.sender_info.ntp_timestamp and sr.sender_info.packet_count
        assert subscription.sender_reports_sent >= 1 and publication.sender_reports >= 1
    finally:
        if subscription is not None:
            subscription.close()
            subscription.close()
        if publication is not None:
            await publication.close()
            await publication.close()
        for tap in (rtp_tap, rtcp_tap, rtcp_tap_in):
            if tap is not None:
                tap.close()
                tap.close()
        for pc in peers:
            await pc.close()
    # The taps gave the transports back to aiortc's own handlers.
    assert "_handle_rtp_data" not in vars(inbound.receiver.transport)
    assert "_handle_rtcp_data" not in vars(inbound.receiver.transport)
    assert "_send_rtcp" not in vars(outbound.sender)
    assert "_handle_rtcp_data" not in vars(outbound.sender.transport)


async def test_packets_lost_on_the_publishers_leg_are_asked_for_again_and_forwarded() -> None:
    publisher = RTCPeerConnection(NO_STUN)
    relay_in = RTCPeerConnection(NO_STUN)
    rtp_tap: RtpTap | None = None
    rtcp_tap: RtcpTap | None = None
    publication: Publication | None = None
    try:
        prefer_vp8(publisher.addTransceiver(VideoStreamTrack(), direction="sendonly"))
        await negotiate(publisher, relay_in)
        (inbound,) = relay_in.getTransceivers()
        rtp_tap = RtpTap(inbound.receiver.transport)
        rtcp_tap = RtcpTap(inbound.receiver.transport)
        publication = Publication(inbound, rtp_tap, rtcp_tap)
        repair = publication.repair
        assert repair is not None and publication.stream.rtx_payload_type is not None
        arrived: list[int] = []
        publication.forwarder.add_tap(lambda data, header: arrived.append(header.sequence_number))

        # The network between publisher and relay drops three media packets, once each.
        media_pt = publication.stream.payload_type
        dropped: list[int] = []
        dispatch = rtp_tap.dispatch

        def lossy_dispatch(data: bytes) -> bool:
            seq = int.from_bytes(data[2:4], "big")
            media = (data[1] & 0x7F) == media_pt and seq not in dropped
            if media and len(arrived) > 20 and len(dropped) < 3 and seq % 5 == 2:
                dropped.append(seq)
                return True  # swallowed
            return dispatch(data)

        rtp_tap.dispatch = lossy_dispatch  # type: ignore[method-assign]
        await until(lambda: publisher.connectionState == relay_in.connectionState == "connected")
        await until(lambda: len(dropped) == 3, timeout=15)
        # The relay NACKs them; the publisher resends them as RTX; the forwarder gets them.
        await until(lambda: all(seq in arrived for seq in dropped), timeout=10)
        assert repair.nacks_sent >= 1 and repair.recovered >= 3 and repair.lost >= 3
        assert publication.rtx_received >= 3
        assert not repair.missing & set(dropped)
    finally:
        if publication is not None:
            await publication.close()
        for tap in (rtp_tap, rtcp_tap):
            if tap is not None:
                tap.close()
        await publisher.close()
        await relay_in.close()


async def test_subscribers_own_bandwidth_estimate_reaches_the_publisher() -> None:
    """Forwarded packets carry an abs-send-time stamped by the relay, so an aiortc (or
    browser) subscriber's delay-based estimator runs and its REMB goes upstream."""
    publisher = RTCPeerConnection(NO_STUN)
    relay_in = RTCPeerConnection(NO_STUN)
    relay_out = RTCPeerConnection(NO_STUN)
    subscriber = RTCPeerConnection(NO_STUN)
    taps: list[RtpTap | RtcpTap] = []
    drains: list[asyncio.Task[None]] = []
    publication: Publication | None = None
    subscription: Subscription | None = None
    try:
        prefer_vp8(publisher.addTransceiver(VideoStreamTrack(), direction="sendonly"))
        await negotiate(publisher, relay_in)
        (inbound,) = relay_in.getTransceivers()
        rtp_tap, rtcp_in = RtpTap(inbound.receiver.transport), RtcpTap(inbound.receiver.transport)
        taps += [rtp_tap, rtcp_in]
        publication = Publication(inbound, rtp_tap, rtcp_in)
        prefer_vp8(relay_out.addTransceiver(SilentTrack("video"), direction="sendonly"))
        stamps: list[int] = []

        def on_track(track: MediaStreamTrack) -> None:
            async def drain() -> None:
                while True:
                    await track.recv()

            drains.append(asyncio.ensure_future(drain()))

        subscriber.on("track", on_track)
        await negotiate(relay_out, subscriber)
        (sub_receiver,) = subscriber.getReceivers()
        original = sub_receiver._handle_rtp_packet

        async def spy(packet: RtpPacket, arrival_time_ms: int) -> None:
            if packet.extensions.abs_send_time is not None:
                stamps.append(packet.extensions.abs_send_time)
            await original(packet, arrival_time_ms)

        sub_receiver._handle_rtp_packet = spy  # type: ignore[method-assign]
        (outbound,) = relay_out.getTransceivers()
        rtcp_out = RtcpTap(outbound.sender.transport)
        taps.append(rtcp_out)
        subscription = Subscription(outbound, publication, rtcp_out)
        await until(lambda: len(stamps) >= 20)
        assert stamps[-1] != stamps[0]  # stamped as sent, by the relay's clock
        await until(lambda: subscription.remb_received >= 1, timeout=15)
        await until(lambda: publication.remb_sent >= 1, timeout=5)
    finally:
        if subscription is not None:
            subscription.close()
        if publication is not None:
            await publication.close()
        for tap in taps:
            tap.close()
        for pc in (publisher, relay_in, relay_out, subscriber):
            await pc.close()
        for task in drains:
            task.cancel()
