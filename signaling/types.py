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
    SUPERVISOR = "supervisor"
    """Watches a team: the dashboard, and the live calls of agents in their groups."""


STAFF_ROLES = frozenset({Role.AGENT, Role.QA, Role.ADMIN, Role.SUPERVISOR})

# Something@something without spaces or control characters. Spelled out rather than with \s
# alone, whose meaning differs between Python and the JSON Schema (ECMA) regex dialect.
EMAIL_PATTERN = r"[^@\s\x00-\x1f\x7f\x85\ufeff]+@[^@\s\x00-\x1f\x7f\x85\ufeff]+"


class StaffRole(StrEnum):
    """The roles of staff accounts (what an admin may give a user): Role without customer."""

    AGENT = "agent"
    QA = "qa"
    ADMIN = "admin"
    SUPERVISOR = "supervisor"


class Presence(StrEnum):
    """Agent availability; only ONLINE agents receive new chats."""

    ONLINE = "online"
    BUSY = "busy"
    AWAY = "away"
    OFFLINE = "offline"


class ChatState(StrEnum):
    """new → queued → active → ended; a transfer moves active back to queued. With the
    organisation's bot on, the first message moves new → bot, and the bot's exchange ends in
    queued (the customer asked for a person, or no article fitted) or ended (self-served)."""

    NEW = "new"
    BOT = "bot"
    QUEUED = "queued"
    ACTIVE = "active"
    ENDED = "ended"


class ChatEndReason(StrEnum):
    CUSTOMER_LEFT = "customer_left"
    AGENT_CLOSED = "agent_closed"
    CUSTOMER_ENDED = "customer_ended"
    SELF_SERVED = "self_served"  # the bot's articles answered it; no agent was needed


class SenderType(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"
    BOT = "bot"  # the first-response bot (signaling/kb/bot.py)


class KbLanguage(StrEnum):
    """Languages the knowledge base ranks (each has its own tokeniser: signaling/kb/tokens.py)."""

    EN = "en"
    ZH = "zh"


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


CallId = NewType("CallId", int)


class CallMedia(StrEnum):
    """What the caller asked for; either side may still add camera or screen later."""

    AUDIO = "audio"
    VIDEO = "video"


class CallState(StrEnum):
    """ringing → active → ended, or ringing → ended (declined, missed, cancelled)."""

    RINGING = "ringing"
    ACTIVE = "active"
    ENDED = "ended"


class CallParty(StrEnum):
    """The two sides of a support call; also the relay participant ids."""

    CUSTOMER = "customer"
    AGENT = "agent"

    @property
    def other(self) -> CallParty:
        return CallParty.AGENT if self is CallParty.CUSTOMER else CallParty.CUSTOMER


class CallEndReason(StrEnum):
    HUNG_UP = "hung_up"
    DECLINED = "declined"
    MISSED = "missed"
    CANCELLED = "cancelled"
    NETWORK_LOST = "network_lost"
    RELAY_LOST = "relay_lost"
    RELAY_UNAVAILABLE = "relay_unavailable"
    POOR_QUALITY = "poor_quality"
    CHAT_ENDED = "chat_ended"
    SERVER_SHUTDOWN = "server_shutdown"
    ERROR = "error"

    @property
    def text(self) -> str:
        return CALL_END_TEXT[self]


CALL_END_TEXT = {
    CallEndReason.HUNG_UP: "Hung up",
    CallEndReason.DECLINED: "Declined",
    CallEndReason.MISSED: "Missed (not answered)",
    CallEndReason.CANCELLED: "Cancelled by the caller",
    CallEndReason.NETWORK_LOST: "Network lost",
    CallEndReason.RELAY_LOST: "Media relay lost",
    CallEndReason.RELAY_UNAVAILABLE: "No media relay available",
    CallEndReason.POOR_QUALITY: "Back to chat (poor connection)",
    CallEndReason.CHAT_ENDED: "Chat ended",
    CallEndReason.SERVER_SHUTDOWN: "Server restarted",
    CallEndReason.ERROR: "Failed",
}


class LinkState(StrEnum):
    """A participant's connection to the call, as the other side sees it."""

    INVITED = "invited"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    LEFT = "left"


class Downgrade(StrEnum):
    """Steps down when quality stays poor, in order: video → screen only → audio → chat."""

    SCREEN_ONLY = "screen_only"
    AUDIO = "audio"
    CHAT = "chat"


class AnnotationKind(StrEnum):
    POINTER = "pointer"
    ARROW = "arrow"
    CIRCLE = "circle"
    FREEHAND = "freehand"
    CLEAR = "clear"


class AnnotationSurface(StrEnum):
    CUSTOMER_SCREEN = "customer_screen"
    AGENT_SCREEN = "agent_screen"


class RecordingPolicy(StrEnum):
    """Which calls of an organisation are recorded (an admin's setting)."""

    ALWAYS = "always"
    ON_REQUEST = "on_request"
    """The agent starts it (call.record)."""
    NEVER = "never"


class RecordingState(StrEnum):
    """recording ⇄ paused → processing → ready; failed at any point; deleted at the end."""

    RECORDING = "recording"
    PAUSED = "paused"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    DELETED = "deleted"


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class RecordingAction(StrEnum):
    """call.record's `action`."""

    START = "start"
    PAUSE = "pause"
    RESUME = "resume"


class ReviewState(StrEnum):
    """A QA review is a draft until its reviewer marks it done; only done reviews score the
    call and its ticket, and only those are shown to the call's agent."""

    DRAFT = "draft"
    DONE = "done"


class RubricScale(StrEnum):
    """How one rubric criterion is scored: yes/no (1/0) or whole numbers from MIN to MAX."""

    YES_NO = "yes_no"
    ONE_TO_THREE = "1-3"
    ONE_TO_FOUR = "1-4"
    ONE_TO_FIVE = "1-5"
    ONE_TO_TEN = "1-10"
    ZERO_TO_TEN = "0-10"

    @property
    def bounds(self) -> tuple[int, int]:
        if self is RubricScale.YES_NO:
            return (0, 1)
        low, high = self.value.split("-")
        return (int(low), int(high))


class ReviewAction(StrEnum):
    """What one entry of a review's history records."""

    CREATED = "created"
    UPDATED = "updated"
    DONE = "done"
    REOPENED = "reopened"
    COMMENT_ADDED = "comment_added"
    COMMENT_EDITED = "comment_edited"
    COMMENT_DELETED = "comment_deleted"


class WebhookEventType(StrEnum):
    """What a webhook endpoint may subscribe to (docs/protocol.md, Webhooks)."""

    CHAT_CREATED = "chat.created"
    CHAT_ASSIGNED = "chat.assigned"
    CHAT_ENDED = "chat.ended"
    TICKET_CREATED = "ticket.created"
    TICKET_UPDATED = "ticket.updated"
    TICKET_ESCALATED = "ticket.escalated"
    CALL_STARTED = "call.started"
    CALL_ANSWERED = "call.answered"
    CALL_ENDED = "call.ended"
    CSAT_RECEIVED = "csat.received"
    RECORDING_READY = "recording.ready"
    REVIEW_DONE = "review.done"


class DeliveryState(StrEnum):
    """A webhook delivery: pending (to send or retry), delivered (2xx), dead (gave up)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class SupervisionMode(StrEnum):
    """How a supervisor is in a live call: who hears them (docs/protocol.md §8.9)."""

    MONITOR = "monitor"
    """Receives both sides; nobody hears them, the customer is not told."""
    WHISPER = "whisper"
    """The agent hears them; the customer neither hears nor is told."""
    BARGE = "barge"
    """Both hear them; the customer is told."""
