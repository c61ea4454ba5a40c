"""Inbound Socket.IO payloads, one dataclass per event (see docs/protocol.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from signaling.types import (
    AnnotationKind,
    AnnotationSurface,
    CallMedia,
    Downgrade,
    Presence,
    RecordingAction,
    SupervisionMode,
    TicketPriority,
)
from signaling.wire import limit

CLIENT_ID = limit(max_len=64, min_len=1, pattern=r"[A-Za-z0-9_.:-]+")
ID = limit(min=1, max=2**31 - 1)
SEQ = limit(min=0, max=2**31 - 1)


@dataclass(frozen=True)
class ChatRef:
    """chat.start, chat.end, chat.close: name the chat."""

    chat_id: int = field(metadata=ID)


@dataclass(frozen=True)
class MessageSend:
    chat_id: int = field(metadata=ID)
    client_msg_id: str = field(metadata=CLIENT_ID)
    text: str = field(default="", metadata=limit(max_len=4000))
    attachment_id: int | None = field(default=None, metadata=ID)


@dataclass(frozen=True)
class ChatSync:
    chat_id: int = field(metadata=ID)
    after_seq: int = field(default=0, metadata=SEQ)
    limit: int = field(default=200, metadata=limit(min=1, max=500))


@dataclass(frozen=True)
class Typing:
    chat_id: int = field(metadata=ID)
    typing: bool = True


@dataclass(frozen=True)
class ReadReceipt:
    chat_id: int = field(metadata=ID)
    seq: int = field(metadata=SEQ)


@dataclass(frozen=True)
class CsatSubmit:
    chat_id: int = field(metadata=ID)
    score: int = field(metadata=limit(min=1, max=5))
    comment: str = field(default="", metadata=limit(max_len=2000))


@dataclass(frozen=True)
class PresenceSet:
    status: Presence


@dataclass(frozen=True)
class ChatTransfer:
    chat_id: int = field(metadata=ID)
    to_user_id: int | None = field(default=None, metadata=ID)
    to_group_id: int | None = field(default=None, metadata=ID)
    note: str = field(default="", metadata=limit(max_len=500))


@dataclass(frozen=True)
class ChatEscalate:
    chat_id: int = field(metadata=ID)
    priority: TicketPriority | None = None
    group_id: int | None = field(default=None, metadata=ID)
    subject: str | None = field(default=None, metadata=limit(max_len=300, min_len=1))
    note: str = field(default="", metadata=limit(max_len=2000))


# ---- calls (docs/protocol.md §8) -------------------------------------------------------------
MAX_SDP_CHARS = 60_000
"""A browser offer with three m-lines is 6-15 KB; aiortc's is smaller."""
COLOR = limit(max_len=9, pattern=r"#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?")


@dataclass(frozen=True)
class CallStart:
    chat_id: int = field(metadata=ID)
    media: CallMedia = CallMedia.VIDEO


@dataclass(frozen=True)
class CallRef:
    """call.accept, call.decline, call.hangup, call.get, call.ice_servers: name the call."""

    call_id: int = field(metadata=ID)


@dataclass(frozen=True)
class CallJoin:
    call_id: int = field(metadata=ID)
    offer: str = field(metadata=limit(max_len=MAX_SDP_CHARS, min_len=1))
    tracks: dict[str, str] = field(default_factory=dict)
    media: dict[str, bool] | None = None
    """What the participant sends from the start (call.media's flags), saving that request."""


@dataclass(frozen=True)
class CallMediaState:
    call_id: int = field(metadata=ID)
    audio: bool = True
    camera: bool = False
    screen: bool = False


@dataclass(frozen=True)
class CallStats:
    call_id: int = field(metadata=ID)
    rtt_ms: float = field(metadata=limit(min=0, max=60_000))
    jitter_ms: float = field(metadata=limit(min=0, max=60_000))
    loss_pct: float = field(metadata=limit(min=0, max=100))
    bitrate_kbps: float = field(metadata=limit(min=0, max=1_000_000))
    fps: float | None = field(default=None, metadata=limit(min=0, max=1000))
    width: int | None = field(default=None, metadata=limit(min=0, max=16384))
    height: int | None = field(default=None, metadata=limit(min=0, max=16384))


@dataclass(frozen=True)
class CallAnnotate:
    call_id: int = field(metadata=ID)
    kind: AnnotationKind
    surface: AnnotationSurface
    points: list[list[float]] = field(
        default_factory=list, metadata=limit(max_items=500, min=0.0, max=1.0)
    )
    color: str = field(default="#e5484d", metadata=COLOR)
    ttl_ms: int = field(default=4000, metadata=limit(min=250, max=60_000))


@dataclass(frozen=True)
class CallRecord:
    """call.record: the agent starts, pauses or resumes the call's recording."""

    call_id: int = field(metadata=ID)
    action: RecordingAction


@dataclass(frozen=True)
class CallDowngrade:
    call_id: int = field(metadata=ID)
    to: Downgrade


@dataclass(frozen=True)
class SuperviseJoin:
    """supervise.join: a supervisor's offer for a live call (docs/protocol.md §8.9)."""

    call_id: int = field(metadata=ID)
    offer: str = field(metadata=limit(max_len=MAX_SDP_CHARS, min_len=1))
    tracks: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    mode: SupervisionMode = SupervisionMode.MONITOR


@dataclass(frozen=True)
class SuperviseMode:
    call_id: int = field(metadata=ID)
    mode: SupervisionMode
