"""A known support history for the KPI dashboard, written straight into the tables with exact
timestamps (the figures are durations between them), and the figures it must give.

The period is 2026-11-02 (UTC). Alex (agent1) and Bo (agent2, renamed to a spreadsheet formula
to test the CSV) work in the demo groups Billing and Technical:
- chat 1, Alex, Billing/billing/en: queued 10:00:00, assigned +10 s, first answer +40 s,
  ended +310 s; ticket solved, CSAT 5; a call answered for 120 s with MOS samples 4.0 and 4.4
  and a done QA review of 80.
- chat 2, Alex, Billing/billing/en: queued +100 s, assigned +130, answered +160, ended +730;
  ticket solved, reopened, solved again (not a resolution), CSAT 3; a missed call.
- chat 3, Bo, Technical/technical/zh: queued +200, assigned +220, answered +300, ended +1120;
  escalated (ticket open), no CSAT; a call answered for 300 s, MOS 3.0, a draft review of 50
  (not counted).
- chat 4, nobody, Billing/billing/zh: still queued (created +500 s).
- outside the period: a chat of Alex the day before (solved, CSAT 1, with an answered call),
  and now an active chat of Alex with a call in progress.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from signaling.db.schema import (
    audit_log,
    call_quality,
    calls,
    chat_sessions,
    customers,
    groups,
    reviews,
    rubric_versions,
    rubrics,
    ticket_events,
    tickets,
    users,
    utcnow,
)
from tests.conftest import Server

START = "2026-11-02T00:00:00Z"
END = "2026-11-03T00:00:00Z"
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
BO_NAME = '=HYPERLINK("http://x")'


def at(seconds: float, base: datetime = T0) -> datetime:
    return base + timedelta(seconds=seconds)


async def seed_history(server: Server) -> dict[str, int]:
    """Write the history; return the ids the checks need."""
    async with server.runtime.db.write() as conn:
        staff = {
            row.email: row
            for row in await conn.execute(select(users.c.id, users.c.email, users.c.org_id))
        }
        alex, bo = staff["agent1@demo.local"].id, staff["agent2@demo.local"].id
        admin = staff["admin@demo.local"].id
        org = staff["admin@demo.local"].org_id
        await conn.execute(update(users).where(users.c.id == bo).values(name=BO_NAME))
        group_ids = {
            row.name: row.id
            for row in await conn.execute(
                select(groups.c.id, groups.c.name).where(groups.c.org_id == org)
            )
        }
        customer = (
            await conn.execute(insert(customers).values(org_id=org, name="Kim", attributes={}))
        ).inserted_primary_key[0]

        async def chat(
            *,
            agent: int | None,
            group: str,
            topic: str,
            language: str,
            base: datetime,
            queued: float,
            assigned: float | None,
            answered: float | None,
            ended: float | None,
            status: str,
            csat: int | None,
        ) -> tuple[int, int]:
            ticket = (
                await conn.execute(
                    insert(tickets).values(
                        org_id=org,
                        customer_id=customer,
                        subject="Help",
                        status=status,
                        priority="normal",
                        tags=[],
                        assignee_id=agent,
                        group_id=group_ids[group],
                        csat_score=csat,
                        created_at=at(queued, base),
                        updated_at=at(queued, base),
                    )
                )
            ).inserted_primary_key[0]
            state = "ended" if ended is not None else "active" if assigned else "queued"
            chat_id = (
                await conn.execute(
                    insert(chat_sessions).values(
                        org_id=org,
                        customer_id=customer,
                        ticket_id=ticket,
                        group_id=group_ids[group],
                        assignee_id=agent,
                        state=state,
                        topic=topic,
                        language=language,
                        priority="normal",
                        created_at=at(queued, base),
                        queued_at=at(queued, base),
                        assigned_at=at(assigned, base) if assigned is not None else None,
                        first_response_at=at(answered, base) if answered is not None else None,
                        ended_at=at(ended, base) if ended is not None else None,
                        end_reason="agent_closed" if ended is not None else None,
                    )
                )
            ).inserted_primary_key[0]
            return int(chat_id), int(ticket)

        async def call(
            chat_ids: tuple[int, int],
            agent: int,
            base: datetime,
            placed: float,
            answered: float | None,
            ended: float | None,
            reason: str | None,
            state: str = "ended",
        ) -> int:
            return int(
                (
                    await conn.execute(
                        insert(calls).values(
                            org_id=org,
                            chat_id=chat_ids[0],
                            ticket_id=chat_ids[1],
                            customer_id=customer,
                            agent_id=agent,
                            media="audio",
                            state=state,
                            started_by="agent",
                            created_at=at(placed, base),
                            answered_at=at(answered, base) if answered is not None else None,
                            ended_at=at(ended, base) if ended is not None else None,
                            end_reason=reason,
                            media_used={"audio": True, "camera": False, "screen": False},
                        )
                    )
                ).inserted_primary_key[0]
            )

        async def quality(call_id: int, mos: float) -> None:
            await conn.execute(
                insert(call_quality).values(
                    call_id=call_id,
                    participant="customer",
                    rtt_ms=50.0,
                    jitter_ms=5.0,
                    loss_pct=0.0,
                    bitrate_kbps=40.0,
                    mos=mos,
                    level="good",
                )
            )

        common = {"base": T0}
        c1 = await chat(
            agent=alex, group="Billing", topic="billing", language="en", queued=0,
            assigned=10, answered=40, ended=310, status="solved", csat=5, **common,
        )  # fmt: skip
        c2 = await chat(
            agent=alex, group="Billing", topic="billing", language="en", queued=100,
            assigned=130, answered=160, ended=730, status="solved", csat=3, **common,
        )  # fmt: skip
        c3 = await chat(
            agent=bo, group="Technical", topic="technical", language="zh", queued=200,
            assigned=220, answered=300, ended=1120, status="open", csat=None, **common,
        )  # fmt: skip
        await chat(
            agent=None, group="Billing", topic="billing", language="zh", queued=500,
            assigned=None, answered=None, ended=None, status="open", csat=None, **common,
        )  # fmt: skip
        before = T0 - timedelta(days=1)
        c0 = await chat(
            agent=alex, group="Billing", topic="billing", language="en", queued=0,
            assigned=5, answered=6, ended=20, status="solved", csat=1, base=before,
        )  # fmt: skip
        now = utcnow()
        c6 = await chat(
            agent=alex, group="General", topic="general", language="en", queued=-60,
            assigned=-50, answered=-40, ended=None, status="open", csat=None, base=now,
        )  # fmt: skip
        for old, new in (("open", "solved"), ("solved", "open"), ("open", "solved")):
            await conn.execute(
                insert(ticket_events).values(
                    ticket_id=c2[1],
                    actor_type="agent",
                    actor_id=alex,
                    field="status",
                    old_value=old,
                    new_value=new,
                )
            )
        await conn.execute(
            insert(audit_log).values(
                org_id=org,
                actor_type="agent",
                actor_id=bo,
                action="chat.escalate",
                target_type="chat",
                target_id=c3[0],
                detail={"ticket_id": c3[1]},
            )
        )
        call1 = await call(c1, alex, T0, 50, 60, 180, "hung_up")
        await call(c2, alex, T0, 200, None, 230, "missed")
        call3 = await call(c3, bo, T0, 400, 410, 710, "hung_up")
        call0 = await call(c0, alex, before, 7, 8, 18, "hung_up")
        await call(c6, alex, now, -30, -25, None, None, state="active")
        for call_id, mos in ((call1, 4.0), (call1, 4.4), (call3, 3.0), (call0, 1.0)):
            await quality(call_id, mos)
        rubric = (
            await conn.execute(insert(rubrics).values(org_id=org, name="R", version=1))
        ).inserted_primary_key[0]
        version = (
            await conn.execute(
                insert(rubric_versions).values(rubric_id=rubric, version=1, name="R", criteria=[])
            )
        ).inserted_primary_key[0]
        for call_id, state, score in ((call1, "done", 80.0), (call3, "draft", 50.0)):
            await conn.execute(
                insert(reviews).values(
                    org_id=org,
                    call_id=call_id,
                    rubric_version_id=version,
                    state=state,
                    scores={},
                    score=score,
                    version=1,
                    created_by=admin,
                )
            )
    return {
        "alex": alex,
        "bo": bo,
        "billing": group_ids["Billing"],
        "technical": group_ids["Technical"],
    }


def figures(**values: Any) -> dict[str, Any]:
    """A row's figures: zero counts and null measures unless given."""
    counts = ("chats", "handled", "resolved", "escalations", "csat_responses", "self_served")
    counts += ("calls",)
    counts += ("calls_answered", "calls_missed", "mos_calls", "qa_reviews")
    row: dict[str, Any] = {name: 0 for name in counts}
    for name in (
        "wait_avg_s",
        "first_response_avg_s",
        "first_response_median_s",
        "first_response_p90_s",
        "handle_avg_s",
        "resolution_rate",
        "csat_avg",
        "csat_response_rate",
        "call_avg_length_s",
        "missed_share",
        "mos_avg",
        "qa_score_avg",
    ):
        row[name] = None
    row.update(values)
    return row


