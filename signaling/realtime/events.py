"""Inbound Socket.IO payloads, one dataclass per event (see docs/protocol.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from signaling.types import Presence, TicketPriority
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
