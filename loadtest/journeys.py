"""Whole support journeys, one coroutine each, driven through the documented protocol only.

A journey: the customer opens a chat (widget session + /customer socket) and writes → the
chat waits in the queue → the normal routing gives it to one of this process's simulated
agents (who signed in and went online beforehand) → they talk (timed messages both ways) →
depending on the scenario, a call with pre-encoded media → the customer ends the chat and
rates it (CSAT). Every step's time and every error code is kept in a JourneyResult.

Scenarios: chat, audio, video, video+share (the agent shares a screen), reconnect (the
customer's network drops during a video call and it rejoins), churn (several short calls
in a row), recorded (a recorded video call whose recording must become ready).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp

from loadtest.call_peer import CallPeer, Role
from loadtest.clients import Customer, ProtocolError, Staff
from loadtest.clip_tracks import ClipAudioTrack, ClipVideoTrack
from media.clip import Clip

SCENARIOS = ("chat", "audio", "video", "video+share", "reconnect", "churn", "recorded")
CALL_SCENARIOS = frozenset(SCENARIOS) - {"chat"}
STAGES = ("queued", "chatting", "calling", "in_call", "ending", "done", "failed")
CHURN_CALLS = 3
_ids = itertools.count(1)


@dataclass
class Direction:
    """One direction of one call's media (what one side decoded from the other)."""

    setup_ms: float | None = None
    """Click (call.start) → first decoded frame of the main track on this side."""
    latency_ms: list[float] = field(default_factory=list)
    """Per decoded stamped frame: send (by the other side) → decode here."""
    frames: int = 0
    frame_loss_pct: float | None = None
    fps: float | None = None
    packet_loss_pct: float | None = None
    audio_frames: int = 0
    audio_gaps: int = 0
    audio_continuity_pct: float | None = None


@dataclass
class JourneyResult:
    scenario: str
    journey: int
    process: int
    started_at: float
    """Unix time the customer opened the chat."""
    stage: str = "queued"
    error: str | None = None
    error_code: str | None = None
    time_to_agent_ms: float | None = None
    chat_latency_ms: list[float] = field(default_factory=list)
    calls: int = 0
    to_agent: list[Direction] = field(default_factory=list)
    """Per call: what the agent received from the customer."""
    to_customer: list[Direction] = field(default_factory=list)
    share_setup_ms: float | None = None
    reconnect_ms: float | None = None
    recording_ready_ms: float | None = None
    stamps_decoded: int = 0
    ended_at: float | None = None

    @property
    def completed(self) -> bool:
        return self.stage == "done"

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class JourneyContext:
    """What a generator process shares between its journeys."""

    url: str
    org: str
    language: str
    http: aiohttp.ClientSession
    agents: dict[int, Staff]
    clip: Clip
    talk_seconds: float
    queue_timeout: float = 60.0
    messages: int = 3
    admin: Staff | None = None
    """Signed in when recorded journeys need to look at recordings (else the agent does)."""
    frame_index: dict[bytes, int] | None = None
    """Set: participants read media at the RTP level (loadtest/rtp_tap.py), no decoding."""


class _Frames:
    """Stamped frames decoded on one side, matched to the other side's video track."""

    def __init__(self, track: ClipVideoTrack | None) -> None:
        self.track = track
        self.sequences: set[int] = set()
        self.latency: list[float] = []
        self.first_at: float | None = None
        self.last_at: float | None = None

    def on_stamp(self, number: int, at: float, arrival_ms: int) -> None:
        if self.track is None:
            return
        sent = self.track.sent_index.get(number)
        if sent is None:
            return
        sequence, sent_ms = sent
        self.sequences.add(sequence)
        self.latency.append(float(arrival_ms - sent_ms))
        self.first_at = self.first_at if self.first_at is not None else at
        self.last_at = at

    def reset(self) -> None:
        self.sequences.clear()
        self.first_at = self.last_at = None

    def fill(self, direction: Direction) -> None:
        direction.latency_ms.extend(self.latency)
        if self.sequences:
            span = max(self.sequences) - min(self.sequences) + 1
            direction.frames = len(self.sequences)
            direction.frame_loss_pct = round(100.0 * (1 - len(self.sequences) / span), 3)
            if self.first_at is not None and self.last_at is not None:
                seconds = self.last_at - self.first_at
                direction.fps = round((len(self.sequences) - 1) / seconds, 2) if seconds else None