# Alex's chats and calls; the Billing group and the billing topic add the queued chat 4.
ALEX = figures(
    chats=2, handled=2, wait_avg_s=20.0, first_response_avg_s=50.0,
    first_response_median_s=40.0, first_response_p90_s=60.0, handle_avg_s=450.0,
    resolved=1, resolution_rate=0.5, csat_avg=4.0, csat_responses=2, csat_response_rate=1.0,
    calls=2, calls_answered=1, call_avg_length_s=120.0, calls_missed=1, missed_share=0.5,
    mos_avg=4.2, mos_calls=1, qa_score_avg=80.0, qa_reviews=1,
)  # fmt: skip
BO = figures(
    chats=1, handled=1, wait_avg_s=20.0, first_response_avg_s=100.0,
    first_response_median_s=100.0, first_response_p90_s=100.0, handle_avg_s=900.0,
    resolved=0, resolution_rate=0.0, escalations=1, csat_response_rate=0.0,
    calls=1, calls_answered=1, call_avg_length_s=300.0, missed_share=0.0,
    mos_avg=3.0, mos_calls=1,
)  # fmt: skip
UNASSIGNED = figures(chats=1)
BILLING = {**ALEX, "chats": 3}
TOTALS = figures(
    chats=4, handled=3, wait_avg_s=20.0, first_response_avg_s=66.667,
    first_response_median_s=60.0, first_response_p90_s=100.0, handle_avg_s=600.0,
    resolved=1, resolution_rate=0.3333, escalations=1, csat_avg=4.0, csat_responses=2,
    csat_response_rate=0.6667, calls=3, calls_answered=2, call_avg_length_s=210.0,
    calls_missed=1, missed_share=0.3333, mos_avg=3.6, mos_calls=2, qa_score_avg=80.0,
    qa_reviews=1,
)  # fmt: skip
