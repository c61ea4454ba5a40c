"""A supervisor's peer connection to a call's relay room: it receives each party's audio,
camera and screen on m-lines pinned to that party (`sources`), and sends its own voice on
one m-line the relay forwards only as the mode says (monitor: nobody, whisper: the agent,
barge: everyone). Frames are counted per (party, role), so a test can tell whose arrived."""

from __future__ import annotations

import asyncio
import contextlib

from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from loadtest.call_peer import NO_STUN, ROLES

PARTIES = ("customer", "agent")


class SupervisorPeer:
    """Lifecycle: offer() → accept(answer) → close(). `voice` is what it says (a track);
    it is sent from the start and the relay decides who hears it."""

    def __init__(self, voice: MediaStreamTrack, configuration: RTCConfiguration = NO_STUN) -> None:
        self.voice = voice
        self.pc = RTCPeerConnection(configuration)
        self.frames: dict[tuple[str, str], int] = {
            (party, role): 0 for party in PARTIES for role in ROLES
        }
        self._readers: set[asyncio.Task[None]] = set()

    async def offer(self) -> tuple[str, dict[str, str], dict[str, str]]:
        """The gathered offer, its mid → role map and its mid → party map."""
        pinned: dict[int, tuple[str, str]] = {}
        for party in PARTIES:
            for wanted in ROLES:
                kind = "audio" if wanted == "audio" else "video"
                transceiver = self.pc.addTransceiver(kind, direction="recvonly")
                pinned[id(transceiver)] = (party, wanted)
        speaking = self.pc.addTransceiver(self.voice, direction="sendonly")

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            for transceiver in self.pc.getTransceivers():
                if transceiver.receiver.track is track and id(transceiver) in pinned:
                    reader = asyncio.create_task(self._read(pinned[id(transceiver)], track))
                    self._readers.add(reader)
                    reader.add_done_callback(self._readers.discard)

        await self.pc.setLocalDescription(await self.pc.createOffer())
        tracks: dict[str, str] = {str(speaking.mid): "voice"}
        sources: dict[str, str] = {}
        for transceiver in self.pc.getTransceivers():
            if id(transceiver) in pinned:
                party, role = pinned[id(transceiver)]
                tracks[str(transceiver.mid)] = role
                sources[str(transceiver.mid)] = party
        return str(self.pc.localDescription.sdp), tracks, sources

    async def accept(self, answer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    @property
    def connected(self) -> bool:
        return self.pc.connectionState == "connected"

    async def _read(self, key: tuple[str, str], track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                await track.recv()
                self.frames[key] += 1

    async def close(self) -> None:
        for task in list(self._readers):
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        await self.pc.close()
        self.voice.stop()