async def run_journey(
    ctx: JourneyContext, scenario: str, result: JourneyResult, on_stage: Callable[[], None]
) -> JourneyResult:
    """Drive one whole journey; failures end up in `result`, never raised."""
    loop = asyncio.get_running_loop()
    customer = Customer(ctx.url, http=ctx.http)

    def stage(name: str) -> None:
        result.stage = name
        on_stage()

    try:
        began = loop.time()
        await customer.open_chat(
            org=ctx.org,
            name=f"Load customer {result.process}-{result.journey}",
            language=ctx.language,
        )
        await customer.connect()
        await customer.say("Hello, I need help with my order")
        chat = await customer.next(
            "chat.updated", where=lambda c: c.get("state") == "active", timeout=ctx.queue_timeout
        )
        result.time_to_agent_ms = round((loop.time() - began) * 1000, 1)
        agent = ctx.agents.get(int(chat["assignee_id"]))
        if agent is None:
            raise RuntimeError(f"chat went to agent {chat['assignee_id']}, not one of ours")
        stage("chatting")
        await _converse(customer, agent, ctx.messages, result)
        if scenario in CALL_SCENARIOS:
            stage("calling")
            calls = CHURN_CALLS if scenario == "churn" else 1
            talk = ctx.talk_seconds / calls
            for _ in range(calls):
                await _call(ctx, scenario, customer, agent, talk, result, lambda: stage("in_call"))
        stage("ending")
        await customer.request("chat.end", {"chat_id": customer.chat_id})
        await customer.request("csat.submit", {"chat_id": customer.chat_id, "score": 5})
        stage("done")
    except ProtocolError as error:
        result.error_code = error.code
        result.error = str(error)
        stage("failed")
    except Exception as error:  # one failed journey is a result, not the end of the run
        result.error_code = "timeout" if isinstance(error, TimeoutError) else type(error).__name__
        result.error = f"{type(error).__name__}: {error}"
        stage("failed")
    finally:
        result.ended_at = _unix()
        await customer.close()
    return result


async def _converse(customer: Customer, agent: Staff, count: int, result: JourneyResult) -> None:
    """Messages both ways, each timed from send to the other side's push."""
    loop = asyncio.get_running_loop()
    chat_id = customer.chat_id
    for i in range(count):
        for sender, receiver in ((customer, agent), (agent, customer)):
            text = f"message {i} #{next(_ids)}"
            sent = loop.time()
            if isinstance(sender, Customer):
                await sender.say(text)
            else:
                await sender.say(chat_id, text)
            await receiver.next(
                "message",
                where=lambda m, t=text: m.get("chat_id") == chat_id and m.get("text") == t,
                timeout=15,
            )
            result.chat_latency_ms.append(round((loop.time() - sent) * 1000, 1))


def _tracks(ctx: JourneyContext, video: bool) -> dict[Role, Any]:
    tracks: dict[Role, Any] = {"audio": ClipAudioTrack(ctx.clip)}
    if video:
        tracks["camera"] = ClipVideoTrack(ctx.clip)
    return tracks


async def _first_frame(peer: CallPeer, role: Role, timeout: float = 20.0) -> float:
    async with asyncio.timeout(timeout):
        while peer.received[role].first_frame_at is None:  # noqa: ASYNC110 (set by a reader)
            await asyncio.sleep(0.01)
    at = peer.received[role].first_frame_at
    assert at is not None
    return at


