"""A headless call participant: one aiortc peer connection to the relay with the protocol's
three m-lines (audio, camera, screen), joined through a customer's or agent's socket.

What arrives is read as it would be by a person: video frames are decoded and their
stamps (media/stamps.py) read, so tests and load runs see frame numbers and end-to-end
delay; audio frames are kept for a tone check. A load run's participants, which send a
pre-encoded clip, can instead read at the RTP level (`frame_index`, loadtest/rtp_tap.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcdtlstransport import RTCCertificate
from av import AudioFrame, VideoFrame

from loadtest.clients import Requester
from loadtest.clip_tracks import ClipVideoTrack
from loadtest.rtp_tap import RtpTap, install
from media.stamps import now_ms, read_stamp
from media.tone import frame_samples
from relay.rtc import aiortc_compat

Role = Literal["audio", "camera", "screen"]
"""A track's role: the protocol's words (docs/protocol.md §8), not an import of server code."""
StampHook = Callable[["Role", int, float], None]
"""Told (role, stamp's frame number, loop time) for every stamped frame decoded."""
AUDIO_GAP_S = 0.1
"""Audio frames arrive every 20 ms; a silence of 100 ms or more is a gap a person hears."""

ROLES: tuple[Role, ...] = ("audio", "camera", "screen")
"""The protocol's m-line order."""
# max-bundle: with aiortc's default (balanced) a third m-line keeps an orphaned transport.
NO_STUN = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


def ice_configuration(
    ice_servers: list[dict[str, Any]], *, relay_only: bool = False
) -> RTCConfiguration:
    """An RTCConfiguration from call.ice_servers' list (aiortc uses its first STUN and first
    TURN URL); `relay_only`: gather and use TURN relay candidates only."""
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(
                urls=list(server["urls"]),
                username=server.get("username"),
                credential=server.get("credential"),
            )
            for server in ice_servers
        ],
        iceTransportPolicy=RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL,
        bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
    )


@dataclass
class Received:
    """What one remote m-line delivered."""

    frames: int = 0
    stamps: list[tuple[int, float]] = field(default_factory=list)
    """(frame number, delay ms from the stamp's send time to decode here)."""
    first_frame_at: float | None = None
    audio: list[np.ndarray] = field(default_factory=list)
    size: tuple[int, int] | None = None
    last_frame_at: float | None = None
    gaps: int = 0
    """Audio: pauses of AUDIO_GAP_S or more between decoded frames."""

    @property
    def numbers(self) -> list[int]:
        return [number for number, _delay in self.stamps]


def prefer_codecs(transceiver: RTCRtpTransceiver, mime_types: tuple[str, ...]) -> None:
    """Offer only these video codecs (and RTX), in this order of preference."""
    codecs = RTCRtpSender.getCapabilities("video").codecs
    rtx = [c for c in codecs if c.mimeType == "video/rtx"]
    transceiver.setCodecPreferences(
        [c for mime in mime_types for c in codecs if c.mimeType == mime] + rtx
    )


