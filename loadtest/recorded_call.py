"""A recorded call scenario: two real aiortc peers (customer and agent) through a real
relay worker process, each sending tone bursts, a stamped camera and a stamped screen,
with the relay recording them. The recording tests and benchmarks.recording use it; the
senders' tracks are kept, so what was sent when is known (media/recording/sync.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiortc import MediaStreamTrack

from loadtest.relay_peer import RelayPeer, until
from media.recording import manifest as manifest_file
from media.stamps import StampedVideoTrack
from media.tone import ToneBurstTrack
from relay.control.pool import RelayPool
from relay.interface import (
    CloseReason,
    ParticipantId,
    RecordingState,
    RecordingSummary,
    RoomId,
    TrackRole,
    WorkerStats,
)

ROOM = RoomId("call-7")
CUSTOMER, AGENT = ParticipantId("customer"), ParticipantId("agent")
TONES = {CUSTOMER: 440.0, AGENT: 660.0}


@dataclass(frozen=True)
class VideoSpec:
    width: int
    height: int
    fps: float


CAMERA = VideoSpec(320, 240, 15.0)
SCREEN = VideoSpec(640, 360, 5.0)
BURST_PERIOD = 1.0


def started_ms(directory: Path) -> float:
    """The recording's start (Unix ms) from its manifest."""
    return manifest_file.load(directory).started_at_us / 1000


@dataclass
class Sender:
    """What one participant sends, kept so a test knows the truth (tone onsets, stamps)."""

    tone: ToneBurstTrack | None = None
    camera: StampedVideoTrack | None = None
    screen: StampedVideoTrack | None = None

    def sources(
        self, participant: ParticipantId
    ) -> dict[TrackRole, Callable[[], MediaStreamTrack]]:
        def tone() -> MediaStreamTrack:
            self.tone = ToneBurstTrack(TONES[participant], period=BURST_PERIOD, burst=0.2)
            return self.tone

        def camera() -> MediaStreamTrack:
            self.camera = StampedVideoTrack(
                CAMERA.width, CAMERA.height, CAMERA.fps, nominal_time=True
            )
            return self.camera

        def screen() -> MediaStreamTrack:
            self.screen = StampedVideoTrack(
                SCREEN.width, SCREEN.height, SCREEN.fps, "screen", nominal_time=True
            )
            return self.screen

        return {"audio": tone, "camera": camera, "screen": screen}

    def sent_until(self) -> dict[str, float]:
        """Per role, the nominal end (Unix s) of what has been produced so far."""
        until: dict[str, float] = {}
        if self.tone is not None and self.tone.started_at is not None:
            until["audio"] = self.tone.started_at + self.tone.samples_sent / 48_000
        for role, track in (("camera", self.camera), ("screen", self.screen)):
            if track is not None and track.started_at is not None:
                until[role] = track.started_at + track.frames_sent / track.fps
        return until


@dataclass
class RecordedCall:
    directory: Path
    senders: dict[ParticipantId, Sender]
    summary: RecordingSummary | None = None
    events: list[RecordingState] = field(default_factory=list)
    stopped_at: float = 0.0
    """Unix time the recording was stopped (or the worker killed)."""
    sent_until: dict[tuple[str, str], float] = field(default_factory=dict)
    """(participant, role) → Unix time (nominal) of the end of what the sender had produced
    when the recording stopped: a busy machine makes a sender lag, and what it had not
    produced yet cannot be in the recording."""
    marks: dict[str, float] = field(default_factory=dict)
    """Unix times of what the scenario did (pause, resume, ...)."""
    before: WorkerStats | None = None
    after: WorkerStats | None = None


Scenario = Callable[[RelayPool, RelayPeer, RelayPeer, RecordedCall], Awaitable[None]]


async def recorded_call(
    directory: Path,
    scenario: Scenario,
    *,
    video_codecs: tuple[str, ...] = ("VP8",),
    agent_codecs: tuple[str, ...] | None = None,
    stop: bool = True,
) -> RecordedCall:
    """Customer joins, recording starts, agent joins (a publication that appears after the
    start), media flows both ways; then `scenario` runs and the recording is stopped (unless
    `stop` is false: the scenario ended it otherwise) and the room closed. The agent offers
    `agent_codecs` if given (each side then sends its own first choice)."""
    senders = {CUSTOMER: Sender(), AGENT: Sender()}
    call = RecordedCall(directory, senders)
    pool = RelayPool(workers=1, capacity=10)
    pool.add_recording_listener(call.events.append)
    customer = RelayPeer(video_codecs=video_codecs, sources=senders[CUSTOMER].sources(CUSTOMER))
    agent = RelayPeer(
        video_codecs=agent_codecs or video_codecs, sources=senders[AGENT].sources(AGENT)
    )
    try:
        await pool.start()
        call.before = await pool.workers[0].stats()
        await pool.open_room(ROOM)
        offer, tracks = await customer.offer()
        await customer.accept(await pool.join(ROOM, CUSTOMER, offer, tracks))
        await pool.start_recording(ROOM, "rec-7", str(directory))
        offer, tracks = await agent.offer()
        await agent.accept(await pool.join(ROOM, AGENT, offer, tracks))
        await until(lambda: customer.connected and agent.connected, 20)
        for peer in (customer, agent):
            await peer.frames_grow("camera", 2, 20)
            await peer.frames_grow("screen", 2, 20)
        await scenario(pool, customer, agent, call)
        if stop:
            call.sent_until = {
                (participant, role): until
                for participant, sender in senders.items()
                for role, until in sender.sent_until().items()
            }
            call.stopped_at = time.time()
            call.summary = await pool.stop_recording(ROOM)
            await pool.close_room(ROOM, CloseReason.CALL_ENDED)
            await asyncio.sleep(0.2)
            call.after = await pool.workers[0].stats()
    finally:
        await customer.close()
        await agent.close()
        await pool.stop()
    return call


def sleep_for(seconds: float) -> Scenario:
    async def scenario(
        _pool: RelayPool, _customer: RelayPeer, _agent: RelayPeer, _call: RecordedCall
    ) -> None:
        await asyncio.sleep(seconds)

    return scenario
