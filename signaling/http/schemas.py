"""JSON Schemas of what the REST API answers, one per record kind, as docs/protocol.md §4
and §8 describe them. Each route names its answer with `response=` next to its declaration;
/api/openapi.json publishes these, and the schemathesis test holds every answer to them.

Records are closed (additionalProperties false): a field added to a view and not here fails
the conformance test instead of reaching clients undocumented."""

from __future__ import annotations

from enum import Enum
from typing import Any

from signaling.sniff import IMAGE_TYPES, VIDEO_TYPES
from signaling.types import (
    CallEndReason,
    CallMedia,
    CallParty,
    CallState,
    ChatEndReason,
    ChatState,
    DeliveryState,
    JobState,
    KbLanguage,
    LinkState,
    MessageKind,
    Presence,
    RecordingPolicy,
    RecordingState,
    ReviewAction,
    ReviewState,
    Role,
    RubricScale,
    SenderType,
    TicketPriority,
    TicketStatus,
    WebhookEventType,
)

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}
BOOLEAN: Schema = {"type": "boolean"}
ID: Schema = {"type": "integer", "minimum": 1}
COUNT: Schema = {"type": "integer", "minimum": 0}
ANY: Schema = {}  # any JSON value, null included
OBJECT: Schema = {"type": "object"}  # free-form: CRM data, event details, attributes
# Protocol §1: UTC, ISO 8601, ending in Z.
TIMESTAMP: Schema = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$",
}
# A QA review's weighted score, 0-100 (null: nothing scored yet).
SCORE: Schema = {"type": "number", "minimum": 0, "maximum": 100, "nullable": True}
ERROR_CODES = (
    "invalid_payload",
    "payload_too_large",
    "unsupported_media_type",
    "unauthenticated",
    "token_expired",
    "forbidden",
    "origin_not_allowed",
    "url_not_allowed",
    "host_not_allowed",
    "not_found",
    "method_not_allowed",
    "conflict",
    "unprocessable",
    "range_not_satisfiable",
    "rate_limited",
    "internal",
)


