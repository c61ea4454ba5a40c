"""KPIs for the supervisor dashboard, computed by SQL over the stored records (chats, tickets
and their events, calls and their quality samples, QA reviews, the audit log): never from
in-memory counters, so a restart or a second server changes nothing.

What each figure means (docs/protocol.md "KPIs" says the same):
- A chat counts in a period when it was created in it; a call when it was placed in it.
- wait: assigned_at - queued_at; first response: first_response_at - queued_at (the customer's
  wait for a first agent answer); handle: ended_at - assigned_at of ended, assigned chats.
  Seconds. Median and p90 are nearest-rank (the smallest value with at least half / 90 % of
  the values at or below it).
- handled: ended chats that had an agent. resolved: handled chats whose ticket is solved or
  closed and was never reopened (no status change from solved/closed back to open/pending).
- escalations: chats escalated (audit action chat.escalate).
- self_served: chats the first-response bot's articles answered (ended "self_served", never
  assigned: not handled, so not in the resolution rate).
- CSAT: the chat's ticket score (1-5); response rate = rated / handled.
- calls: placed; answered; average length (ended_at - answered_at of answered calls);
  missed share = calls ending "missed" / calls. MOS: average over calls of each call's mean
  MOS sample. QA: average score (0-100) of finished reviews of the period's calls.
- Per agent: the chat's assignee (last one) and the call's agent; per group and topic: the
  chat's (a call takes its chat's). Chats never assigned show under agent null.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Float,
    String,
    and_,
    case,
    cast,
    exists,
    extract,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from signaling.db.schema import (
    audit_log,
    call_quality,
    calls,
    chat_sessions,
    groups,
    reviews,
    ticket_events,
    tickets,
    users,
)
from signaling.types import CallEndReason, CallState, ChatEndReason, ChatState, TicketStatus

Figures = dict[str, Any]
DIMENSIONS = ("agent", "group", "topic")
DONE = (TicketStatus.SOLVED.value, TicketStatus.CLOSED.value)
# Every figure of a row, in the order of the CSV columns.
FIGURE_NAMES = (
    "chats",
    "handled",
    "wait_avg_s",
    "first_response_avg_s",
    "first_response_median_s",
    "first_response_p90_s",
    "handle_avg_s",
    "resolved",
    "resolution_rate",
    "escalations",
    "csat_avg",
    "csat_responses",
    "csat_response_rate",
    "self_served",
    "calls",
    "calls_answered",
    "call_avg_length_s",
    "calls_missed",
    "missed_share",
    "mos_avg",
    "mos_calls",
    "qa_score_avg",
    "qa_reviews",
)


@dataclass(frozen=True)
class Period:
    start: datetime  # inclusive, UTC
    end: datetime  # exclusive, UTC


def _seconds(conn: AsyncConnection, later: Any, earlier: Any) -> ColumnElement[Any]:
    """later - earlier in seconds, as a float, on either dialect."""
    if conn.dialect.name == "postgresql":
        return cast(extract("epoch", later - earlier), Float)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _chat_key(dimension: str) -> Any:
    return {
        "agent": chat_sessions.c.assignee_id,
        "group": chat_sessions.c.group_id,
        "topic": chat_sessions.c.topic,
    }[dimension]


def _call_key(dimension: str) -> Any:
    return {
        "agent": calls.c.agent_id,
        "group": chat_sessions.c.group_id,
        "topic": chat_sessions.c.topic,
    }[dimension]


def _rounded(value: Any, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def empty_figures() -> Figures:
    counts = {"chats", "handled", "resolved", "escalations", "csat_responses", "self_served"}
    counts |= {"calls", "calls_answered", "calls_missed", "mos_calls", "qa_reviews"}
    return {name: 0 if name in counts else None for name in FIGURE_NAMES}


async def _chat_rows(
    conn: AsyncConnection, org_id: int, period: Period, key: Any | None
) -> dict[Any, Figures]:
    chat = chat_sessions.c
    in_period = and_(chat.org_id == org_id, chat.created_at >= period.start)
    in_period = and_(in_period, chat.created_at < period.end)
    handled = and_(chat.state == ChatState.ENDED.value, chat.assigned_at.is_not(None))
    reopened = exists().where(
        ticket_events.c.ticket_id == chat.ticket_id,
        ticket_events.c.field == "status",
        cast(ticket_events.c.old_value, String).in_([f'"{s}"' for s in DONE]),
        cast(ticket_events.c.new_value, String).not_in([f'"{s}"' for s in DONE]),
    )
    escalated = exists().where(
        audit_log.c.org_id == org_id,
        audit_log.c.action == "chat.escalate",
        audit_log.c.target_type == "chat",
        audit_log.c.target_id == chat.id,
    )
    resolved = and_(handled, tickets.c.status.in_(DONE), ~reopened)
    rated = tickets.c.csat_score.is_not(None)
    columns = [
        func.count().label("chats"),
        func.sum(case((handled, 1), else_=0)).label("handled"),
        func.avg(_seconds(conn, chat.assigned_at, chat.queued_at)).label("wait_avg_s"),
        func.avg(_seconds(conn, chat.first_response_at, chat.queued_at)).label(
            "first_response_avg_s"
        ),
        func.avg(case((handled, _seconds(conn, chat.ended_at, chat.assigned_at)))).label(
            "handle_avg_s"
        ),
        func.sum(case((resolved, 1), else_=0)).label("resolved"),
        func.sum(case((escalated, 1), else_=0)).label("escalations"),
        func.avg(cast(tickets.c.csat_score, Float)).label("csat_avg"),
        func.sum(case((rated, 1), else_=0)).label("csat_responses"),
        func.sum(case((chat.end_reason == ChatEndReason.SELF_SERVED.value, 1), else_=0)).label(
            "self_served"
        ),
    ]
    query = select(*([key.label("key")] if key is not None else []), *columns)
    query = query.select_from(chat_sessions.join(tickets, tickets.c.id == chat.ticket_id))
    query = query.where(in_period)
    if key is not None:
        query = query.group_by(key)
    found: dict[Any, Figures] = {}
    for row in (await conn.execute(query)).mappings():
        figures = empty_figures()
        for name in (
            "chats",
            "handled",
            "resolved",
            "escalations",
            "csat_responses",
            "self_served",
        ):
            figures[name] = int(row[name] or 0)
        for name in ("wait_avg_s", "first_response_avg_s", "handle_avg_s"):
            figures[name] = _rounded(row[name])
        figures["csat_avg"] = _rounded(row["csat_avg"], 4)
        figures["resolution_rate"] = _rate(figures["resolved"], figures["handled"])
        figures["csat_response_rate"] = _rate(figures["csat_responses"], figures["handled"])
        found[row["key"] if key is not None else None] = figures
    # Median and p90 of first response, nearest-rank, by window functions (both dialects).
    response = _seconds(conn, chat.first_response_at, chat.queued_at).label("d")
    part = [key] if key is not None else []
    ranked = (
        select(
            *([key.label("key")] if key is not None else []),
            response,
            func.row_number().over(partition_by=part, order_by=response).label("rn"),
            func.count().over(partition_by=part).label("n"),
        )
        .where(in_period, chat.first_response_at.is_not(None), chat.queued_at.is_not(None))
        .subquery()
    )
    r = ranked.c
    median = func.min(case((r.rn * 2 >= r.n, r.d)))
    p90 = func.min(case((r.rn * 10 >= r.n * 9, r.d)))
    ranks = select(*([r.key] if key is not None else []), median.label("m"), p90.label("p"))
    if key is not None:
        ranks = ranks.group_by(r.key)
    for row in (await conn.execute(ranks)).mappings():
        figures = found[row["key"] if key is not None else None]
        figures["first_response_median_s"] = _rounded(row["m"])
        figures["first_response_p90_s"] = _rounded(row["p"])
    return found


async def _call_rows(
    conn: AsyncConnection, org_id: int, period: Period, key: Any | None
) -> dict[Any, Figures]:
    call = calls.c
    mos = (
        select(call_quality.c.call_id, func.avg(call_quality.c.mos).label("mos"))
        .group_by(call_quality.c.call_id)
        .subquery()
    )
    answered = and_(call.answered_at.is_not(None), call.ended_at.is_not(None))
    done_review = reviews.c.state == "done"
    columns = [
        func.count().label("calls"),
        func.count(call.answered_at).label("calls_answered"),
        func.avg(case((answered, _seconds(conn, call.ended_at, call.answered_at)))).label(
            "call_avg_length_s"
        ),
        func.sum(case((call.end_reason == CallEndReason.MISSED.value, 1), else_=0)).label(
            "calls_missed"
        ),
        func.avg(cast(mos.c.mos, Float)).label("mos_avg"),
        func.count(mos.c.mos).label("mos_calls"),
        func.avg(case((done_review, cast(reviews.c.score, Float)))).label("qa_score_avg"),
        func.sum(case((and_(done_review, reviews.c.score.is_not(None)), 1), else_=0)).label(
            "qa_reviews"
        ),
    ]
    joined = (
        calls.join(chat_sessions, chat_sessions.c.id == call.chat_id)
        .outerjoin(mos, mos.c.call_id == call.id)
        .outerjoin(reviews, reviews.c.call_id == call.id)
    )
    query = select(*([key.label("key")] if key is not None else []), *columns)
    query = query.select_from(joined).where(
        call.org_id == org_id, call.created_at >= period.start, call.created_at < period.end
    )
    if key is not None:
        query = query.group_by(key)
    found: dict[Any, Figures] = {}
    for row in (await conn.execute(query)).mappings():
        figures: Figures = {}
        for name in ("calls", "calls_answered", "calls_missed", "mos_calls", "qa_reviews"):
            figures[name] = int(row[name] or 0)
        figures["call_avg_length_s"] = _rounded(row["call_avg_length_s"])
        figures["mos_avg"] = _rounded(row["mos_avg"], 2)
        figures["qa_score_avg"] = _rounded(row["qa_score_avg"], 2)
        figures["missed_share"] = _rate(figures["calls_missed"], figures["calls"])
        found[row["key"] if key is not None else None] = figures
    return found


async def _figures(
    conn: AsyncConnection, org_id: int, period: Period, dimension: str | None
) -> dict[Any, Figures]:
    chat_key = _chat_key(dimension) if dimension else None
    call_key = _call_key(dimension) if dimension else None
    chats = await _chat_rows(conn, org_id, period, chat_key)
    call_figures = await _call_rows(conn, org_id, period, call_key)
    merged: dict[Any, Figures] = {}
    for key in [*chats, *(k for k in call_figures if k not in chats)]:
        figures = chats.get(key) or empty_figures()
        figures.update(call_figures.get(key, {}))
        merged[key] = figures
    if dimension is None and None not in merged:
        merged[None] = empty_figures()
    return merged


async def period_figures(conn: AsyncConnection, org_id: int, period: Period) -> dict[str, Any]:
    """Totals and rows per agent, group and topic for chats and calls of `period`."""
    agent_names = {
        row.id: row.name
        for row in await conn.execute(
            select(users.c.id, users.c.name).where(users.c.org_id == org_id)
        )
    }
    group_names = {
        row.id: row.name
        for row in await conn.execute(
            select(groups.c.id, groups.c.name).where(groups.c.org_id == org_id)
        )
    }
    totals = (await _figures(conn, org_id, period, None))[None]
    agents = await _figures(conn, org_id, period, "agent")
    by_group = await _figures(conn, org_id, period, "group")
    topics = await _figures(conn, org_id, period, "topic")
    return {
        "totals": totals,
        "agents": sorted(
            (
                {"agent_id": k, "name": agent_names.get(k) if k is not None else None, **f}
                for k, f in agents.items()
            ),
            key=lambda row: (row["name"] is None, row["name"] or "", row["agent_id"] or 0),
        ),
        "groups": sorted(
            (
                {"group_id": k, "name": group_names.get(k) if k is not None else None, **f}
                for k, f in by_group.items()
            ),
            key=lambda row: (row["name"] is None, row["name"] or "", row["group_id"] or 0),
        ),
        "topics": sorted(
            ({"topic": k, **f} for k, f in topics.items()), key=lambda row: str(row["topic"])
        ),
    }


async def live_queue(conn: AsyncConnection, org_id: int) -> list[dict[str, Any]]:
    """Chats waiting now, per topic and language, with the oldest one's queue time."""
    chat = chat_sessions.c
    rows = await conn.execute(
        select(
            chat.topic,
            chat.language,
            func.count().label("waiting"),
            func.min(chat.queued_at).label("oldest"),
        )
        .where(chat.org_id == org_id, chat.state == ChatState.QUEUED.value)
        .group_by(chat.topic, chat.language)
        .order_by(chat.topic, chat.language)
    )
    return [dict(row._mapping) for row in rows]


async def live_calls(conn: AsyncConnection, org_id: int) -> dict[str, int]:
    """Calls in progress now, by state (ringing, active)."""
    rows = await conn.execute(
        select(calls.c.state, func.count().label("n"))
        .where(calls.c.org_id == org_id, calls.c.state != CallState.ENDED.value)
        .group_by(calls.c.state)
    )
    found = {CallState.RINGING.value: 0, CallState.ACTIVE.value: 0}
    for row in rows:
        found[str(row.state)] = int(row.n)
    return found
