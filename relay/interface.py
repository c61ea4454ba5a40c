"""The typed boundary between signaling and relay workers (embedded and, later, Redis).

Signaling places each call in one relay room (the room id is the call id) and carries
SDP between client and relay; it never touches media. Everything that crosses the
boundary is one of the dataclasses below, validated on construction, so a bad value
fails at the caller and never inside a worker.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NewType, Protocol, get_args

RoomId = NewType("RoomId", str)
"""One room per call: signaling uses the call's id."""
ParticipantId = NewType("ParticipantId", str)
"""One participant of one room; the relay terminates one peer connection for it."""
WorkerId = NewType("WorkerId", int)

EventLoopKind = Literal["uvloop", "asyncio"]
"""The event loop a relay worker runs its media on."""
EVENT_LOOP_KINDS: frozenset[str] = frozenset(get_args(EventLoopKind))

TrackRole = Literal["audio", "camera", "screen", "voice"]
"""What an m-line carries; a participant's camera goes into the others' camera m-lines.
"voice" is a supervisor's microphone (whisper, barge): it goes only into "voice" m-lines,
so it never takes the slot of the other party's audio."""
TRACK_ROLES: frozenset[str] = frozenset(get_args(TrackRole))
_MID = re.compile(r"[A-Za-z0-9_.-]{1,32}")


ROLE_KINDS: dict[str, str] = {
    "audio": "audio",
    "camera": "video",
    "screen": "video",
    "voice": "audio",
}


def default_role(kind: str) -> TrackRole:
    return "audio" if kind == "audio" else "camera"


_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
MAX_SDP_BYTES = 64 * 1024


class CloseReason(enum.Enum):
    """Why a room ended; the value is the wire string."""

    CALL_ENDED = "call_ended"
    """Signaling closed it: the call is over."""
    RELAY_LOST = "relay_lost"
    """The worker hosting it exited or stopped answering."""
    RELAY_SHUTDOWN = "relay_shutdown"
    """The relay was stopped in an orderly way."""
    RELAY_DRAINED = "relay_drained"
    """The relay node hosting it is draining (going away on purpose): the call moves to
    another node, as after RELAY_LOST, but nothing failed."""
    ERROR = "error"
    """Something failed inside the relay; its log has the traceback."""


class RelayError(Exception):
    """Base of every relay-boundary error; `code` is the client-facing string."""

    code = "relay_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, detail={self.detail!r})"


class UnknownRoom(RelayError):
    code = "unknown_room"


class RoomExists(RelayError):
    code = "room_exists"


class UnknownParticipant(RelayError):
    code = "unknown_participant"


class ParticipantExists(RelayError):
    code = "participant_exists"


class NoCapacity(RelayError):
    code = "no_capacity"


class RelayLost(RelayError):
    code = "relay_lost"


class RelayIncompatible(RelayError):
    """A relay worker refused to start: the installed aiortc/aioice lack private attributes
    the relay depends on (relay/rtc/aiortc_compat.py). Restarting does not help."""

    code = "relay_incompatible"


class BadOffer(RelayError):
    code = "bad_offer"


class RecordingFailed(RelayError):
    """The recording could not start (its directory cannot be created or written) or the
    room records another recording already; the call goes on unrecorded."""

    code = "recording_failed"


class NotRecording(RelayError):
    """Pause, resume or stop of a room that has no recording."""

    code = "not_recording"


ERRORS: dict[str, type[RelayError]] = {
    cls.code: cls
    for cls in (
        RelayError,
        UnknownRoom,
        RoomExists,
        UnknownParticipant,
        ParticipantExists,
        NoCapacity,
        RelayLost,
        RelayIncompatible,
        BadOffer,
        RecordingFailed,
        NotRecording,
    )
}


def _check_id(kind: str, value: str) -> None:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValueError(f"{kind} must be 1-128 characters of [A-Za-z0-9_.:-], got {value!r}")


def _check_reason(value: object) -> None:
    if not isinstance(value, CloseReason):
        raise ValueError(f"reason must be a CloseReason, got {value!r}")


@dataclass(frozen=True, slots=True)
class OpenRoom:
    room_id: RoomId

    def __post_init__(self) -> None:
        _check_id("room_id", self.room_id)