async def _call(
    ctx: JourneyContext,
    scenario: str,
    customer: Customer,
    agent: Staff,
    talk: float,
    result: JourneyResult,
    in_call: Callable[[], None],
) -> None:
    loop = asyncio.get_running_loop()
    video = scenario not in ("audio", "churn")
    main: Role = "camera" if video else "audio"
    customer_tracks, agent_tracks = _tracks(ctx, video), _tracks(ctx, video)
    seen_by_agent = _Frames(customer_tracks.get("camera"))
    seen_by_customer = _Frames(agent_tracks.get("camera"))
    screen_seen = _Frames(None)

    def stamp_hook(frames: dict[Role, _Frames]) -> Callable[[Role, int, float], None]:
        def hook(role: Role, number: int, at: float) -> None:
            if role in frames:
                frames[role].on_stamp(number, at, _unix_ms())

        return hook

    caller = CallPeer(
        customer,
        0,
        customer_tracks,
        on_stamp=stamp_hook({"camera": seen_by_customer, "screen": screen_seen}),
        frame_index=ctx.frame_index,
    )
    callee = CallPeer(
        agent,
        0,
        agent_tracks,
        on_stamp=stamp_hook({"camera": seen_by_agent}),
        frame_index=ctx.frame_index,
    )
    try:
        clicked = loop.time()
        call = await customer.request(
            "call.start", {"chat_id": customer.chat_id, "media": "video" if video else "audio"}
        )
        call_id = int(call["id"])
        caller.call_id = callee.call_id = call_id

        async def ring_and_accept() -> None:
            await agent.next("call.ringing", where=lambda c: c["id"] == call_id, timeout=30)
            await asyncio.gather(
                agent.request("call.accept", {"call_id": call_id}, timeout=30), callee.prepare()
            )

        # As the pages do: each side builds its peer connection with the ICE servers
        # call.ice_servers hands it, the caller while it rings, the callee as it accepts.
        await asyncio.gather(caller.prepare(), ring_and_accept())
        if scenario == "recorded":
            try:
                await agent.request("call.record", {"call_id": call_id, "action": "start"})
            except ProtocolError as error:
                if error.code != "conflict":  # conflict: recorded already (policy "always")
                    raise
        await asyncio.gather(callee.join(), caller.join())
        at_agent, at_customer = await asyncio.gather(
            _first_frame(callee, main), _first_frame(caller, main)
        )
        result.calls += 1
        in_call()
        to_agent, to_customer = Direction(), Direction()
        to_agent.setup_ms = round((at_agent - clicked) * 1000, 1)
        to_customer.setup_ms = round((at_customer - clicked) * 1000, 1)
        talk_began = loop.time()
        if scenario == "video+share":
            screen = ClipVideoTrack(ctx.clip)
            screen_seen.track = screen
            shared = loop.time()
            await callee.set_track("screen", screen)
            result.share_setup_ms = round((await _first_frame(caller, "screen") - shared) * 1000, 1)
        if scenario == "reconnect":
            await asyncio.sleep(talk / 2)
            await _reconnect(ctx.clip, caller, callee, seen_by_agent, seen_by_customer, result)
        await asyncio.sleep(max(0.0, talk - (loop.time() - talk_began)))
        for peer, direction in ((callee, to_agent), (caller, to_customer)):
            stats = await peer.stats()
            direction.packet_loss_pct = round(float(stats["loss_pct"]), 3)
            await peer.participant.request(
                "call.stats", {k: v for k, v in stats.items() if v is not None}
            )
        talked = loop.time() - talk_began
        await customer.request("call.hangup", {"call_id": call_id})
        for peer, frames, direction in (
            (callee, seen_by_agent, to_agent),
            (caller, seen_by_customer, to_customer),
        ):
            frames.fill(direction)
            audio = peer.received["audio"]
            direction.audio_frames = audio.frames
            direction.audio_gaps = audio.gaps
            expected = talked / 0.02
            direction.audio_continuity_pct = round(min(100.0, 100.0 * audio.frames / expected), 2)
            result.stamps_decoded += len(frames.latency)
        result.stamps_decoded += len(screen_seen.latency)
        result.to_agent.append(to_agent)
        result.to_customer.append(to_customer)
        if scenario == "recorded":
            result.recording_ready_ms = await _recording_ready(ctx, agent, call)
    finally:
        await asyncio.gather(caller.close(), callee.close(), return_exceptions=True)


async def _reconnect(
    clip: Clip,
    caller: CallPeer,
    callee: CallPeer,
    seen_by_agent: _Frames,
    seen_by_customer: _Frames,
    result: JourneyResult,
) -> None:
    """The customer's network drops: its peer connection is gone without a word; it builds
    a new one and joins again. Timed from the drop to the first frame decoded again."""
    loop = asyncio.get_running_loop()
    dropped = loop.time()
    await caller.drop()
    for peer in (caller, callee):
        peer.reset_received("camera")
    seen_by_customer.reset()
    seen_by_agent.reset()
    # Fresh sources, as a page gets from its devices: aiortc cancels a closed sender's
    # pending recv() on its track, which leaves that track unusable.
    for role in ("audio", "camera"):
        old = caller.tracks[role]
        if old is not None:
            old.stop()
    camera = ClipVideoTrack(clip)
    caller.tracks["camera"] = seen_by_agent.track = camera
    caller.tracks["audio"] = ClipAudioTrack(clip)
    await caller.join()
    await asyncio.gather(_first_frame(caller, "camera"), _first_frame(callee, "camera"))
    result.reconnect_ms = round((loop.time() - dropped) * 1000, 1)


async def _recording_ready(ctx: JourneyContext, agent: Staff, call: dict[str, Any]) -> float:
    """Hang-up → the call's recording is `ready` (its files written by the media job)."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    viewer = ctx.admin or agent
    async with asyncio.timeout(120):
        while True:
            page = await viewer.rest("GET", f"/api/recordings?ticket_id={call['ticket_id']}")
            states = [r["state"] for r in page["items"] if r["call_id"] == call["id"]]
            if "failed" in states:
                raise RuntimeError(f"recording of call {call['id']} failed")
            if "ready" in states:
                return round((loop.time() - began) * 1000, 1)
            await asyncio.sleep(0.5)


def _unix() -> float:
    return time.time()


def _unix_ms() -> int:
    return time.time_ns() // 1_000_000
