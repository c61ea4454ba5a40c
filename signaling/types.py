"""Domain vocabulary shared by the database, the wire and the pages: enums carry wire strings."""

from __future__ import annotations

from enum import StrEnum
from typing import NewType

OrgId = NewType("OrgId", int)
UserId = NewType("UserId", int)
CustomerId = NewType("CustomerId", int)
ChatId = NewType("ChatId", int)
TicketId = NewType("TicketId", int)
GroupId = NewType("GroupId", int)
AttachmentId = NewType("AttachmentId", int)


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    QA = "qa"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.AGENT, Role.QA, Role.ADMIN})


class Presence(StrEnum):
    """Agent availability; only ONLINE agents receive new chats."""

    ONLINE = "online"
    BUSY = "busy"
    AWAY = "away"
    OFFLINE = "offline"


class ChatState(StrEnum):
    """new → queued → active → ended; a transfer moves active back to queued."""

    NEW = "new"
    QUEUED = "queued"
    ACTIVE = "active"
    ENDED = "ended"


class ChatEndReason(StrEnum):
    CUSTOMER_LEFT = "customer_left"
    AGENT_CLOSED = "agent_closed"
    CUSTOMER_ENDED = "customer_ended"


class SenderType(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


class MessageKind(StrEnum):
    TEXT = "text"
    ATTACHMENT = "attachment"
    EVENT = "event"
    NOTE = "note"  # internal: shown to staff, never sent to the customer


class TicketStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SOLVED = "solved"
    CLOSED = "closed"


class TicketPriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


PRIORITY_RANK = {
    TicketPriority.LOW: 0,
    TicketPriority.NORMAL: 1,
    TicketPriority.HIGH: 2,
    TicketPriority.URGENT: 3,
}