class CallPeer:
    """Lifecycle: new → joined (join(); again after a drop: a fresh peer connection) → closed.

    `tracks` are what this side sends per role (None: the m-line stays empty until
    set_track). Received media is consumed continuously into `received[role]`.
    """

    def __init__(
        self,
        participant: Requester,
        call_id: int,
        tracks: dict[Role, MediaStreamTrack | None] | None = None,
        *,
        video_codecs: tuple[str, ...] = ("video/VP8",),
        keep_audio: bool = False,
        read_stamps: bool = True,
        on_first_frame: Callable[[Role], None] | None = None,
        on_stamp: StampHook | None = None,
        frame_index: dict[bytes, int] | None = None,
        relay_only: bool = False,
        hears_voice: bool = False,
        certificate: RTCCertificate | None = None,
    ) -> None:
        self.participant = participant
        self.certificate = certificate
        """Shared by this process's peers (a load run's: one key and SSL context for all);
        None: aiortc makes one per peer connection, as a browser does."""
        self.hears_voice = hears_voice
        """Offer the optional fourth m-line (receive-only audio, role "voice") on which a
        supervisor's whisper or barge is heard; its decoded frames count in voice_frames."""
        self.voice: RTCRtpTransceiver | None = None
        self.voice_frames = 0
        self.call_id = call_id
        self.tracks: dict[Role, MediaStreamTrack | None] = {r: None for r in ROLES}
        self.tracks.update(tracks or {})
        self.video_codecs = video_codecs
        self.keep_audio = keep_audio
        self.read_stamps = read_stamps
        """Read every video frame's stamp (its number and delay); off, frames are only counted."""
        self.on_first_frame = on_first_frame
        self.on_stamp = on_stamp
        self.frame_index = frame_index
        """Set (a clip's Clip.video_index()): media is read at the RTP level, nothing decoded
        (loadtest/rtp_tap.py); frames are known by their clip frame number."""
        self.relay_only = relay_only
        """Use only TURN relay candidates (iceTransportPolicy "relay"): media goes through the
        TURN server call.ice_servers names, never directly to the relay."""
        self.ice_servers: list[dict[str, Any]] = []
        """What call.ice_servers handed this participant for its last peer connection."""
        self.taps: dict[Role, RtpTap] = {}
        self.pc: RTCPeerConnection | None = None
        self.transceivers: dict[Role, RTCRtpTransceiver] = {}
        self.received: dict[Role, Received] = {r: Received() for r in ROLES}
        self._readers: set[asyncio.Task[None]] = set()
        self.joins = 0
        self.relay_session: int | None = None
        """The relay_session of the call at our last join (protocol §8)."""
        self.connected_at: float | None = None
        """Loop time the first peer connection reached "connected" (ICE + DTLS done)."""
        self._prepared = False

    async def prepare(self) -> None:
        """Build a fresh peer connection and its gathered offer, without telling the server.

        A client does this while it waits for the other side (the caller once call.start has
        answered, the callee while it rings), so the next join() only has to send the offer.
        Its ICE servers come from call.ice_servers; a peer connection prepared before the call
        exists (call_id 0: a pre-warmed benchmark client) has none.
        """
        await self._close_pc()
        configuration = NO_STUN
        if self.call_id:
            handed = await self.participant.request("call.ice_servers", {"call_id": self.call_id})
            self.ice_servers = list(handed["ice_servers"])
            configuration = ice_configuration(self.ice_servers, relay_only=self.relay_only)
        if self.certificate is None:
            pc = self.pc = RTCPeerConnection(configuration)
        else:
            pc = self.pc = aiortc_compat.peer_connection(configuration, self.certificate)
        for role in ROLES:
            kind = "audio" if role == "audio" else "video"
            transceiver = pc.addTransceiver(kind, direction="sendrecv")
            if kind == "video":
                prefer_codecs(transceiver, self.video_codecs)
            track = self.tracks[role]
            if track is not None:
                transceiver.sender.replaceTrack(track)
                if isinstance(track, ClipVideoTrack):
                    track.sender = transceiver.sender
            self.transceivers[role] = transceiver
            if self.frame_index is not None:
                self.taps[role] = RtpTap(kind == "video", self.frame_index, self._seen(role))
                install(transceiver.receiver, self.taps[role], asyncio.get_running_loop().time)
                aiortc_compat.skip_decoder_thread(transceiver.receiver)  # it would decode nothing
        self.voice = pc.addTransceiver("audio", direction="recvonly") if self.hears_voice else None

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState == "connected" and self.connected_at is None:
                self.connected_at = asyncio.get_running_loop().time()

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if self.taps:
                return  # read at the RTP level
            if self.voice is not None and self.voice.receiver.track is track:
                task = asyncio.create_task(self._count_voice(track))
                self._readers.add(task)
                task.add_done_callback(self._readers.discard)
            for role, transceiver in self.transceivers.items():
                if transceiver.receiver.track is track:
                    task = asyncio.create_task(self._read(role, track))
                    self._readers.add(task)
                    task.add_done_callback(self._readers.discard)

        await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers before returning
        self._prepared = True

    @property
    def prepared(self) -> bool:
        """A peer connection is built and its offer gathered, not yet sent."""
        return self._prepared

    async def join(self) -> dict[str, Any]:
        """(Re)join with a fresh peer connection (the prepared one if any); returns the
        call.join ack data. The media flags ride along (docs/protocol.md §8)."""
        if not self._prepared:
            await self.prepare()
        self._prepared = False
        pc = self.pc
        assert pc is not None
        roles_by_mid: dict[str, str] = {str(t.mid): role for role, t in self.transceivers.items()}
        if self.voice is not None:
            roles_by_mid[str(self.voice.mid)] = "voice"
        ack = await self.participant.request(
            "call.join",
            {
                "call_id": self.call_id,
                "offer": pc.localDescription.sdp,
                "tracks": roles_by_mid,
                "media": self.media_flags(),
            },
            timeout=30,
        )
        await pc.setRemoteDescription(RTCSessionDescription(sdp=ack["answer"], type="answer"))
        self.joins += 1
        self.relay_session = ack["call"].get("relay_session")
        return dict(ack)

    def moved(self, call: dict[str, Any]) -> bool:
        """Whether this Call snapshot asks us to join again: it is active and names another
        relay_session than the one we joined (the relay worker hosting it died)."""
        session = call.get("relay_session")
        return (
            call.get("state") == "active"
            and self.relay_session is not None
            and session is not None
            and session != self.relay_session
        )

    def media_flags(self) -> dict[str, bool]:
        return {role: self.tracks[role] is not None for role in ROLES}

    async def send_media_state(self) -> dict[str, Any]:
        ack = await self.participant.request(
            "call.media", {"call_id": self.call_id, **self.media_flags()}
        )
        return dict(ack)

    async def set_track(self, role: Role, track: MediaStreamTrack | None) -> None:
        """Start or stop sending on an m-line without renegotiating (replaceTrack)."""
        old = self.tracks[role]
        self.tracks[role] = track
        if role in self.transceivers:
            self.transceivers[role].sender.replaceTrack(track)
            if isinstance(track, ClipVideoTrack):
                track.sender = self.transceivers[role].sender
        if old is not None and old is not track:
            old.stop()
        await self.send_media_state()

    def _count_frame(self, role: Role, now: float) -> Received:
        got = self.received[role]  # reset_received() may have swapped it
        got.frames += 1
        if got.last_frame_at is not None and now - got.last_frame_at >= AUDIO_GAP_S:
            got.gaps += 1
        got.last_frame_at = now
        if got.first_frame_at is None:
            got.first_frame_at = now
            if self.on_first_frame is not None:
                self.on_first_frame(role)
        return got

    def _seen(self, role: Role) -> Callable[[int | None, float], None]:
        """A tap's frame callback: counted, and a video frame's clip number told."""

        def seen(number: int | None, now: float) -> None:
            self._count_frame(role, now)
            if number is not None and self.on_stamp is not None:
                self.on_stamp(role, number, now)

        return seen

    async def _read(self, role: Role, track: MediaStreamTrack) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                frame = await track.recv()
                now = loop.time()
                got = self._count_frame(role, now)
                if isinstance(frame, AudioFrame):
                    if self.keep_audio:
                        got.audio.append(frame_samples(frame))
                    continue
                if not isinstance(frame, VideoFrame):
                    continue
                got.size = (frame.width, frame.height)
                if not self.read_stamps:
                    continue
                stamp = read_stamp(frame)
                if stamp is not None:
                    got.stamps.append((stamp.number, now_ms() - stamp.sent_at_ms))
                    if self.on_stamp is not None:
                        self.on_stamp(role, stamp.number, now)

    async def _count_voice(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                await track.recv()
                self.voice_frames += 1

    async def wait_frames(self, role: Role, count: int, timeout: float = 15.0) -> Received:
        got = self.received[role]
        async with asyncio.timeout(timeout):
            while got.frames < count:  # noqa: ASYNC110  (frames arrive from reader tasks)
                await asyncio.sleep(0.02)
        return got

    def reset_received(self, role: Role) -> None:
        self.received[role] = Received()

    async def stats(self) -> dict[str, Any]:
        """A call.stats payload from this peer connection's getStats()."""
        assert self.pc is not None
        report = await self.pc.getStats()
        rtt = jitter = 0.0
        lost = packets = 0
        for stat in report.values():
            if stat.type == "remote-inbound-rtp" and stat.roundTripTime is not None:
                rtt = max(rtt, float(stat.roundTripTime) * 1000)
            if stat.type == "inbound-rtp":
                # aiortc reports jitter in RTP timestamp units (48 kHz audio, 90 kHz video).
                jitter = max(jitter, float(stat.jitter or 0) / (48 if stat.kind == "audio" else 90))
                lost += int(stat.packetsLost or 0)
                packets += int(stat.packetsReceived or 0)
        if self.taps:  # aiortc's receivers never saw the packets: the taps did
            lost = sum(tap.lost for tap in self.taps.values())
            packets = sum(tap.packets for tap in self.taps.values())
        loss = 100.0 * lost / (lost + packets) if lost + packets else 0.0
        size = self.received["camera"].size
        return {
            "call_id": self.call_id,
            "rtt_ms": rtt,
            "jitter_ms": jitter,
            "loss_pct": max(0.0, loss),
            "bitrate_kbps": 0.0,
            "width": size[0] if size else None,
            "height": size[1] if size else None,
        }

    async def _close_pc(self) -> None:
        for task in list(self._readers):
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        if self.pc is not None:
            await self.pc.close()
            self.pc = None
        self.transceivers.clear()
        self.taps.clear()
        self._prepared = False

    async def drop(self) -> None:
        """Lose the peer connection without telling anyone (a network cut)."""
        await self._close_pc()

    async def close(self) -> None:
        await self._close_pc()
        for role in ROLES:
            track = self.tracks[role]
            if track is not None:
                track.stop()
