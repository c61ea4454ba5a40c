"""Recordings over REST: the QA list and one recording (files, paused spans, jobs), its
evidence timeline, short-lived links to its files, a composite on request, and the
organisation's recording policy. Recordings are never public: QA reviewers and admins of
the organisation, and a call's own agent, see them; customers never."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, exists, select

from signaling.auth import access
from signaling.db.schema import call_quality, calls
from signaling.errors import InvalidPayload
from signaling.http import schemas, services
from signaling.http.api import ID, ApiRequest, api
from signaling.http.paging import paged
from signaling.recordings.service import visible_recording
from signaling.recordings.timeline import paused_spans, timeline
from signaling.store import Record
from signaling.store import calls as call_store
from signaling.store import recordings as store
from signaling.store import reviews as review_store
from signaling.store.reviews import CallScore
from signaling.types import RecordingPolicy, RecordingState, Role
from signaling.wire import limit

READERS = (Role.AGENT, Role.QA, Role.ADMIN)
REVIEWERS = (Role.QA, Role.ADMIN)
DATE = limit(max_len=10, pattern=r"\d{4}-\d{2}-\d{2}", schema={"format": "date"})
LEVELS = ("good", "fair", "poor")


@dataclass(frozen=True)
class RecordingListQuery:
    date_from: str | None = field(default=None, metadata=DATE)
    date_to: str | None = field(default=None, metadata=DATE)
    """Inclusive: recordings started on that day (UTC) are listed."""
    agent_id: int | None = field(default=None, metadata=ID)
    group_id: int | None = field(default=None, metadata=ID)
    customer_id: int | None = field(default=None, metadata=ID)
    ticket_id: int | None = field(default=None, metadata=ID)
    state: RecordingState | None = None
    min_duration_s: int | None = field(default=None, metadata=limit(min=0, max=86_400))
    max_duration_s: int | None = field(default=None, metadata=limit(min=0, max=86_400))
    quality: str | None = field(default=None, metadata=limit(max_len=4, pattern="good|fair|poor"))
    """The worst quality level sampled during the call."""
    min_score: float | None = field(default=None, metadata=limit(min=0, max=100))
    max_score: float | None = field(default=None, metadata=limit(min=0, max=100))
    """The score of the call's done QA review (calls without one do not match)."""
    reviewed: bool | None = None
    """Whether the call's QA review is done."""
    page: int = field(default=1, metadata=limit(min=1, max=100_000))
    per_page: int = field(default=50, metadata=limit(min=1, max=200))


@dataclass(frozen=True)
class LinkRequest:
    file_id: int = field(metadata=ID)


@dataclass(frozen=True)
class PolicyUpdate:
    recording_policy: RecordingPolicy


def _day(text: str, name: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(text), time.min, tzinfo=UTC)
    except ValueError:
        raise InvalidPayload(f"{name} is not a date", details={"field": name}) from None


def _quality_condition(level: str) -> Any:
    """Calls whose worst sampled quality is `level`."""

    def sampled(*levels: str) -> Any:
        return exists(
            select(call_quality.c.id).where(
                call_quality.c.call_id == calls.c.id, call_quality.c.level.in_(levels)
            )
        )

    worse = LEVELS[LEVELS.index(level) + 1 :]
    return and_(sampled(level), ~sampled(*worse)) if worse else sampled(level)


async def _worst_quality(conn: Any, call_ids: list[int]) -> dict[int, str]:
    rows = await conn.execute(
        select(call_quality.c.call_id, call_quality.c.level).where(
            call_quality.c.call_id.in_(call_ids)
        )
    )
    worst: dict[int, str] = {}
    for call_id, level in rows:
        if LEVELS.index(level) > LEVELS.index(worst.get(call_id, "good")) or call_id not in worst:
            worst[call_id] = level
    return worst


def summary_view(row: Record, worst: str | None, review: CallScore | None = None) -> dict[str, Any]:
    keys = (
        "id", "call_id", "chat_id", "ticket_id", "agent_id", "agent_name", "customer_id",
        "customer_name", "group_id", "state", "interrupted", "reason", "started_at",
        "ended_at", "duration_ms", "paused_ms", "bytes", "encrypted",
    )  # fmt: skip
    view = {key: row[key] for key in keys}
    view.update(worst_quality=worst, score=None, reviewed=False)
    if review is not None:
        view.update(score=review["score"], reviewed=review["reviewed"])
    return view


