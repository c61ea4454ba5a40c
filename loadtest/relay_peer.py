"""A headless participant of a relay room: the protocol's three m-lines, frames counted per role.

Unlike CallPeer it speaks to a relay Room or RelayControl directly (no signaling), so relay
tests and benchmarks can hand the relay any offer and watch what arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from aiortc import (
    AudioStreamTrack,
    MediaStreamTrack,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError

from loadtest.call_peer import NO_STUN, ROLES
from relay.interface import ParticipantId, RelayControl, RoomId, TrackRole

if TYPE_CHECKING:
    from relay.rtc.room import Room


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll state that has no single event to wait on."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


TrackSource = Callable[[], MediaStreamTrack]
"""Makes a fresh track for a role (each peer connection gets its own)."""


class RelayPeer:
    """Lifecycle: offer() builds a fresh peer connection (again for a rejoin) → accept(answer)
    → close(). Sends audio and camera by default (or what `sources` makes, e.g. stamped
    video and tones, for every role it names); counts every decoded frame per role."""

    def __init__(
        self,
        *,
        camera: bool = True,
        audio: bool = True,
        video_codecs: tuple[str, ...] = ("VP8",),
        sources: Mapping[TrackRole, TrackSource] | None = None,
        hears_voice: bool = False,
    ) -> None:
        self.video_codecs = video_codecs
        self.hears_voice = hears_voice
        """Offer a fourth, receive-only audio m-line for a supervisor's voice."""
        self.sources: dict[TrackRole, TrackSource] = dict(sources or {})
        self.sending: dict[TrackRole, bool] = {"audio": audio, "camera": camera, "screen": False}
        self.sending.update(dict.fromkeys(self.sources, True))
        self._tracks: dict[TrackRole, MediaStreamTrack] = {}
        self.frames: dict[TrackRole, int] = dict.fromkeys((*ROLES, "voice"), 0)
        self.frame_times: dict[TrackRole, list[float]] | None = None
        """Loop time of every decoded video frame per role, once record_times() is called."""
        self.pc: RTCPeerConnection | None = None
        self._senders: dict[TrackRole, RTCRtpSender] = {}
        self._readers: set[asyncio.Task[None]] = set()

    async def offer(self) -> tuple[str, dict[str, TrackRole]]:
        """A fresh peer connection's gathered offer and its mid → role map."""
        await self._close_pc()
        pc = self.pc = RTCPeerConnection(NO_STUN)
        roles: dict[int, TrackRole] = {}
        codecs = RTCRtpSender.getCapabilities("video").codecs
        wanted = [f"video/{name}" for name in self.video_codecs]
        for role in ROLES:
            kind = "audio" if role == "audio" else "video"
            transceiver = pc.addTransceiver(kind, direction="sendrecv")
            if kind == "video":
                transceiver.setCodecPreferences(
                    [c for mime in wanted for c in codecs if c.mimeType == mime]
                    + [c for c in codecs if c.mimeType == "video/rtx"]
                )
            if self.sending[role]:
                transceiver.sender.replaceTrack(self._track(role))
            self._senders[role] = transceiver.sender
            roles[id(transceiver)] = role
        if self.hears_voice:
            roles[id(pc.addTransceiver("audio", direction="recvonly"))] = "voice"

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            for transceiver in pc.getTransceivers():
                if transceiver.receiver.track is track:
                    reader = asyncio.create_task(self._read(roles[id(transceiver)], track))
                    self._readers.add(reader)
                    reader.add_done_callback(self._readers.discard)

        await pc.setLocalDescription(await pc.createOffer())
        tracks = {str(t.mid): roles[id(t)] for t in pc.getTransceivers()}
        return str(pc.localDescription.sdp), tracks

    async def accept(self, answer_sdp: str) -> None:
        assert self.pc is not None
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    @property
    def connected(self) -> bool:
        return self.pc is not None and self.pc.connectionState == "connected"

    def record_times(self) -> None:
        self.frame_times = {role: [] for role in ROLES}

    def _track(self, role: TrackRole) -> MediaStreamTrack:
        """This peer connection's source for `role` (a closed one's tracks send nothing)."""
        track = self._tracks.get(role)
        if track is None:
            source = self.sources.get(role)
            if source is not None:
                track = source()
            else:
                track = AudioStreamTrack() if role == "audio" else VideoStreamTrack()
            self._tracks[role] = track
        return track

    def set_sending(self, role: TrackRole, on: bool) -> None:
        """Start or stop a track without renegotiating (replaceTrack), like a camera toggle."""
        self.sending[role] = on
        sender = self._senders.get(role)
        if sender is not None:
            sender.replaceTrack(self._track(role) if on else None)

    async def frames_grow(self, role: TrackRole, by: int = 3, timeout: float = 10.0) -> None:
        """Wait until `by` more frames of `role` are decoded than now."""
        target = self.frames[role] + by
        await until(lambda: self.frames[role] >= target, timeout)

    async def _read(self, role: TrackRole, track: MediaStreamTrack) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                await track.recv()
                self.frames[role] += 1
                if self.frame_times is not None and role != "audio":
                    self.frame_times[role].append(loop.time())

    async def _close_pc(self) -> None:
        for task in list(self._readers):
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        if self.pc is not None:
            await self.pc.close()
            self.pc = None
        self._senders.clear()
        for track in self._tracks.values():
            track.stop()
        self._tracks.clear()

    async def close(self) -> None:
        await self._close_pc()


def relay_address(peer: RelayPeer) -> tuple[str, int]:
    """The relay's end of the pair the peer's ICE nominated: what the peer sends media to,
    and what an attacker reads in the answer's candidates."""
    assert peer.pc is not None
    pair = peer.pc.getTransceivers()[0].sender.transport.transport._connection._nominated[1]
    host, port = pair.remote_addr
    return str(host), int(port)


async def join_room_pair(room: Room, alice: RelayPeer, bob: RelayPeer) -> None:
    """Join Alice and Bob to an in-process Room (no worker process) and wait until both are
    connected: the start of every test that reaches into a room's participants."""
    for peer, name in ((alice, "alice"), (bob, "bob")):
        offer, tracks = await peer.offer()
        await peer.accept(await room.join(ParticipantId(name), offer, tracks))
    await until(lambda: alice.connected and bob.connected)


async def join_pair(
    relay: RelayControl,
    room: RoomId,
    alice: RelayPeer,
    bob: RelayPeer,
    *,
    frames: int,
    timeout: float,
) -> None:
    """Join Alice and Bob to `room` and wait until they are connected and each has received
    `frames` camera frames from the other (frame times recorded). The caller closes them."""
    for peer, name in ((alice, "alice"), (bob, "bob")):
        offer, tracks = await peer.offer()
        peer.record_times()
        await peer.accept(await relay.join(room, ParticipantId(name), offer, tracks))
    await until(lambda: alice.connected and bob.connected, timeout)
    await bob.frames_grow("camera", frames, timeout)
    await alice.frames_grow("camera", frames, timeout)
