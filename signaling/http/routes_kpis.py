"""The supervisor dashboard's figures: live queue, agents and calls now; KPIs for a period per
agent, group and topic (signaling/store/kpis.py says what each means), as JSON and as CSV.

Admins only: no supervisor role exists yet, and QA reviewers do not see agents' workload."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from signaling.db.schema import utcnow
from signaling.errors import InvalidPayload
from signaling.http import schemas
from signaling.http.api import ApiRequest, api
from signaling.store import kpis
from signaling.store import users as user_store
from signaling.types import Presence, Role
from signaling.wire import limit

READERS = (Role.ADMIN, Role.SUPERVISOR)
"""Who reads the figures: admins and supervisors (of the whole organisation)."""
MAX_DAYS = 366
# UTC, ISO 8601 ending in Z; years 1970-2999 (any later end still fits a datetime).
INSTANT = limit(
    max_len=30,
    pattern=r"(19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?Z",
    schema={"format": "date-time"},
)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class PeriodQuery:
    """[start, start + days): a span the document can state whole (no end before start)."""

    start: str | None = field(default=None, metadata=INSTANT)
    """Inclusive, UTC (ISO 8601 ending in Z); left out: the last `days` days up to now."""
    days: int = field(default=1, metadata=limit(min=1, max=MAX_DAYS))


def _instant(text: str, name: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise InvalidPayload(f"{name} is not a UTC time", details={"field": name}) from None


def period_of(q: PeriodQuery) -> kpis.Period:
    if q.start is None:
        end = utcnow().replace(microsecond=0)
        return kpis.Period(end - timedelta(days=q.days), end)
    start = _instant(q.start, "start")
    return kpis.Period(start, start + timedelta(days=q.days))


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@api.route(
    "GET",
    "/api/kpis/live",
    summary="Now: queue per topic and language, agents by presence and load, calls in progress",
    roles=READERS,
    tag="kpis",
    response=schemas.KPI_LIVE,
)
async def live(call: ApiRequest) -> dict[str, Any]:
    rt = call.runtime
    org_id = call.me.org_id
    async with rt.db.read() as conn:
        queue = await kpis.live_queue(conn, org_id)
        in_progress = await kpis.live_calls(conn, org_id)
        staff = await user_store.list_users(conn, org_id, role=Role.AGENT.value)
    now = utcnow()
    live_agents = await rt.live_agents(org_id)
    agents = []
    presence = {p.value: 0 for p in Presence}
    for user in staff:
        if not user["active"]:
            continue
        state = live_agents.get(user["id"])
        status = str(state["status"]) if state else Presence.OFFLINE.value
        if status not in presence:
            status = Presence.OFFLINE.value
        presence[status] += 1
        agents.append(
            {
                "id": user["id"],
                "name": user["name"],
                "status": status,
                "load": int(state["load"]) if state else 0,
                "max_chats": user["max_chats"],
            }
        )
    return {
        "at": _stamp(now),
        "queue": [
            {
                "topic": row["topic"],
                "language": row["language"],
                "waiting": int(row["waiting"]),
                "longest_wait_s": (
                    max(0.0, round((now - row["oldest"]).total_seconds(), 1))
                    if row["oldest"] is not None
                    else None
                ),
            }
            for row in queue
        ],
        "presence": presence,
        "agents": agents,
        "calls": in_progress,
    }


@api.route(
    "GET",
    "/api/kpis/period",
    summary="KPIs of chats and calls started in [start, start + days), in total and per "
    "agent, group and topic",
    roles=READERS,
    query=PeriodQuery,
    tag="kpis",
    response=schemas.KPI_PERIOD,
)
async def period(call: ApiRequest) -> dict[str, Any]:
    chosen = period_of(call.query)
    async with call.runtime.db.read() as conn:
        figures = await kpis.period_figures(conn, call.me.org_id, chosen)
    return {"start": _stamp(chosen.start), "end": _stamp(chosen.end), **figures}


def safe_cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: a leading formula character gets a quote."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@api.route(
    "GET",
    "/api/kpis/period.csv",
    summary="The same KPIs as CSV: a header row, then a totals row and one row per agent, "
    "group and topic",
    roles=READERS,
    query=PeriodQuery,
    tag="kpis",
    response=schemas.STRING,
    response_media=("text/csv",),
)
async def period_csv(call: ApiRequest) -> web.Response:
    chosen = period_of(call.query)
    async with call.runtime.db.read() as conn:
        figures = await kpis.period_figures(conn, call.me.org_id, chosen)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["start", "end", "dimension", "id", "name", *kpis.FIGURE_NAMES])
    span = [_stamp(chosen.start), _stamp(chosen.end)]

    def row(dimension: str, key: Any, name: Any, values: dict[str, Any]) -> None:
        cells = [dimension, key, name, *(values[n] for n in kpis.FIGURE_NAMES)]
        writer.writerow([*span, *(safe_cell(c) for c in cells)])

    row("total", None, None, figures["totals"])
    for agent in figures["agents"]:
        row("agent", agent["agent_id"], agent["name"], agent)
    for group in figures["groups"]:
        row("group", group["group_id"], group["name"], group)
    for topic in figures["topics"]:
        row("topic", topic["topic"], topic["topic"], topic)
    name = f"kpis-{chosen.start:%Y%m%dT%H%M%SZ}-{chosen.end:%Y%m%dT%H%M%SZ}.csv"
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
