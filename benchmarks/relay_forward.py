"""CPU per forwarded packet of the relay's hot path, measured in-process on real aiortc peers.

    .venv/bin/python -m benchmarks.relay_forward [--packets 20000] [--subscribers 1,4,8]

For each subscriber count N, N pairs of real aiortc peer connections (relay side sendonly
with a SilentTrack, subscriber side recvonly) connect over loopback. Pre-built VP8-shaped
packets (1,100-byte payload, MID and abs-send-time extensions) are SRTP-protected once as
a publisher would; the timed loop then does what the relay does per incoming packet:
SRTP unprotect, Forwarder.on_rtp (header parse, keyframe gate) and per subscriber the
header/extension rewrite, history put, SRTP protect and the send through aiortc's ICE
transport (aioice → asyncio sendto). The subscribers' RTP is tapped and dropped so their
decoders stay idle; their receive work runs between batches and is not timed.
CPU is time.thread_time() of the event-loop thread, so other processes do not count.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import platform
import socket
import statistics
import time
from dataclasses import dataclass
from typing import Any, cast

from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
)
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket
from pylibsrtp import Policy, Session

from relay.interface import ParticipantId
from relay.packet.rtp_header import is_vp8_keyframe_start
from relay.packet.send_side_bwe import SentHistory
from relay.packet.stream_rewriter import StreamRewriter
from relay.rtc.down_track import DownTrack
from relay.rtc.dtls_sink import DtlsRtpSink
from relay.rtc.forwarder import Forwarder
from relay.rtc.ice_guard import DropCounters, IceGuard
from relay.rtc.negotiated import TRANSPORT_CC_URI, negotiated_stream
from relay.rtc.recorder import TrackRecorder
from relay.rtc.silent_track import SilentTrack
from relay.rtc.transport_tap import RtpTap

NO_STUN = RTCConfiguration(iceServers=[])
BATCH = 500
VP8_KEY = bytes([0x90, 0x80, 0x81, 0x23, 0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A])
VP8_DELTA = bytes([0x90, 0x80, 0x81, 0x24, 0x31, 0x02, 0x00])


@dataclass
class Result:
    subscribers: int
    packets: int
    cpu_per_packet_us: float
    """CPU per incoming packet: unprotect + parse + N x (rewrite + protect + send)."""
    ingress_us: float
    """Same loop with no subscriber: unprotect + parse only."""
    recorded_ingress_us: float
    """Same loop with no subscriber but the recorder's tap (relay/rtc/recorder.py)."""

    @property
    def per_forwarded_us(self) -> float:
        return (self.cpu_per_packet_us - self.ingress_us) / max(self.subscribers, 1)

    @property
    def record_us(self) -> float:
        """What recording adds per incoming packet on the loop's thread."""
        return self.recorded_ingress_us - self.ingress_us


def publisher_packets(count: int, key: bytes) -> list[bytes]:
    """SRTP-protected VP8-shaped packets: a keyframe first, then 3 packets per frame."""
    tx = Session(Policy(key=key, ssrc_type=Policy.SSRC_ANY_OUTBOUND))
    return [tx.protect(p) for p in plain_packets(count, 96)]


def plain_packets(count: int, payload_type: int) -> list[bytes]:
    """VP8-shaped RTP packets with MID and abs-send-time extensions, keyframe first."""
    ext_map = HeaderExtensionsMap()
    ext_map.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
                RTCRtpHeaderExtensionParameters(
                    id=3, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
                ),
            ]
        )
    )
    out = []
    for i in range(count):
        packet = RtpPacket(
            payload_type=payload_type, sequence_number=i & 0xFFFF, timestamp=3000 * (i // 3)
        )
        packet.ssrc = 0x1234ABCD
        packet.marker = int(i % 3 == 2)
        packet.payload = (VP8_KEY if i == 0 else VP8_DELTA) + bytes(1100)
        packet.extensions.mid = "0"
        packet.extensions.abs_send_time = i & 0xFFFFFF
        out.append(packet.serialize(ext_map))
    return out


async def connect_pair() -> tuple[RTCPeerConnection, RTCPeerConnection, RTCRtpTransceiver, RtpTap]:
    relay_out = RTCPeerConnection(NO_STUN)
    subscriber = RTCPeerConnection(NO_STUN)
    transceiver = relay_out.addTransceiver(SilentTrack("video"), direction="sendonly")
    codecs = RTCRtpSender.getCapabilities("video").codecs
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType == "video/VP8"])
    await relay_out.setLocalDescription(await relay_out.createOffer())
    await subscriber.setRemoteDescription(relay_out.localDescription)
    await subscriber.setLocalDescription(await subscriber.createAnswer())
    await relay_out.setRemoteDescription(subscriber.localDescription)
    (sub_transceiver,) = subscriber.getTransceivers()
    drop = RtpTap(sub_transceiver.receiver.transport)

    def discard(data: bytes) -> None:
        return None

    drop.route(negotiated_stream(sub_transceiver).payload_type, discard)
    return relay_out, subscriber, transceiver, drop