def check_tracks(tracks: object) -> dict[str, TrackRole]:
    """A client's mid → role map, checked (ValueError says what is wrong)."""
    if not isinstance(tracks, Mapping) or len(tracks) > 16:
        raise ValueError("tracks must map at most 16 mids to roles")
    checked: dict[str, TrackRole] = {}
    for mid, role in tracks.items():
        if not isinstance(mid, str) or not _MID.fullmatch(mid):
            raise ValueError(f"tracks: {str(mid)[:32]!r} is not a mid")
        if role not in TRACK_ROLES:
            raise ValueError(f"tracks: role of mid {mid} must be one of {sorted(TRACK_ROLES)}")
        checked[mid] = role
    return checked


def check_sources(sources: object) -> dict[str, ParticipantId]:
    """A receiving m-line's mid → the one participant it takes publications from."""
    if not isinstance(sources, Mapping) or len(sources) > 16:
        raise ValueError("sources must map at most 16 mids to participant ids")
    checked: dict[str, ParticipantId] = {}
    for mid, source in sources.items():
        if not isinstance(mid, str) or not _MID.fullmatch(mid):
            raise ValueError(f"sources: {str(mid)[:32]!r} is not a mid")
        _check_id(f"sources[{mid}]", source)
        checked[mid] = ParticipantId(source)
    return checked


def check_audience(audience: object) -> frozenset[ParticipantId] | None:
    """Who receives a participant's publications: None is everyone in the room."""
    if audience is None:
        return None
    if not isinstance(audience, (list, tuple, frozenset, set)) or len(audience) > 16:
        raise ValueError("audience must be null or a list of at most 16 participant ids")
    for member in audience:
        _check_id("audience", member)
    return frozenset(ParticipantId(member) for member in audience)


def audience_wire(audience: Collection[ParticipantId] | None) -> tuple[ParticipantId, ...] | None:
    """An audience as the commands carry it: sorted, or None for everyone."""
    return None if audience is None else tuple(sorted(audience))


@dataclass(frozen=True, slots=True)
class Join:
    """Join a room, or rejoin it with a fresh peer connection (`replace`: a reconnect).

    `sources` pins receiving m-lines to one participant each (a supervisor tells the
    customer's camera from the agent's); `audience` limits who receives this participant's
    publications (None: everyone); `recorded` False keeps them out of the room's recording.
    """

    room_id: RoomId
    participant_id: ParticipantId
    offer_sdp: str
    tracks: Mapping[str, TrackRole] = field(default_factory=dict)
    replace: bool = False
    sources: Mapping[str, ParticipantId] = field(default_factory=dict)
    audience: tuple[ParticipantId, ...] | None = None
    recorded: bool = True

    @classmethod
    def of(
        cls,
        room_id: RoomId,
        participant_id: ParticipantId,
        offer_sdp: str,
        tracks: Mapping[str, TrackRole] | None,
        replace: bool,
        sources: Mapping[str, ParticipantId] | None,
        audience: Collection[ParticipantId] | None,
        recorded: bool,
    ) -> Join:
        """The command for RelayControl.join's arguments (copied, audience sorted)."""
        return cls(
            room_id,
            participant_id,
            offer_sdp,
            dict(tracks or {}),
            replace,
            dict(sources or {}),
            audience_wire(audience),
            recorded,
        )

    def __post_init__(self) -> None:
        _check_id("room_id", self.room_id)
        _check_id("participant_id", self.participant_id)
        check_tracks(self.tracks)
        check_sources(self.sources)
        check_audience(self.audience)
        if not isinstance(self.recorded, bool):
            raise ValueError("recorded must be true or false")
        if not isinstance(self.replace, bool):
            raise ValueError("replace must be true or false")
        if not isinstance(self.offer_sdp, str) or not self.offer_sdp.startswith("v=0"):
            raise ValueError("offer_sdp must be an SDP offer (starting with 'v=0')")
        if len(self.offer_sdp.encode()) > MAX_SDP_BYTES:
            raise ValueError(f"offer_sdp is longer than {MAX_SDP_BYTES} bytes")


@dataclass(frozen=True, slots=True)
class SetAudience:
    """Change who receives a participant's publications (a supervisor's whisper → barge)."""

    room_id: RoomId
    participant_id: ParticipantId
    audience: tuple[ParticipantId, ...] | None = None

    def __post_init__(self) -> None:
        _check_id("room_id", self.room_id)
        _check_id("participant_id", self.participant_id)
        check_audience(self.audience)


@dataclass(frozen=True, slots=True)
class Leave:
    room_id: RoomId
    participant_id: ParticipantId

    def __post_init__(self) -> None:
        _check_id("room_id", self.room_id)
        _check_id("participant_id", self.participant_id)