def ref(name: str) -> Schema:
    """A named record of COMPONENTS (test_openapi checks every reference resolves)."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    if "$ref" in schema:  # OpenAPI 3.0 ignores siblings of $ref
        return {"allOf": [schema], "nullable": True}
    return {**schema, "nullable": True}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def enum(kind: type[Enum]) -> Schema:
    return {"type": "string", "enum": [member.value for member in kind]}


def obj(properties: Schema, *, optional: Schema | None = None, closed: bool = True) -> Schema:
    """An object whose `properties` are all required, `optional` ones may be left out."""
    return {
        "type": "object",
        "properties": {**properties, **(optional or {})},
        "required": list(properties),
        "additionalProperties": not closed,
    }


def extend(base: Schema, **more: Schema) -> Schema:
    """A record with more required fields (a chat with its messages, a call with its log)."""
    return {
        **base,
        "properties": {**base["properties"], **more},
        "required": [*base["required"], *more],
    }


def page(item: str) -> Schema:
    """A paged list: ?page=1&per_page=50 → {items, page, per_page, total}."""
    return obj({"items": array(ref(item)), "page": ID, "per_page": ID, "total": COUNT})


def items(item: str) -> Schema:
    return obj({"items": array(ref(item))})


USER = obj(
    {
        "id": ID,
        "org_id": ID,
        "email": STRING,
        "name": STRING,
        "role": {"type": "string", "enum": [r.value for r in Role if r is not Role.CUSTOMER]},
        "skills": array(STRING),
        "languages": array(STRING),
        "max_chats": ID,
        "active": BOOLEAN,
        "created_at": TIMESTAMP,
    }
)
GROUP = obj({"id": ID, "org_id": ID, "name": STRING, "topic": nullable(STRING)})
ATTACHMENT = obj(
    {
        "id": ID,
        "filename": STRING,
        "content_type": {"type": "string", "enum": sorted(IMAGE_TYPES | VIDEO_TYPES)},
        "size": COUNT,
        "url": STRING,
    }
)
CHAT = obj(
    {
        "id": ID,
        "state": enum(ChatState),
        "topic": STRING,
        "language": STRING,
        "priority": enum(TicketPriority),
        "ticket_id": ID,
        "group_id": nullable(ID),
        "customer_id": ID,
        "assignee_id": nullable(ID),
        "last_seq": COUNT,
        "customer_read_seq": COUNT,
        "agent_read_seq": COUNT,
        "created_at": TIMESTAMP,
        "queued_at": nullable(TIMESTAMP),
        "assigned_at": nullable(TIMESTAMP),
        "first_response_at": nullable(TIMESTAMP),
        "ended_at": nullable(TIMESTAMP),
        "end_reason": nullable(enum(ChatEndReason)),
        "assignee_name": nullable(STRING),
        "customer_name": STRING,
    }
)
# An article the first-response bot offered (on its messages, as `articles`).
BOT_SUGGESTION = obj({"id": ID, "title": STRING, "excerpt": STRING, "score": NUMBER})
MESSAGE = obj(
    {
        "id": ID,
        "chat_id": ID,
        "seq": ID,
        "sender": obj({"type": enum(SenderType), "id": nullable(ID), "name": nullable(STRING)}),
        "kind": enum(MessageKind),
        "text": STRING,
        "attachment": nullable(ref("Attachment")),
        "client_msg_id": nullable(STRING),
        "created_at": TIMESTAMP,
    },
    optional={"articles": array(BOT_SUGGESTION)},
)
TICKET = obj(
    {
        "id": ID,
        "org_id": ID,
        "customer_id": nullable(ID),
        "subject": STRING,
        "status": enum(TicketStatus),
        "priority": enum(TicketPriority),
        "tags": array(STRING),
        "assignee_id": nullable(ID),
        "group_id": nullable(ID),
        "csat_score": nullable({"type": "integer", "minimum": 1, "maximum": 5}),
        "csat_comment": nullable(STRING),
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "solved_at": nullable(TIMESTAMP),
        # grows by one with every change; PATCH may name the version it edited (§7)
        "version": ID,
    }
)
TICKET_EVENT = obj(
    {
        "id": ID,
        "ticket_id": ID,
        "actor_type": STRING,
        "actor_id": nullable(INTEGER),
        "field": STRING,
        "old_value": ANY,
        "new_value": ANY,
        "created_at": TIMESTAMP,
    }
)
CUSTOMER = obj(
    {
        "id": ID,
        "org_id": ID,
        "external_id": nullable(STRING),
        "name": nullable(STRING),
        "email": nullable(STRING),
        "vip": BOOLEAN,
        "attributes": OBJECT,
        "created_at": TIMESTAMP,
    }
)
AUDIT_ENTRY = obj(
    {
        "id": ID,
        "org_id": nullable(ID),
        "actor_type": STRING,
        "actor_id": nullable(INTEGER),
        "action": STRING,
        "target_type": nullable(STRING),
        "target_id": nullable(INTEGER),
        "detail": OBJECT,
        "ip": nullable(STRING),
        "created_at": TIMESTAMP,
    }
)
DIRECTORY_AGENT = obj(
    {
        "id": ID,
        "name": STRING,
        "skills": array(STRING),
        "languages": array(STRING),
        "group_ids": array(ID),
        "status": enum(Presence),
        "load": COUNT,
        "max_chats": ID,
        "active": BOOLEAN,
    }
)
PARTICIPANT = obj(
    {
        "state": enum(LinkState),
        "audio": BOOLEAN,
        "camera": BOOLEAN,
        "screen": BOOLEAN,
        "stalled": array({"type": "string", "enum": ["audio", "camera", "screen"]}),
    }
)
QUALITY_FIELDS: Schema = {
    "participant": enum(CallParty),
    "rtt_ms": NUMBER,
    "jitter_ms": NUMBER,
    "loss_pct": NUMBER,
    "bitrate_kbps": NUMBER,
    "fps": nullable(NUMBER),
    "width": nullable(INTEGER),
    "height": nullable(INTEGER),
    "mos": NUMBER,
    "level": {"type": "string", "enum": ["good", "fair", "poor"]},
    "at": TIMESTAMP,
}
QUALITY = obj({"call_id": ID, **QUALITY_FIELDS})
CALL = obj(
    {
        "id": ID,
        # grows with every change of the call; compare only revisions of one call (§8)
        "rev": COUNT,
        "chat_id": ID,
        "ticket_id": ID,
        "media": enum(CallMedia),
        "state": enum(CallState),
        "started_by": enum(CallParty),
        "agent_id": ID,
        "relay_worker": nullable(COUNT),
        # which relay placement to join (grows when the call moves); null once it has ended
        "relay_session": nullable(ID),
        "created_at": TIMESTAMP,
        "answered_at": nullable(TIMESTAMP),
        "ended_at": nullable(TIMESTAMP),
        "end_reason": nullable(enum(CallEndReason)),
        "end_reason_text": nullable(STRING),
        "ended_by": nullable(enum(CallParty)),
        "media_used": obj({"audio": BOOLEAN, "camera": BOOLEAN, "screen": BOOLEAN}),
        "participants": obj({"customer": ref("Participant"), "agent": ref("Participant")}),
        "quality": obj(
            {
                "customer": nullable(ref("Quality")),
                "agent": nullable(ref("Quality")),
            }
        ),
        # while the call runs and is recorded: the customer's notice (§8); null otherwise
        "recording": nullable(
            obj(
                {
                    "id": ID,
                    "state": {"type": "string", "enum": ["recording", "paused", "failed"]},
                    "since": TIMESTAMP,
                }
            )
        ),
    }
)
RECORDING_SUMMARY = obj(
    {
        "id": ID,
        "call_id": ID,
        "chat_id": ID,
        "ticket_id": ID,
        "agent_id": ID,
        "agent_name": STRING,
        "customer_id": ID,
        "customer_name": nullable(STRING),
        "group_id": nullable(ID),
        "state": enum(RecordingState),
        "interrupted": BOOLEAN,
        "reason": nullable(STRING),
        "started_at": TIMESTAMP,
        "ended_at": nullable(TIMESTAMP),
        "duration_ms": nullable(COUNT),
        "paused_ms": COUNT,
        "bytes": COUNT,
        "encrypted": BOOLEAN,
        "worst_quality": nullable({"type": "string", "enum": ["good", "fair", "poor"]}),
        "score": nullable(NUMBER),
        "reviewed": BOOLEAN,
    }
)
RECORDING_FILE = obj(
    {
        "id": ID,
        "kind": {"type": "string", "enum": ["track", "composite"]},
        "participant": nullable(enum(CallParty)),
        "role": nullable({"type": "string", "enum": ["audio", "camera", "screen"]}),
        "mime": STRING,
        "duration_ms": COUNT,
        "start_offset_ms": COUNT,
        "bytes": COUNT,
    }
)
MEDIA_JOB = obj(
    {
        "id": ID,
        "kind": {"type": "string", "enum": ["convert", "composite"]},
        "state": enum(JobState),
        "progress": NUMBER,
        "attempts": COUNT,
        "error": nullable(STRING),
    }
)
RECORDING_DETAIL = extend(
    RECORDING_SUMMARY,
    files=array(ref("RecordingFile")),
    paused_spans=array(obj({"from_ms": COUNT, "to_ms": COUNT})),
    jobs=array(ref("MediaJob")),
)
RECORDING_LINK = obj({"url": STRING, "expires_at": TIMESTAMP})
TIMELINE = obj(
    {
        "started_at": TIMESTAMP,
        "items": array(
            obj(
                {
                    "at_ms": INTEGER,
                    "at": TIMESTAMP,
                    "kind": {
                        "type": "string",
                        "enum": ["message", "call_event", "annotation", "quality"],
                    },
                },
                closed=False,
            )
        ),
    }
)
RECORDING_POLICY = obj({"recording_policy": enum(RecordingPolicy)})
CALL_EVENT = obj(
    {
        "id": ID,
        "kind": STRING,
        "actor": nullable(enum(CallParty)),
        "at": TIMESTAMP,
        "detail": OBJECT,
    }
)
QUALITY_SAMPLE = obj(QUALITY_FIELDS)
ERROR = obj(
    {
        "error": obj(
            {"code": {"type": "string", "enum": list(ERROR_CODES)}, "message": STRING},
            optional={"details": OBJECT},
        )
    }
)

COMPONENTS: dict[str, Schema] = {
    "Error": ERROR,
    "User": USER,
    "Group": GROUP,
    "Attachment": ATTACHMENT,
    "Chat": CHAT,
    "Message": MESSAGE,
    "Ticket": TICKET,
    "TicketEvent": TICKET_EVENT,
    "Customer": CUSTOMER,
    "AuditEntry": AUDIT_ENTRY,
    "DirectoryAgent": DIRECTORY_AGENT,
    "Participant": PARTICIPANT,
    "Quality": QUALITY,
    "Call": CALL,
    "CallEvent": CALL_EVENT,
    "QualitySample": QUALITY_SAMPLE,
    "Recording": RECORDING_SUMMARY,
    "RecordingFile": RECORDING_FILE,
    "MediaJob": MEDIA_JOB,
}

# Answers built from the records above, by route family.
CHAT_WITH_MESSAGES = extend(CHAT, messages=array(ref("Message")))
TICKET_DETAIL = extend(
    TICKET,
    history=array(ref("TicketEvent")),
    chats=array(CHAT_WITH_MESSAGES),
    # the mean score of its calls' done reviews, and the reviews the caller may read (§9)
    qa_score=SCORE,
    qa_reviews=array(ref("ReviewSummary")),
)
CALL_DETAIL = extend(
    CALL,
    events=array(ref("CallEvent")),
    quality_samples=array(ref("QualitySample")),
    # {id, state, score} of its QA review, if there is one the caller may read (§9)
    review=nullable(obj({"id": ID, "state": enum(ReviewState), "score": SCORE})),
)
SIGNED_IN = obj(
    {"token": STRING, "expires_at": TIMESTAMP, "user": ref("User"), "device_token": STRING}
)
REFRESHED = obj(
    {
        "token": STRING,
        "expires_at": TIMESTAMP,
        "user": ref("User"),
        "session_seconds_left": COUNT,
    }
)
GUEST_TOKEN = obj({"token": STRING, "expires_at": TIMESTAMP})
GUEST_SESSION = extend(
    GUEST_TOKEN,
    chat=ref("Chat"),
    customer=obj({"id": ID, "name": nullable(STRING), "identified": BOOLEAN}),
)
ME = obj(
    {
        "user": ref("User"),
        "org": obj({"id": ID, "slug": STRING, "name": STRING}),
        "group_ids": array(ID),
        "token_expires_at": TIMESTAMP,
    }
)
WIDGET_CONFIG = obj(
    {
        "org": obj({"slug": STRING, "name": STRING}),
        "topics": array(STRING),
        "languages": array(STRING),
        "agents_online": COUNT,
    }
)
CONTEXT = obj(
    {
        "customer": ref("Customer"),
        "external": obj(
            {
                "configured": BOOLEAN,
                "data": nullable(OBJECT),
                "error": nullable(STRING),
                "cached": BOOLEAN,
            }
        ),
        "history": obj(
            {
                "chats": array(ref("Chat")),
                "tickets": array(ref("Ticket")),
                "calls": array(ref("Call")),
            }
        ),
    }
)
# /healthz: each component says ok and adds its own diagnostic figures (protocol §7).
HEALTH = obj(
    {
        "status": {"type": "string", "enum": ["ok", "degraded", "draining"]},
        "uptime_seconds": NUMBER,
        "components": obj(
            {
                name: obj({"ok": BOOLEAN}, closed=False)
                for name in (
                    "database",
                    "socketio",
                    "routing",
                    "attachments",
                    "context_hook",
                    "relay",
                    "recordings",
                )
            },
            optional={
                # Only with several signaling processes (server.redis_url).
                "cluster": obj(
                    {
                        "ok": BOOLEAN,
                        "role": {"type": "string", "enum": ["primary", "forwarding"]},
                        "process": STRING,
                        "primary": nullable(STRING),
                    },
                    optional={"error": STRING},
                ),
            },
        ),
    }
)
OPENAPI_DOCUMENT = obj(
    {"openapi": STRING, "info": OBJECT, "paths": OBJECT, "components": OBJECT}, closed=False
)
MESSAGES_PAGE = obj({"items": array(ref("Message")), "has_more": BOOLEAN})
AUDIT_PAGE = obj({"items": array(ref("AuditEntry")), "page": ID, "per_page": ID})
DIRECTORY = obj({"agents": array(ref("DirectoryAgent")), "groups": array(ref("Group"))})
SIGNED_OUT = obj({"signed_out": {"type": "boolean", "enum": [True]}})
# Downloads: the file itself, typed by what its first bytes are (never by its name).
FILE = {"type": "string", "format": "binary"}
FILE_TYPES = tuple(sorted(IMAGE_TYPES | VIDEO_TYPES))
UPLOAD = {
    "type": "object",
    "properties": {"file": FILE},
    "required": ["file"],
    "additionalProperties": False,
}

# ---- QA review (protocol §9): rubrics, reviews, comments, history ----------------------------

CRITERION = obj(
    {
        "id": STRING,
        "title": STRING,
        "description": STRING,
        "weight": NUMBER,
        "scale": enum(RubricScale),
        "optional": BOOLEAN,
    }
)
RUBRIC = obj(
    {
        "id": ID,
        "org_id": ID,
        "group_id": nullable(ID),
        "name": STRING,
        "version": ID,
        "criteria": array(ref("Criterion")),
        "archived": BOOLEAN,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    }
)
RUBRIC_VERSION = obj(
    {
        "rubric_id": ID,
        "version": ID,
        "name": STRING,
        "criteria": array(ref("Criterion")),
        "created_at": TIMESTAMP,
        "created_by": nullable(ID),
        "created_by_name": nullable(STRING),
    }
)
REVIEW_SUMMARY = obj(
    {
        "id": ID,
        "call_id": ID,
        "ticket_id": ID,
        "agent_id": ID,
        "agent_name": nullable(STRING),
        "state": enum(ReviewState),
        "score": SCORE,
        "rubric_id": ID,
        "rubric_name": STRING,
        "rubric_version": ID,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "done_at": nullable(TIMESTAMP),
        "done_by": nullable(ID),
        "done_by_name": nullable(STRING),
    }
)
REVIEW_COMMENT = obj(
    {
        "id": ID,
        "review_id": ID,
        "at_ms": COUNT,
        "text": STRING,
        "author_id": ID,
        "author_name": nullable(STRING),
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    }
)
REVIEW = extend(
    REVIEW_SUMMARY,
    version=ID,
    scores={"type": "object", "additionalProperties": INTEGER},
    summary=STRING,
    rubric=ref("RubricVersion"),
    comments=array(ref("ReviewComment")),
    created_by=ID,
    created_by_name=nullable(STRING),
)
REVIEW_EVENT = obj(
    {
        "id": ID,
        "review_id": ID,
        "at": TIMESTAMP,
        "actor_id": ID,
        "actor_name": nullable(STRING),
        "action": enum(ReviewAction),
        "changes": array(obj({"field": STRING, "old": ANY, "new": ANY})),
    }
)
COMPONENTS.update(
    {
        "Criterion": CRITERION,
        "Rubric": RUBRIC,
        "RubricVersion": RUBRIC_VERSION,
        "ReviewSummary": REVIEW_SUMMARY,
        "ReviewComment": REVIEW_COMMENT,
        "Review": REVIEW,
        "ReviewEvent": REVIEW_EVENT,
    }
)
RUBRIC_DETAIL = extend(RUBRIC, versions=array(ref("RubricVersion")))
CALL_REVIEW = obj(
    {"call_id": ID, "review": nullable(ref("Review")), "rubric": nullable(ref("RubricVersion"))}
)
COMMENT_DELETED = obj({"deleted": {"type": "boolean", "enum": [True]}})

# ---- webhooks (docs/protocol.md, Webhooks) ------------------------------------------------
WEBHOOK_ENDPOINT = obj(
    {
        "id": ID,
        "url": STRING,
        "description": STRING,
        "event_types": array(enum(WebhookEventType)),
        "enabled": BOOLEAN,
        # "…" and the secret's last four characters: the secret itself is shown once
        "secret_hint": STRING,
        "pending": COUNT,
        "dead": COUNT,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    }
)
WEBHOOK_DELIVERY = obj(
    {
        "id": ID,
        "endpoint_id": ID,
        "event_id": STRING,
        "event_type": enum(WebhookEventType),
        "state": enum(DeliveryState),
        "attempts": COUNT,
        "next_attempt_at": TIMESTAMP,
        "last_status": nullable(INTEGER),
        "last_error": nullable(STRING),
        "last_attempt_at": nullable(TIMESTAMP),
        "delivered_at": nullable(TIMESTAMP),
        "created_at": TIMESTAMP,
        # the body as sent: {version, id, type, occurred_at, org_id, data}
        "event": OBJECT,
    }
)
COMPONENTS.update({"WebhookEndpoint": WEBHOOK_ENDPOINT, "WebhookDelivery": WEBHOOK_DELIVERY})
WEBHOOK_LIST = obj(
    {
        "items": array(ref("WebhookEndpoint")),
        "event_types": array(enum(WebhookEventType)),
        # false: webhooks.allowed_hosts is empty, so no endpoint can be added
        "hosts_allowed": BOOLEAN,
    }
)
WEBHOOK_CREATED = extend(WEBHOOK_ENDPOINT, secret=STRING)
WEBHOOK_DELETED = obj({"deleted": {"type": "boolean", "enum": [True]}, "deliveries": COUNT})

# The dashboard (signaling/store/kpis.py defines each figure). Seconds and averages are null
# when nothing was there to measure; rates are fractions 0-1.
SECONDS: Schema = {"type": "number", "minimum": 0, "nullable": True}
RATE: Schema = {"type": "number", "minimum": 0, "maximum": 1, "nullable": True}
KPI_FIGURES: Schema = {
    "chats": COUNT,
    "handled": COUNT,
    "wait_avg_s": SECONDS,
    "first_response_avg_s": SECONDS,
    "first_response_median_s": SECONDS,
    "first_response_p90_s": SECONDS,
    "handle_avg_s": SECONDS,
    "resolved": COUNT,
    "resolution_rate": RATE,
    "escalations": COUNT,
    "csat_avg": {"type": "number", "minimum": 1, "maximum": 5, "nullable": True},
    "csat_responses": COUNT,
    "csat_response_rate": RATE,
    "self_served": COUNT,
    "calls": COUNT,
    "calls_answered": COUNT,
    "call_avg_length_s": SECONDS,
    "calls_missed": COUNT,
    "missed_share": RATE,
    "mos_avg": {"type": "number", "minimum": 1, "maximum": 5, "nullable": True},
    "mos_calls": COUNT,
    "qa_score_avg": SCORE,
    "qa_reviews": COUNT,
}
COMPONENTS.update(
    {
        "KpiFigures": obj(KPI_FIGURES),
        "KpiAgentRow": obj({"agent_id": nullable(ID), "name": nullable(STRING), **KPI_FIGURES}),
        "KpiGroupRow": obj({"group_id": nullable(ID), "name": nullable(STRING), **KPI_FIGURES}),
        "KpiTopicRow": obj({"topic": nullable(STRING), **KPI_FIGURES}),
    }
)
KPI_PERIOD = obj(
    {
        "start": TIMESTAMP,
        "end": TIMESTAMP,
        "totals": ref("KpiFigures"),
        "agents": array(ref("KpiAgentRow")),
        "groups": array(ref("KpiGroupRow")),
        "topics": array(ref("KpiTopicRow")),
    }
)
KPI_LIVE = obj(
    {
        "at": TIMESTAMP,
        "queue": array(
            obj(
                {
                    "topic": STRING,
                    "language": STRING,
                    "waiting": COUNT,
                    "longest_wait_s": SECONDS,
                }
            )
        ),
        "presence": obj({p.value: COUNT for p in Presence}),
        "agents": array(
            obj(
                {
                    "id": ID,
                    "name": STRING,
                    "status": enum(Presence),
                    "load": COUNT,
                    "max_chats": COUNT,
                }
            )
        ),
        "calls": obj({"ringing": COUNT, "active": COUNT}),
    }
)

# The knowledge base (docs/protocol.md §11). Customers get an article without its Markdown
# source (`body`) and creation time.
KB_ARTICLE = obj(
    {
        "id": ID,
        "title": STRING,
        "html": STRING,
        "language": enum(KbLanguage),
        "topic": nullable(STRING),
        "tags": array(STRING),
        "published": BOOLEAN,
        "updated_at": TIMESTAMP,
    },
    optional={"body": STRING, "created_at": TIMESTAMP},
)
KB_HIT = obj(
    {
        "id": ID,
        "title": STRING,
        "excerpt": STRING,
        "score": {"type": "number", "minimum": 0},
        "language": enum(KbLanguage),
        "topic": nullable(STRING),
        "tags": array(STRING),
        "published": BOOLEAN,
    }
)
KB_MACRO = obj(
    {
        "id": ID,
        "title": STRING,
        "body": STRING,
        "language": nullable(enum(KbLanguage)),
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    }
)
COMPONENTS.update({"KbArticle": KB_ARTICLE, "KbHit": KB_HIT, "KbMacro": KB_MACRO})
KB_SEARCH = obj({"items": array(ref("KbHit"))})
KB_MACROS = obj(
    {"items": array(ref("KbMacro")), "placeholders": array(STRING)},
)
KB_FILLED = obj({"text": STRING})
KB_DELETED = obj({"deleted": {"type": "boolean", "enum": [True]}})
BOT_SETTINGS = obj({"enabled": BOOLEAN, "published_articles": COUNT})