async def wait_connected(peers: list[RTCPeerConnection]) -> None:
    async with asyncio.timeout(30):
        while any(pc.connectionState != "connected" for pc in peers):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def timed_loop(forwarder: Forwarder, rx: Session, packets: list[bytes]) -> float:
    """CPU seconds of the event-loop thread spent in unprotect + on_rtp, batches apart."""
    cpu = 0.0
    for start in range(0, len(packets), BATCH):
        batch = packets[start : start + BATCH]
        t0 = time.thread_time()
        for data in batch:
            forwarder.on_rtp(rx.unprotect(data))
        cpu += time.thread_time() - t0
        await asyncio.sleep(0.005)  # let subscribers drain their sockets (not timed)
    return cpu


async def run(subscribers: int, count: int, transport_cc: bool = False) -> Result:
    key = os.urandom(30)
    packets = publisher_packets(count, key)
    pairs = [await connect_pair() for _ in range(subscribers)]
    peers = [pc for relay_out, subscriber, _, _ in pairs for pc in (relay_out, subscriber)]
    try:
        await wait_connected(peers)
        results: list[float] = []
        ingress: list[float] = []
        recorded: list[float] = []
        for round_no in range(3):
            # Fresh receive sessions each round: SRTP replay protection rejects repeats.
            empty = Forwarder(keyframe_requester=None, keyframe_detector=is_vp8_keyframe_start)
            rx = Session(Policy(key=key, ssrc_type=Policy.SSRC_ANY_INBOUND))
            ingress.append(await timed_loop(empty, rx, packets) / count)
            # The recorder's tap alone (its buffer is never flushed here: no disk).
            tapped = Forwarder(keyframe_requester=None, keyframe_detector=is_vp8_keyframe_start)
            track = TrackRecorder(ParticipantId("p"), "camera", cast(Any, None), 1)
            tapped.add_tap(track.on_packet)
            rx = Session(Policy(key=key, ssrc_type=Policy.SSRC_ANY_INBOUND))
            recorded.append(await timed_loop(tapped, rx, packets) / count)
            assert len(track.take()) > count * 1100
            forwarder = Forwarder(keyframe_requester=None, keyframe_detector=is_vp8_keyframe_start)
            for _, _, transceiver, _ in pairs:
                stream = negotiated_stream(transceiver)
                history = None
                if transport_cc:
                    # As towards a subscriber that negotiated transport-cc: one more
                    # element, numbered per send (relay/rtc/send_side.py).
                    free = min(set(range(1, 15)) - set(stream.extension_ids.values()))
                    ids = {**stream.extension_ids, TRANSPORT_CC_URI: free}
                    stream = dataclasses.replace(stream, extension_ids=ids)
                    history = SentHistory()
                extensions = stream.outgoing_extensions()
                rewriter = StreamRewriter(
                    transport_seq_at=extensions.transport_seq_at,
                    sent_history=history,
                    out_ssrc=stream.local_ssrc,
                    out_payload_type=stream.payload_type,
                    clock_rate=stream.clock_rate,
                    extension_block=extensions.block,
                    abs_send_time_at=extensions.abs_send_time_at,
                    # Continue after the last round: SRTP rejects an index far behind.
                    first_sequence_number=(round_no * count) & 0xFFFF,
                )
                sink = DtlsRtpSink(transceiver.sender.transport)
                forwarder.add_down_track(DownTrack(sink, rewriter, wait_for_keyframe=True))
            rx = Session(Policy(key=key, ssrc_type=Policy.SSRC_ANY_INBOUND))
            results.append(await timed_loop(forwarder, rx, packets) / count)
            sent = sum(d.sent for d in forwarder.down_tracks)
            assert sent == count * subscribers, (sent, count * subscribers)
            await forwarder.close()
        return Result(
            subscribers=subscribers,
            packets=count,
            cpu_per_packet_us=statistics.median(results) * 1e6,
            ingress_us=statistics.median(ingress) * 1e6,
            recorded_ingress_us=statistics.median(recorded) * 1e6,
        )
    finally:
        for _, _, _, tap in pairs:
            tap.close()
        for pc in peers:
            await pc.close()


class BlackholeSink:
    """RtpSink like DtlsRtpSink (SRTP protect, then an awaited sendto), towards a socket that
    is never read, so no subscriber's receive work runs on the timed thread."""

    def __init__(self, transport: asyncio.DatagramTransport) -> None:
        self._srtp = Session(Policy(key=os.urandom(30), ssrc_type=Policy.SSRC_ANY_OUTBOUND))
        self._transport = transport
        self.sent = 0

    def send_rtp(self, packet: bytes) -> None:
        self._transport.sendto(self._srtp.protect(packet))
        self.sent += 1