@dataclass(frozen=True, slots=True)
class CloseRoom:
    room_id: RoomId
    reason: CloseReason

    def __post_init__(self) -> None:
        _check_id("room_id", self.room_id)
        _check_reason(self.reason)


MAX_PATH_BYTES = 4096


def _check_directory(value: object) -> None:
    if not isinstance(value, str) or not value.startswith("/"):
        raise ValueError(f"directory must be an absolute path, got {value!r}")
    if "\x00" in value or len(value.encode()) > MAX_PATH_BYTES:
        raise ValueError("directory must be a path without NUL, at most 4096 bytes")
    if any(part == ".." for part in value.split("/")):
        raise ValueError("directory must not contain '..'")


@dataclass(frozen=True, slots=True)
class StartRecording:
    """Record the room into `directory` (absolute; created if missing). The same directory
    given to another room later (the call moved to another worker) is continued."""

    room_id: RoomId
    recording_id: str
    directory: str

    def __post_init__(self) -> None:
        _check_id("room_id", self.room_id)
        _check_id("recording_id", self.recording_id)
        _check_directory(self.directory)


@dataclass(frozen=True, slots=True)
class PauseRecording:
    room_id: RoomId

    def __post_init__(self) -> None:
        _check_id("room_id", self.room_id)


@dataclass(frozen=True, slots=True)
class ResumeRecording:
    room_id: RoomId

    def __post_init__(self) -> None:
        _check_id("room_id", self.room_id)


@dataclass(frozen=True, slots=True)
class StopRecording:
    room_id: RoomId

    def __post_init__(self) -> None:
        _check_id("room_id", self.room_id)


RecordingStateName = Literal["recording", "paused", "stopped", "failed", "degraded"]
RECORDING_STATES: frozenset[str] = frozenset(get_args(RecordingStateName))