@api.route(
    "GET",
    "/api/recordings",
    summary="Recorded calls (QA and admins: the organisation's; agents: their own), filtered",
    roles=READERS,
    query=RecordingListQuery,
    tag="recordings",
    response=schemas.page("Recording"),
)
async def list_recordings(call: ApiRequest) -> dict[str, Any]:
    q: RecordingListQuery = call.query
    filters: dict[str, Any] = {
        "agent_id": q.agent_id,
        "group_id": q.group_id,
        "customer_id": q.customer_id,
        "ticket_id": q.ticket_id,
        "state": q.state.value if q.state else None,
        "min_duration_ms": q.min_duration_s * 1000 if q.min_duration_s is not None else None,
        "max_duration_ms": q.max_duration_s * 1000 if q.max_duration_s is not None else None,
        "started_from": _day(q.date_from, "date_from") if q.date_from else None,
        "started_before": _day(q.date_to, "date_to") + timedelta(days=1) if q.date_to else None,
    }
    extra = [_quality_condition(q.quality)] if q.quality else []
    if q.reviewed is not None:
        extra.append(review_store.reviewed_condition(calls.c.id, q.reviewed))
    if q.min_score is not None or q.max_score is not None:
        extra.append(review_store.score_condition(calls.c.id, q.min_score, q.max_score))
    scope = access.list_scope(call.me, ())
    async with call.runtime.db.read() as conn:
        rows, total = await store.list_recordings(
            conn,
            scope.org_id,
            agent_id=scope.user_id,
            filters=filters,
            extra=extra,
            limit=q.per_page,
            offset=(q.page - 1) * q.per_page,
        )
        worst = await _worst_quality(conn, [r["call_id"] for r in rows])
        scores = await review_store.review_scores(conn, [r["call_id"] for r in rows])
    items = [summary_view(r, worst.get(r["call_id"]), scores[r["call_id"]]) for r in rows]
    return paged(items, total, q.page, q.per_page)


def file_view(row: Record) -> dict[str, Any]:
    keys = ("id", "kind", "participant", "role", "mime", "duration_ms", "start_offset_ms", "bytes")
    return {key: row[key] for key in keys}


def job_view(row: Record) -> dict[str, Any]:
    return {key: row[key] for key in ("id", "kind", "state", "progress", "attempts", "error")}


@api.route(
    "GET",
    "/api/recordings/{recording_id}",
    summary="One recording: its files (with their place on the media timeline), paused spans, jobs",
    roles=READERS,
    tag="recordings",
    response=schemas.RECORDING_DETAIL,
)
async def get_recording(call: ApiRequest) -> dict[str, Any]:
    async with call.runtime.db.read() as conn:
        row = await visible_recording(conn, call.me, call.path_id("recording_id"))
        files = await store.files_of(conn, row["id"])
        jobs = await store.jobs_of(conn, row["id"])
        events = await call_store.events_of(conn, row["call_id"])
        worst = await _worst_quality(conn, [row["call_id"]])
        scores = await review_store.review_scores(conn, [row["call_id"]])
    return {
        **summary_view(row, worst.get(row["call_id"]), scores[row["call_id"]]),
        "files": [file_view(f) for f in files],
        "paused_spans": paused_spans(events, row["started_at"], row["ended_at"]),
        "jobs": [job_view(j) for j in jobs],
    }


@api.route(
    "GET",
    "/api/recordings/{recording_id}/timeline",
    summary="The evidence timeline: chat messages, call events, annotations, quality samples",
    roles=READERS,
    tag="recordings",
    response=schemas.TIMELINE,
)
async def get_timeline(call: ApiRequest) -> dict[str, Any]:
    async with call.runtime.db.read() as conn:
        row = await visible_recording(conn, call.me, call.path_id("recording_id"))
        return await timeline(conn, row, call.runtime.names)


@api.route(
    "POST",
    "/api/recordings/{recording_id}/links",
    summary="A short-lived link to one of the recording's files (for a player; audited)",
    roles=READERS,
    body=LinkRequest,
    tag="recordings",
    response=schemas.RECORDING_LINK,
    status=201,
)
async def create_link(call: ApiRequest) -> dict[str, Any]:
    req: LinkRequest = call.body
    rt = call.runtime
    recordings = services.recordings(rt)
    file = await recordings.link_file(call.actor, call.path_id("recording_id"), req.file_id)
    token, expires = rt.signer.issue_media_link(
        file_id=file["id"],
        org_id=call.me.org_id,
        user_id=call.me.subject_id,
        ttl=rt.config.recordings.link_seconds,
    )
    return {"url": f"/media/{token}", "expires_at": expires}


@api.route(
    "POST",
    "/api/recordings/{recording_id}/composite",
    summary="Make one downloadable file of the call (screen large, cameras small, voices mixed)",
    roles=REVIEWERS,
    tag="recordings",
    response=schemas.ref("MediaJob"),
    status=202,
)
async def request_composite(call: ApiRequest) -> dict[str, Any]:
    recordings = services.recordings(call.runtime)
    job = await recordings.request_composite(call.actor, call.path_id("recording_id"))
    return job_view(job)


@api.route(
    "GET",
    "/api/recording-policy",
    summary="Which calls this organisation records: always, on_request (the agent starts), never",
    roles=READERS,
    tag="recordings",
    response=schemas.RECORDING_POLICY,
)
async def get_policy(call: ApiRequest) -> dict[str, Any]:
    async with call.runtime.db.read() as conn:
        policy = await store.policy_of(conn, call.me.org_id)
    return {"recording_policy": policy}


@api.route(
    "PATCH",
    "/api/recording-policy",
    summary="Set which calls this organisation records (admins; audited)",
    roles=(Role.ADMIN,),
    body=PolicyUpdate,
    tag="recordings",
    response=schemas.RECORDING_POLICY,
)
async def set_policy(call: ApiRequest) -> dict[str, Any]:
    req: PolicyUpdate = call.body
    await services.recordings(call.runtime).set_policy(call.actor, req.recording_policy)
    return {"recording_policy": req.recording_policy}
