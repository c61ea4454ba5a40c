"""The dashboard's REST routes over a known history (tests/kpi_history.py), on SQLite and on
PostgreSQL: every figure exactly, the live view, the CSV, period validation and roles."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from tests.conftest import Server
from tests.kpi_history import (
    ALEX,
    BILLING,
    BO,
    BO_NAME,
    END,
    START,
    TOTALS,
    UNASSIGNED,
    seed_history,
)
from tests.qa_world import signed_in

PERIOD = f"start={START}&days=1"


async def test_period_figures_are_exact(server_either: Server) -> None:
    ids = await seed_history(server_either)
    admin = await signed_in(server_either, "admin@demo.local")
    try:
        body = await admin.rest("GET", f"/api/kpis/period?{PERIOD}")
    finally:
        await admin.close()
    assert body["start"] == START and body["end"] == END
    assert body["totals"] == TOTALS
    agents = {row.pop("agent_id"): row for row in body["agents"]}
    assert agents == {
        ids["alex"]: {"name": "Alex Agent", **ALEX},
        ids["bo"]: {"name": BO_NAME, **BO},
        None: {"name": None, **UNASSIGNED},
    }
    by_group = {row.pop("group_id"): row for row in body["groups"]}
    assert by_group == {
        ids["billing"]: {"name": "Billing", **BILLING},
        ids["technical"]: {"name": "Technical", **BO},
    }
    topics = {row.pop("topic"): row for row in body["topics"]}
    assert topics == {"billing": BILLING, "technical": BO}


async def test_live_view(server_either: Server) -> None:
    ids = await seed_history(server_either)
    agent = await server_either.staff("agent1@demo.local")
    admin = await signed_in(server_either, "admin@demo.local")
    try:
        body = await admin.rest("GET", "/api/kpis/live")
    finally:
        await admin.close()
        await agent.close()
    assert [{k: v for k, v in q.items() if k != "longest_wait_s"} for q in body["queue"]] == [
        {"topic": "billing", "language": "zh", "waiting": 1}
    ]
    assert body["queue"][0]["longest_wait_s"] > 86_400  # queued since 2026-11-02
    assert body["calls"] == {"ringing": 0, "active": 1}
    assert body["presence"] == {"online": 1, "busy": 0, "away": 0, "offline": 1}
    agents = {a["id"]: a for a in body["agents"]}
    assert agents[ids["alex"]]["status"] == "online"
    assert agents[ids["bo"]] == {
        "id": ids["bo"],
        "name": BO_NAME,
        "status": "offline",
        "load": 0,
        "max_chats": 3,
    }


async def test_csv_has_the_same_figures_and_no_formulas(server_either: Server) -> None:
    ids = await seed_history(server_either)
    admin = await signed_in(server_either, "admin@demo.local")
    try:
        async with admin.http.get(
            f"{server_either.url}/api/kpis/period.csv?{PERIOD}", headers=admin.headers()
        ) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
            assert "attachment" in resp.headers["Content-Disposition"]
            text = await resp.text()
    finally:
        await admin.close()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["dimension"], r["id"]) for r in rows] == [
        ("total", ""),
        ("agent", str(ids["bo"])),  # by name: "=" sorts before "A"
        ("agent", str(ids["alex"])),
        ("agent", ""),
        ("group", str(ids["billing"])),
        ("group", str(ids["technical"])),
        ("topic", "billing"),
        ("topic", "technical"),
    ]
    assert {r["start"] for r in rows} == {START} and {r["end"] for r in rows} == {END}
    bo = rows[1]
    assert bo["name"] == "'" + BO_NAME  # a spreadsheet shows it as text
    for name, value in TOTALS.items():
        assert rows[0][name] == ("" if value is None else str(value)), name
    for name, value in BO.items():
        assert bo[name] == ("" if value is None else str(value)), name


@pytest.mark.parametrize(
    "query",
    [
        f"start={START}&days=0",
        f"start={START}&days=367",
        f"start={START}&days=x",
        "start=2026-13-01T00:00:00Z",
        "start=2026-02-30T00:00:00Z",
        "start=2026-11-02",
        "start=2026-11-02T00:00:00%2B08:00",
        "start=0000-01-01T00:00:00Z",
    ],
)
async def test_bad_periods_are_refused(server: Server, query: str) -> None:
    admin = await signed_in(server, "admin@demo.local")
    try:
        for path in ("/api/kpis/period", "/api/kpis/period.csv"):
            body = await admin.rest("GET", f"{path}?{query}", expect=400)
            assert body["error"]["code"] == "invalid_payload"
    finally:
        await admin.close()


async def test_a_year_is_allowed(server: Server) -> None:
    admin = await signed_in(server, "admin@demo.local")
    try:
        q = "start=2025-01-01T00:00:00Z&days=366"
        body = await admin.rest("GET", f"/api/kpis/period?{q}")
        assert body["end"] == "2026-01-02T00:00:00Z"
    finally:
        await admin.close()
    assert body["totals"]["chats"] == 0 and body["agents"] == []


async def test_without_a_start_the_period_ends_now(server: Server) -> None:
    admin = await signed_in(server, "admin@demo.local")
    try:
        before = datetime.now(UTC).replace(microsecond=0)
        body = await admin.rest("GET", "/api/kpis/period?days=7")
        after = datetime.now(UTC)
    finally:
        await admin.close()
    end = datetime.fromisoformat(body["end"].replace("Z", "+00:00"))
    start = datetime.fromisoformat(body["start"].replace("Z", "+00:00"))
    assert before <= end <= after and end - start == timedelta(days=7)


async def test_only_admins_see_kpis(server: Server) -> None:
    paths = ("/api/kpis/live", f"/api/kpis/period?{PERIOD}", f"/api/kpis/period.csv?{PERIOD}")
    for email in ("agent1@demo.local", "qa@demo.local"):
        member = await signed_in(server, email)
        try:
            for path in paths:
                body = await member.rest("GET", path, expect=403)
                assert body["error"]["code"] == "forbidden"
        finally:
            await member.close()
    async with aiohttp.ClientSession() as http:
        for path in paths:
            async with http.get(server.url + path) as resp:
                assert resp.status == 401


async def test_real_chats_through_the_server_count_as_defined(server_either: Server) -> None:
    """The same definitions over records the server wrote itself: a chat answered, closed
    and rated, then reopened by an admin (no longer a resolution); a chat escalated."""
    agent = await server_either.staff("agent1@demo.local")
    admin = await signed_in(server_either, "admin@demo.local")
    began = datetime.now(UTC).replace(microsecond=0)
    period = f"start={began:%Y-%m-%dT%H:%M:%SZ}&days=1"
    try:
        rated = await server_either.customer(name="Rae", topic="billing")
        await rated.say("my invoice is wrong")
        first = (await agent.next("chat.assigned"))["chat"]["id"]
        await agent.say(first, "let me look")
        await agent.request("chat.close", {"chat_id": first})
        await rated.request("csat.submit", {"chat_id": first, "score": 4})
        await rated.close()
        escalated = await server_either.customer(name="Eli", topic="billing")
        await escalated.say("refund please")
        second = (await agent.next("chat.assigned"))["chat"]["id"]
        await agent.say(second, "escalating")
        await agent.request("chat.escalate", {"chat_id": second})
        await agent.request("chat.close", {"chat_id": second})
        await escalated.close()

        body = await admin.rest("GET", f"/api/kpis/period?{period}")
        totals = body["totals"]
        assert {k: totals[k] for k in ("chats", "handled", "resolved", "escalations")} == {
            "chats": 2,
            "handled": 2,
            "resolved": 1,
            "escalations": 1,
        }
        assert totals["csat_avg"] == 4.0 and totals["csat_responses"] == 1
        assert totals["csat_response_rate"] == 0.5 and totals["resolution_rate"] == 0.5
        for name in ("wait_avg_s", "first_response_avg_s", "handle_avg_s"):
            assert totals[name] is not None and 0 <= totals[name] < 60, name
        assert totals["first_response_avg_s"] >= totals["wait_avg_s"]
        assert [row["agent_id"] for row in body["agents"]] == [agent.user["id"]]

        ticket_id = rated.session["chat"]["ticket_id"]
        await admin.rest("PATCH", f"/api/tickets/{ticket_id}", json={"status": "open"})
        await admin.rest("PATCH", f"/api/tickets/{ticket_id}", json={"status": "solved"})
        again = (await admin.rest("GET", f"/api/kpis/period?{period}"))["totals"]
        assert again["resolved"] == 0 and again["resolution_rate"] == 0.0
    finally:
        await admin.close()
        await agent.close()