def _check_count(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


@dataclass(frozen=True, slots=True)
class RecordingState:
    """Event: a room's recording changed state.

    `recording` (started or resumed), `paused`, `degraded` (the disk did not keep up: some
    recording data was dropped, `reason` says how much; recording goes on), `failed`
    (nothing more is written: the directory became unwritable or full, `reason` says
    which; the call goes on), `stopped` (stop_recording or the room closed; `reason`
    repeats a failure or degradation, if any). A worker lost while recording reports
    `failed` with reason `relay_lost`: what it wrote until then is recoverable
    (media.recording.recover), and the call's next room may record into the same
    directory. `bytes` is what reached the disk, `dropped_bytes` what did not.
    """

    room_id: RoomId
    recording_id: str
    state: RecordingStateName
    reason: str | None
    bytes: int
    dropped_bytes: int

    def __post_init__(self) -> None:
        _check_id("room_id", self.room_id)
        _check_id("recording_id", self.recording_id)
        if self.state not in RECORDING_STATES:
            raise ValueError(f"state must be one of {sorted(RECORDING_STATES)}, got {self.state!r}")
        if self.reason is not None and not isinstance(self.reason, str):
            raise ValueError("reason must be a string or null")
        _check_count("bytes", self.bytes)
        _check_count("dropped_bytes", self.dropped_bytes)


RecordingOutcome = Literal["complete", "degraded", "failed"]


@dataclass(frozen=True, slots=True)
class RecordingSummary:
    """What stop_recording() reports: the room's part of the recording.

    Times are the relay's wall clock in Unix milliseconds (None: no packet was recorded).
    """

    recording_id: str
    outcome: RecordingOutcome
    reason: str | None
    bytes: int
    """Written to disk by this room (headers included)."""
    dropped_bytes: int
    """Recording data that never reached the disk (the disk was too slow, or failed)."""
    tracks: int
    """Track files this room wrote (one per participant, role and segment)."""
    first_packet_at_ms: int | None
    last_packet_at_ms: int | None

    def __post_init__(self) -> None:
        _check_id("recording_id", self.recording_id)
        if self.outcome not in get_args(RecordingOutcome):
            raise ValueError(f"outcome must be one of {get_args(RecordingOutcome)}")
        for name in ("bytes", "dropped_bytes", "tracks"):
            _check_count(name, getattr(self, name))


@dataclass(frozen=True, slots=True)
class RoomClosed:
    """Event: a room ended, by request or because its worker was lost."""

    room_id: RoomId
    reason: CloseReason

    def __post_init__(self) -> None:
        _check_id("room_id", self.room_id)
        _check_reason(self.reason)


@dataclass(frozen=True, slots=True)
class WorkerStats:
    """One worker as it reports itself; `capacity` is how many participants it takes."""

    worker_id: WorkerId
    pid: int
    alive: bool
    capacity: int
    rooms: int
    participants: int
    peer_connections: int
    tasks: int = 0
    """asyncio tasks alive in the worker (a leak shows here first)."""
    threads: int = 0
    """Threads alive in the worker, the event loop's executor pool not counted (each
    running recording has a disk writer thread)."""
    recordings: int = 0
    """Rooms recording now (paused ones included)."""
    open_files: int = 0
    """File descriptors the worker holds: sockets of every peer connection, the pipe, …"""
    rss_bytes: int = 0
    restarts: int = 0
    """Times a replacement process was started under this worker id."""
    last_exit_code: int | None = None
    """How the last process under this id ended, if one did (negative: killed by that signal)."""
    crash_loop: bool = False
    """Exited repeatedly within a minute: restarted with growing delays, and reported."""
    metrics: Mapping[str, Any] = field(default_factory=dict)
    """The worker's counters for /metrics (relay/metrics.py RelayCounters.to_wire)."""
    dropped: Mapping[str, int] = field(default_factory=dict)
    """Datagrams dropped at the worker's sockets since it started, by reason
    (relay/rtc/ice_guard.py: foreign, stun_over_budget, queue_full, srtp_auth, empty, bad_stun,
    bad_rtcp)."""

    def __post_init__(self) -> None:
        for name in (
            "capacity",
            "rooms",
            "participants",
            "peer_connections",
            "tasks",
            "threads",
            "recordings",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

    @property
    def load(self) -> float:
        return self.participants / self.capacity if self.capacity else 1.0


@dataclass(frozen=True, slots=True)
class RelayStats:
    workers: tuple[WorkerStats, ...]

    @property
    def capacity(self) -> int:
        return sum(w.capacity for w in self.workers if w.alive)

    @property
    def rooms(self) -> int:
        return sum(w.rooms for w in self.workers)

    @property
    def peer_connections(self) -> int:
        return sum(w.peer_connections for w in self.workers)

    @property
    def healthy(self) -> bool:
        """Every worker is up and none is crash-looping."""
        return all(w.alive and not w.crash_loop for w in self.workers)


@dataclass(frozen=True, slots=True)
class ParticipantLink:
    """Event: a participant's peer connection on the relay changed state.

    `state` is aiortc's connectionState: connecting, connected, failed or closed (closed
    only when the client closed it; the relay's own leave or replace is not reported).
    """

    room_id: RoomId
    participant_id: ParticipantId
    state: str

    def __post_init__(self) -> None:
        _check_id("room_id", self.room_id)
        _check_id("participant_id", self.participant_id)


@dataclass(frozen=True, slots=True)
class MediaFlow:
    """Event: a participant's published media of one role started or stopped reaching the relay.

    `flowing` is true from the first packet (reported within a second) and again when
    packets come back after a stop; false once none arrived for 2 to 3 s (checked once a
    second per worker, relay/rtc/media_flow.py). Whether the participant meant to stop (a
    camera turned off: compare its media flags) is for the listener to decide. A rejoin
    with media continuing reports nothing; a participant that leaves is not reported.
    """

    room_id: RoomId
    participant_id: ParticipantId
    role: TrackRole
    flowing: bool

    def __post_init__(self) -> None:
        _check_id("room_id", self.room_id)
        _check_id("participant_id", self.participant_id)
        if self.role not in TRACK_ROLES:
            raise ValueError(f"role must be one of {sorted(TRACK_ROLES)}, got {self.role!r}")
        if not isinstance(self.flowing, bool):
            raise ValueError("flowing must be true or false")


def _check_share(name: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number or null")
    if not 0 <= value <= 100:
        raise ValueError(f"{name} must be between 0 and 100, got {value!r}")


def _check_millis(name: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number or null")
    if not 0 <= value <= MAX_LINK_MS:
        raise ValueError(f"{name} must be between 0 and {MAX_LINK_MS}, got {value!r}")


MAX_LINK_MS = 60_000


@dataclass(frozen=True, slots=True)
class LinkReport:
    """Event: one participant's link as the relay measures it, every 2 s while it has one.

    Uplink: what arrived of the participant's published media since the last report (loss
    before the relay's repair, interarrival jitter; relay/packet/receive_statistics.py).
    Downlink: the participant's own receiver reports about what the relay sends it (the
    latest, worst stream). Round trip: from those reports echoing the relay's sender reports.
    A figure is None until it is known (nothing published or subscribed yet, no echo yet).
    """

    room_id: RoomId
    participant_id: ParticipantId
    rtt_ms: float | None
    uplink_loss_pct: float | None
    uplink_jitter_ms: float | None
    downlink_loss_pct: float | None
    downlink_jitter_ms: float | None

    def __post_init__(self) -> None:
        _check_id("room_id", self.room_id)
        _check_id("participant_id", self.participant_id)
        _check_share("uplink_loss_pct", self.uplink_loss_pct)
        _check_share("downlink_loss_pct", self.downlink_loss_pct)
        for name in ("rtt_ms", "uplink_jitter_ms", "downlink_jitter_ms"):
            _check_millis(name, getattr(self, name))


RoomClosedListener = Callable[[RoomClosed], None]
ParticipantListener = Callable[[ParticipantLink], None]
MediaFlowListener = Callable[[MediaFlow], None]
LinkListener = Callable[[LinkReport], None]
RecordingListener = Callable[[RecordingState], None]


class RelayControl(Protocol):
    """What signaling asks of the relay. Implementations: relay.control.pool.RelayPool
    (embedded) and relay.cluster.control.ClusterRelay (relay nodes over Redis).

    Room lifecycle: open_room → join/leave any number of times → closed (close_room, or
    the hosting worker lost) → never reused. Errors are RelayError subclasses.
    """

    async def open_room(self, room_id: RoomId) -> WorkerId:
        """Place a new room on the least-loaded worker; return that worker's id."""
        ...

    async def join(
        self,
        room_id: RoomId,
        participant_id: ParticipantId,
        offer_sdp: str,
        tracks: Mapping[str, TrackRole] | None = None,
        *,
        replace: bool = False,
        sources: Mapping[str, ParticipantId] | None = None,
        audience: Collection[ParticipantId] | None = None,
        recorded: bool = True,
    ) -> str:
        """Terminate the participant's peer connection; return the relay's SDP answer.

        The offer's sending m-lines become publications forwarded to the others; its
        receiving m-lines are slots the others' publications are forwarded into, matched
        by role (`tracks`: mid → audio/camera/screen/voice). With `replace`, an existing
        participant of that id is swapped for the new peer connection (reconnect).
        `sources`, `audience` and `recorded`: see Join.
        """
        ...

    async def set_audience(
        self,
        room_id: RoomId,
        participant_id: ParticipantId,
        audience: Collection[ParticipantId] | None,
    ) -> None:
        """Forward the participant's publications to `audience` only (None: everyone)."""
        ...

    async def leave(self, room_id: RoomId, participant_id: ParticipantId) -> None: ...

    async def close_room(self, room_id: RoomId, reason: CloseReason) -> None: ...

    async def adopt_rooms(self, room_ids: Collection[RoomId]) -> set[RoomId]:
        """Take over rooms another signaling process opened (a primary that died): those
        still open on a live worker are this client's from now on (requests, events);
        returns them. The others are gone."""
        ...

    async def stats(self) -> RelayStats: ...

    def add_room_closed_listener(self, listener: RoomClosedListener) -> None: ...

    def add_participant_listener(self, listener: ParticipantListener) -> None: ...

    def add_media_flow_listener(self, listener: MediaFlowListener) -> None:
        """`listener` gets every MediaFlow event (media of a role started/stopped arriving)."""
        ...

    def add_link_listener(self, listener: LinkListener) -> None:
        """`listener` gets every LinkReport (each participant's link, every 2 s)."""
        ...

    async def start_recording(self, room_id: RoomId, recording_id: str, directory: str) -> None:
        """Record every publication of the room, now and later (joins, rejoins), into raw
        track files under `directory` (absolute, created if missing; docs/recording-format.md).

        RecordingFailed if the directory cannot be created or written, or the room records
        another recording; the call goes on. Starting the same recording again is a no-op.
        """
        ...

    async def pause_recording(self, room_id: RoomId) -> None:
        """Record nothing until resume_recording (a marker on each track says so)."""
        ...

    async def resume_recording(self, room_id: RoomId) -> None: ...

    async def stop_recording(self, room_id: RoomId) -> RecordingSummary:
        """End the room's recording (closing the room does too); again: the same summary."""
        ...

    def add_recording_listener(self, listener: RecordingListener) -> None:
        """`listener` gets every RecordingState event."""
        ...


class RelayService(RelayControl, Protocol):
    """A RelayControl that signaling starts and stops: relay.control.pool.RelayPool (workers on this
    machine) or relay.cluster.control.ClusterRelay (relay nodes found in Redis)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
