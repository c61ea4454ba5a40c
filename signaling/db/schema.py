"""Tables, as SQLAlchemy Core metadata. Migrations in `migrations/versions` must match this."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are always UTC-aware in Python, whatever the database keeps."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


def _created() -> Column[datetime]:
    return Column("created_at", UTCDateTime(), nullable=False, default=utcnow)


organisations = Table(
    "organisations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    # Per-organisation secret a host site uses to sign its customers' identities (HMAC-SHA256).
    Column("identity_secret", String(128), nullable=False),
    # Which calls are recorded: always, on_request (the agent starts it) or never.
    Column("recording_policy", String(16), nullable=False, server_default="always"),
    _created(),
    # The first-response bot answers a new chat's first message (signaling/kb/bot.py).
    Column("bot_enabled", Boolean, nullable=False, server_default="0"),
    # Grows with every knowledge-base article change: a process whose search index was built
    # at an older revision builds it again (signaling/kb/index.py).
    Column("kb_revision", Integer, nullable=False, server_default="0"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("skills", JSON, nullable=False, default=list),
    Column("languages", JSON, nullable=False, default=list),
    Column("max_chats", Integer, nullable=False, default=3),
    Column("active", Boolean, nullable=False, default=True),
    _created(),
)

# The status each agent chose last (online, busy, away, offline): what a restarted server
# gives back to an agent who reconnects within the grace period.
agent_presence = Table(
    "agent_presence",
    metadata,
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("changed_at", UTCDateTime(), nullable=False, default=utcnow),
)

groups = Table(
    "groups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    # The chat topic (= agent skill) this group serves; NULL for the catch-all group.
    Column("topic", String(64), nullable=True),
    UniqueConstraint("org_id", "name"),
)

group_members = Table(
    "group_members",
    metadata,
    Column("group_id", ForeignKey("groups.id"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True, index=True),
)

auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    _created(),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Column("ip", String(64), nullable=True),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("external_id", String(128), nullable=True),
    Column("name", String(200), nullable=True),
    Column("email", String(254), nullable=True),
    Column("vip", Boolean, nullable=False, default=False),
    Column("attributes", JSON, nullable=False, default=dict),
    _created(),
    UniqueConstraint("org_id", "external_id"),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("customer_id", ForeignKey("customers.id"), nullable=True, index=True),
    Column("subject", String(300), nullable=False),
    Column("status", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("tags", JSON, nullable=False, default=list),
    Column("assignee_id", ForeignKey("users.id"), nullable=True, index=True),
    Column("group_id", ForeignKey("groups.id"), nullable=True, index=True),
    Column("csat_score", SmallInteger, nullable=True),
    Column("csat_comment", Text, nullable=True),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False, default=utcnow),
    Column("solved_at", UTCDateTime(), nullable=True),
    # Grows by one with every change (store/tickets.change_ticket): a save made on an older
    # version is refused instead of silently undoing what happened meanwhile.
    Column("version", Integer, nullable=False, server_default="1"),
)

ticket_events = Table(
    "ticket_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False, index=True),
    Column("actor_type", String(16), nullable=False),
    Column("actor_id", Integer, nullable=True),
    Column("field", String(32), nullable=False),
    Column("old_value", JSON, nullable=True),
    Column("new_value", JSON, nullable=True),
    _created(),
)

chat_sessions = Table(
    "chat_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("customer_id", ForeignKey("customers.id"), nullable=False, index=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False, index=True),
    Column("group_id", ForeignKey("groups.id"), nullable=True, index=True),
    Column("assignee_id", ForeignKey("users.id"), nullable=True, index=True),
    Column("state", String(16), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("language", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("last_seq", Integer, nullable=False, default=0),
    Column("customer_read_seq", Integer, nullable=False, default=0),
    Column("agent_read_seq", Integer, nullable=False, default=0),
    _created(),
    Column("queued_at", UTCDateTime(), nullable=True),
    Column("assigned_at", UTCDateTime(), nullable=True),
    Column("first_response_at", UTCDateTime(), nullable=True),
    Column("ended_at", UTCDateTime(), nullable=True),
    Column("end_reason", String(32), nullable=True),
    Index("ix_chat_sessions_state_queued_at", "state", "queued_at"),
    # The KPIs of a period (signaling/store/kpis.py) select by organisation and creation time.
    Index("ix_chat_sessions_org_id_created_at", "org_id", "created_at"),
)

attachments = Table(
    "attachments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", ForeignKey("organisations.id"), nullable=False),
    Column("chat_id", ForeignKey("chat_sessions.id"), nullable=False, index=True),
    Column("uploader_type", String(16), nullable=False),
    Column("uploader_id", Integer, nullable=False),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("storage_key", String(100), nullable=False, unique=True),
    _created(),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chat_id", ForeignKey("chat_sessions.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("sender_type", String(16), nullable=False),
    Column("sender_id", Integer, nullable=True),
    Column("client_msg_id", String(64), nullable=True),
    Column("kind", String(16), nullable=False),
    Column("text", Text, nullable=False, default=""),
    Column("attachment_id", ForeignKey("attachments.id"), nullable=True),
    _created(),
    # The bot's answers: {"articles": [{id, title, excerpt, score}]} (NULL for everything else).
    Column("meta", JSON, nullable=True),
    UniqueConstraint("chat_id", "seq"),
    UniqueConstraint("chat_id", "sender_type", "sender_id", "client_msg_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", Integer, nullable=True, index=True),
    Column("actor_type", String(16), nullable=False),
    Column("actor_id", Integer, nullable=True),
    Column("action", String(64), nullable=False),
    Column("target_type", String(32), nullable=True),
    Column("target_id", Integer, nullable=True),
    Column("detail", JSON, nullable=False, default=dict),
    Column("ip", String(64), nullable=True),
    _created(),
)

calls = Table(
    "calls",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("chat_id", ForeignKey("chat_sessions.id"), nullable=False, index=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False, index=True),
    Column("customer_id", ForeignKey("customers.id"), nullable=False),
    Column("agent_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("media", String(8), nullable=False),
    Column("state", String(16), nullable=False),
    Column("started_by", String(16), nullable=False),
    Column("relay_worker", Integer, nullable=True),
    _created(),
    Column("answered_at", UTCDateTime(), nullable=True),
    Column("ended_at", UTCDateTime(), nullable=True),
    Column("end_reason", String(32), nullable=True),
    Column("ended_by", String(16), nullable=True),
    # {"audio": bool, "camera": bool, "screen": bool}: what was ever sent during the call.
    Column("media_used", JSON, nullable=False),
    # The Call's revision as last written (signaling/calls/revision.py); grows with each change.
    Column("rev", BigInteger, nullable=False, server_default="0"),
    Index("ix_calls_org_id_created_at", "org_id", "created_at"),
)

call_events = Table(
    "call_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("call_id", ForeignKey("calls.id"), nullable=False, index=True),
    # ringing, accepted, joined, reconnecting, reconnected, media, annotation, downgrade, ended
    Column("kind", String(32), nullable=False),
    Column("actor", String(16), nullable=True),
    Column("detail", JSON, nullable=False),
    _created(),
)

call_quality = Table(
    "call_quality",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("call_id", ForeignKey("calls.id"), nullable=False, index=True),
    Column("participant", String(16), nullable=False),
    Column("rtt_ms", Float, nullable=False),
    Column("jitter_ms", Float, nullable=False),
    Column("loss_pct", Float, nullable=False),
    Column("bitrate_kbps", Float, nullable=False),
    Column("fps", Float, nullable=True),
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    Column("mos", Float, nullable=False),
    Column("level", String(8), nullable=False),
    _created(),
)


recordings = Table(
    "recordings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("call_id", ForeignKey("calls.id"), nullable=False, unique=True),
    # recording, paused, processing (the call ended; files being made), ready, failed, deleted
    Column("state", String(16), nullable=False),
    # A worker or the server died under it: what was captured is kept, with a gap or an end.
    Column("interrupted", Boolean, nullable=False, default=False),
    Column("reason", Text, nullable=True),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime(), nullable=True),
    Column("duration_ms", Integer, nullable=True),
    Column("paused_ms", Integer, nullable=False, default=0),
    # The recording's folder, relative to recordings.dir.
    Column("directory", String(200), nullable=False),
    Column("bytes", BigInteger, nullable=False, default=0),
    Column("dropped_bytes", BigInteger, nullable=False, default=0),
    Column("encrypted", Boolean, nullable=False, default=False),
    Column("deleted_at", UTCDateTime(), nullable=True),
    _created(),
)

recording_files = Table(
    "recording_files",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("recording_id", ForeignKey("recordings.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # track, composite
    Column("participant", String(16), nullable=True),  # customer, agent; null: composite
    Column("role", String(16), nullable=True),  # audio, camera, screen; null: composite
    Column("path", String(300), nullable=False),  # relative to recordings.dir
    Column("mime", String(80), nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("start_offset_ms", Integer, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    _created(),
)

media_jobs = Table(
    "media_jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("recording_id", ForeignKey("recordings.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # convert, composite
    Column("state", String(16), nullable=False),  # queued, running, done, failed
    Column("progress", Float, nullable=False, default=0.0),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text, nullable=True),
    Column("not_before", UTCDateTime(), nullable=True),  # retry backoff
    Column("started_at", UTCDateTime(), nullable=True),
    Column("finished_at", UTCDateTime(), nullable=True),
    _created(),
)

# ---- QA review: rubrics (versioned), reviews of calls, comments pinned to media time ------

rubrics = Table(
    "rubrics",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", ForeignKey("organisations.id"), nullable=False, index=True),
    # The group whose calls it scores; NULL: the organisation's default rubric.
    Column("group_id", ForeignKey("groups.id"), nullable=True),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),  # the current one (rubric_versions.version)
    Column("archived", Boolean, nullable=False, default=False),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False, default=utcnow),
)

# Every version of a rubric, never changed once written: a review keeps the one it was scored
# against, so editing a rubric cannot change a score already given.
rubric_versions = Table(
    "rubric_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rubric_id", ForeignKey("rubrics.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    # [{"id", "title", "description", "weight", "scale", "optional"}]
    Column("criteria", JSON, nullable=False),
    Column("created_by", ForeignKey("users.id"), nullable=True),
    _created(),
    UniqueConstraint("rubric_id", "version"),
)

# One review per call. Recordings join on call_id: a call is reviewed when its review is
# "done", and its score is then `score` (signaling.store.reviews.done_reviews).
reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("call_id", ForeignKey("calls.id"), nullable=False, unique=True),
    Column("rubric_version_id", ForeignKey("rubric_versions.id"), nullable=False),
    Column("state", String(8), nullable=False),  # draft | done
    Column("scores", JSON, nullable=False),  # {criterion id: value}; unscored ones absent
    Column("score", Float, nullable=True),  # weighted, 0-100, of what is scored so far
    Column("summary", Text, nullable=False, default=""),
    Column("version", Integer, nullable=False),  # grows with every change (stale edits: 409)
    Column("created_by", ForeignKey("users.id"), nullable=False),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False, default=utcnow),
    Column("done_at", UTCDateTime(), nullable=True),
    Column("done_by", ForeignKey("users.id"), nullable=True),
)

review_comments = Table(
    "review_comments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("review_id", ForeignKey("reviews.id"), nullable=False, index=True),
    Column("author_id", ForeignKey("users.id"), nullable=False),
    Column("at_ms", Integer, nullable=False),  # media time from the recording's start
    Column("text", Text, nullable=False),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False, default=utcnow),
    Column("deleted_at", UTCDateTime(), nullable=True),  # kept for the history
)

# The history of a review: who changed what, when (scores, summary, state, comments).
review_events = Table(
    "review_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("review_id", ForeignKey("reviews.id"), nullable=False, index=True),
    Column("actor_id", ForeignKey("users.id"), nullable=False),
    Column("action", String(32), nullable=False),
    Column("changes", JSON, nullable=False),  # [{"field", "old", "new"}]
    _created(),
)

# ---- Webhooks: endpoints admins configure, and the outbox their deliveries go out from -----

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("url", String(2000), nullable=False),
    # The HMAC-SHA256 key its deliveries are signed with; shown once, when it is set.
    Column("secret", String(200), nullable=False),
    Column("event_types", JSON, nullable=False),  # ["chat.created", ...]
    Column("enabled", Boolean, nullable=False, default=True),
    Column("description", String(200), nullable=False, default=""),
    Column("created_by", ForeignKey("users.id"), nullable=True),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False, default=utcnow),
)

# One row per event and endpoint, written in the transaction of the change it reports
# (signaling/webhooks/outbox.py). `body` is the exact bytes sent on every attempt.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("endpoint_id", ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("event_id", String(40), nullable=False),  # the same for every endpoint and attempt
    Column("event_type", String(40), nullable=False),
    # Deliveries with one key (a chat) go to one endpoint in order: chat:<id>, ticket:<id>.
    Column("order_key", String(40), nullable=False),
    Column("body", Text, nullable=False),
    Column("state", String(12), nullable=False),  # pending, delivered, dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    # Retried for webhooks.max_age_seconds from this moment (the event, or a redelivery).
    Column("retry_since", UTCDateTime(), nullable=False),
    # A process sending it holds it until lease_until (several signaling processes).
    Column("claimed_by", String(80), nullable=True),
    Column("lease_until", UTCDateTime(), nullable=True),
    Column("last_status", Integer, nullable=True),  # the receiver's HTTP status
    Column("last_error", Text, nullable=True),
    Column("last_attempt_at", UTCDateTime(), nullable=True),
    Column("delivered_at", UTCDateTime(), nullable=True),
    _created(),
    Index("ix_webhook_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
    Index("ix_webhook_deliveries_endpoint_id_order_key", "endpoint_id", "order_key", "id"),
)

# Knowledge-base articles: Markdown as written and its sanitised HTML (rendered once, on save).
kb_articles = Table(
    "kb_articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("body_html", Text, nullable=False),
    Column("language", String(16), nullable=False),
    Column("topic", String(64), nullable=True),
    Column("tags", JSON, nullable=False, default=list),
    Column("published", Boolean, nullable=False, default=False),
    Column("created_by", ForeignKey("users.id"), nullable=True),
    Column("updated_by", ForeignKey("users.id"), nullable=True),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False, default=utcnow),
)

# Canned replies with placeholders ({customer_name}, {agent_name}, {ticket_id}, …).
kb_macros = Table(
    "kb_macros",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("title", String(100), nullable=False),
    Column("body", Text, nullable=False),
    Column("language", String(16), nullable=True),
    Column("created_by", ForeignKey("users.id"), nullable=True),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False, default=utcnow),
)