async def run_full(subscribers: int, count: int) -> tuple[float, float, int]:
    """Real ingress: a publisher peer sends SRTP over loopback to the relay's peer connection,
    whose receive path (datagram callback → IceGuard → RtpTap: unprotect, dispatch) feeds the
    Forwarder.
    Returns (relay CPU µs per received packet, publisher send µs per packet, received)."""
    loop = asyncio.get_running_loop()
    publisher = RTCPeerConnection(NO_STUN)
    relay_in = RTCPeerConnection(NO_STUN)
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 0))
    out_transport, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, remote_addr=hole.getsockname()
    )
    tap: RtpTap | None = None
    guard: IceGuard | None = None
    try:
        sender_tr = publisher.addTransceiver("video", direction="sendonly")
        codecs = RTCRtpSender.getCapabilities("video").codecs
        sender_tr.setCodecPreferences([c for c in codecs if c.mimeType == "video/VP8"])
        await publisher.setLocalDescription(await publisher.createOffer())
        await relay_in.setRemoteDescription(publisher.localDescription)
        await relay_in.setLocalDescription(await relay_in.createAnswer())
        await publisher.setRemoteDescription(relay_in.localDescription)
        await wait_connected([publisher, relay_in])
        (inbound,) = relay_in.getTransceivers()
        pt = negotiated_stream(inbound).payload_type
        forwarder = Forwarder(keyframe_requester=None, keyframe_detector=is_vp8_keyframe_start)
        sinks = [BlackholeSink(out_transport) for _ in range(subscribers)]
        for sink in sinks:
            rewriter = StreamRewriter(out_ssrc=0x5EED, out_payload_type=96, clock_rate=90000)
            forwarder.add_down_track(DownTrack(sink, rewriter, wait_for_keyframe=True))
        tap = RtpTap(inbound.receiver.transport)
        tap.route(pt, forwarder.on_rtp)
        # As in the relay: each datagram passes the socket guard before aioice (ice_guard.py).
        guard = IceGuard(inbound.receiver.transport.transport._connection, DropCounters())
        pub_dtls = sender_tr.sender.transport
        plain = plain_packets(count, pt)
        protected = [pub_dtls._tx_srtp.protect(p) for p in plain]
        ice_send = pub_dtls.transport._send
        relay_cpu = send_cpu = 0.0
        batch = 100  # 100 x 1.2 kB stays well inside the default socket receive buffer
        for start in range(0, count, batch):
            target = forwarder.received + len(protected[start : start + batch])
            t0 = time.thread_time()
            for data in protected[start : start + batch]:
                await ice_send(data)
            t1 = time.thread_time()
            deadline = loop.time() + 0.5
            while forwarder.received < target and loop.time() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            t2 = time.thread_time()
            send_cpu += t1 - t0
            relay_cpu += t2 - t1
        received = forwarder.received
        await forwarder.close()
        return relay_cpu / received * 1e6, send_cpu / count * 1e6, received
    finally:
        if guard is not None:
            guard.close()
        if tap is not None:
            tap.close()
        out_transport.close()
        hole.close()
        await publisher.close()
        await relay_in.close()


async def main_async(counts: list[int], packets: int, transport_cc: bool, full: bool) -> None:
    print(f"python {platform.python_version()}, asyncio default loop, {os.cpu_count()} CPUs")
    print(f"{packets} packets x 3 rounds per row (median), 1,100-byte VP8-shaped payloads")
    if transport_cc:
        print("towards subscribers: transport-wide numbers stamped and recorded per send")
    print("subs  µs/incoming pkt  ingress µs  µs per forwarded pkt (marginal)  recorder tap µs")
    for n in counts:
        r = await run(n, packets, transport_cc)
        print(
            f"{r.subscribers:>4}  {r.cpu_per_packet_us:>15.1f}  {r.ingress_us:>10.1f}"
            f"  {r.per_forwarded_us:>10.1f}  {r.record_us:>31.2f}"
        )
    if not full:
        return
    print("\nfull receive path (publisher peer → datagram callback, guard, tap → N blackholes)")
    print("subs  relay µs/received pkt  µs per forwarded pkt  received  (publisher send µs)")
    base: float | None = None
    for n in [0, *counts]:
        relay_us, send_us, received = await run_full(n, packets)
        if n == 0:
            base = relay_us
        marginal = (relay_us - (base or 0.0)) / n if n else 0.0
        print(f"{n:>4}  {relay_us:>21.1f}  {marginal:>20.1f}  {received:>8}  ({send_us:.1f})")
    print(
        "design.md, same kind of VM: bare Python SRTP forwarder 44-59 µs/pkt (asyncio, incl."
        " recv), 25-29 (uvloop); Janus 54 µs; aiortc encoded passthrough ~200 µs."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--packets", type=int, default=20000)
    parser.add_argument("--subscribers", default="1,4,8", help="comma-separated counts")
    parser.add_argument(
        "--transport-cc", action="store_true", help="number each send (send-side estimation)"
    )
    parser.add_argument("--no-full", action="store_true", help="skip the full receive path")
    args = parser.parse_args()
    counts = [int(x) for x in args.subscribers.split(",")]
    asyncio.run(main_async(counts, args.packets, args.transport_cc, not args.no_full))


if __name__ == "__main__":
    main()
