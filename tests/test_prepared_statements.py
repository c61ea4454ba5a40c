"""The call path's statements compiled once (signaling.db.prepared.compiled_once in
signaling/store/calls.py, chats.py, webhooks.py, recordings.py) read and write exactly what
SQLAlchemy's own execution of the same tables does: the same rows, the same Python types
(aware datetimes, JSON as dicts and lists), on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, delete, insert, select

from signaling.db.schema import (
    call_events,
    calls,
    chat_sessions,
    organisations,
    recordings,
    utcnow,
    webhook_deliveries,
    webhook_endpoints,
)
from signaling.store import calls as call_store
from signaling.store import chats as chat_store
from signaling.store import recordings as recording_store
from signaling.store import webhooks as webhook_store
from signaling.types import CallMedia, CallParty, RecordingPolicy, RecordingState
from tests.conftest import SQLITE_AND_POSTGRESQL, server_on


def _row(conn: Connection, table: Any, row_id: int) -> dict[str, Any]:
    found = conn.execute(select(table).where(table.c.id == row_id)).first()
    assert found is not None
    return dict(found._mapping)


@pytest.fixture(params=SQLITE_AND_POSTGRESQL)
def database(request: pytest.FixtureRequest) -> pytest.FixtureRequest:
    return request


async def test_call_rows_written_and_read_as_sqlalchemy_reads_them(
    database: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with server_on(database, tmp_path / "data") as server:
        agent = await server.staff("agent1@demo.local")
        customer = await server.customer(name="Petra")
        try:
            chat_id = customer.chat_id

            def check(conn: Connection) -> None:
                chat = chat_store.chat_by_id_sync(conn, chat_id)
                assert chat is not None
                assert chat == _row(conn, chat_sessions, chat_id)
                assert chat_store.chat_by_id_sync(conn, 987_654) is None
                assert call_store.unfinished_call_of_chat_sync(conn, chat_id) is None
                created = call_store.create_call_sync(
                    conn,
                    org_id=chat["org_id"],
                    chat_id=chat_id,
                    ticket_id=chat["ticket_id"],
                    customer_id=chat["customer_id"],
                    agent_id=agent.user["id"],
                    media=CallMedia.VIDEO,
                    started_by=CallParty.CUSTOMER,
                )
                stored = _row(conn, calls, created["id"])
                assert created == stored
                assert created["created_at"].tzinfo is not None
                assert created["media_used"] == {"audio": False, "camera": False, "screen": False}
                assert call_store.unfinished_call_of_chat_sync(conn, chat_id) == stored
                answered = call_store.update_call_sync(
                    conn,
                    created["id"],
                    {"state": "active", "answered_at": created["created_at"], "rev": 7},
                )
                assert answered == _row(conn, calls, created["id"])
                assert (answered["state"], answered["rev"]) == ("active", 7)
                assert answered["answered_at"] == created["created_at"]
                event = call_store.add_event_sync(
                    conn, created["id"], "ringing", CallParty.CUSTOMER, {"media": "video"}
                )
                assert event == _row(conn, call_events, event["id"])
                assert event["detail"] == {"media": "video"} and event["actor"] == "customer"
                call_store.add_events_sync(
                    conn,
                    [
                        (created["id"], "joined", CallParty.AGENT, {"n": 1}),
                        (created["id"], "media", None, {"camera": True}),
                    ],
                )
                kinds = conn.execute(
                    select(call_events.c.kind, call_events.c.actor, call_events.c.detail)
                    .where(call_events.c.call_id == created["id"])
                    .order_by(call_events.c.id)
                ).all()
                assert [tuple(k) for k in kinds] == [
                    ("ringing", "customer", {"media": "video"}),
                    ("joined", "agent", {"n": 1}),
                    ("media", None, {"camera": True}),
                ]
                policy = recording_store.policy_of_sync(conn, chat["org_id"])
                org = _row(conn, organisations, chat["org_id"])
                assert policy is RecordingPolicy(org["recording_policy"])
                recording = recording_store.create_recording_sync(
                    conn,
                    org_id=chat["org_id"],
                    call_id=created["id"],
                    directory=f"org{chat['org_id']}/call{created['id']}",
                    state=RecordingState.RECORDING,
                    started_at=created["created_at"],
                    encrypted=True,
                    reason=None,
                )
                assert recording == _row(conn, recordings, recording["id"])
                assert recording["encrypted"] is True and recording["paused_ms"] == 0
                assert recording["started_at"] == created["created_at"]
                ended = call_store.update_call_sync(conn, created["id"], {"state": "ended"})
                assert ended["state"] == "ended"
                assert call_store.unfinished_call_of_chat_sync(conn, chat_id) is None

            await server.runtime.db.write_in_thread(check)
        finally:
            await customer.close()
            await agent.close()


async def test_webhook_subscriptions_read_by_event_type(
    database: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with server_on(database, tmp_path / "data") as server:
        admin = await server.staff("admin@demo.local")
        org_id = int(admin.user["org_id"])
        try:

            def check(conn: Connection) -> None:
                assert webhook_store.subscribed_sync(conn, org_id, "call.started") == []
                rows = [
                    {"types": ["call.started", "call.ended"], "enabled": True},
                    {"types": ["chat.created"], "enabled": True},
                    {"types": ["call.started"], "enabled": False},
                ]
                ids = [
                    conn.execute(
                        insert(webhook_endpoints)
                        .values(
                            org_id=org_id,
                            url=f"https://hooks.example/{n}",
                            secret="s" * 32,
                            event_types=row["types"],
                            enabled=row["enabled"],
                        )
                        .returning(webhook_endpoints.c.id)
                    ).scalar_one()
                    for n, row in enumerate(rows)
                ]
                assert webhook_store.subscribed_sync(conn, org_id, "call.started") == [
                    {"id": ids[0], "event_types": ["call.started", "call.ended"]}
                ]
                assert [
                    e["id"] for e in webhook_store.subscribed_sync(conn, org_id, "chat.created")
                ] == [ids[1]]
                assert webhook_store.subscribed_sync(conn, org_id + 1000, "call.started") == []
                check_any_due(conn, org_id, enabled=ids[0], disabled=ids[2])

            await server.runtime.db.write_in_thread(check)
        finally:
            await admin.close()


def check_any_due(conn: Connection, org_id: int, *, enabled: int, disabled: int) -> None:
    """The sender's compiled "anything due?" agrees with the statement run by SQLAlchemy,
    for each reason a pending delivery is or is not due."""
    now = utcnow()
    past, future = now - timedelta(seconds=5), now + timedelta(seconds=60)
    D = webhook_deliveries

    def delivery(n: int, endpoint: int, **values: Any) -> dict[str, Any]:
        row = {
            "org_id": org_id,
            "endpoint_id": endpoint,
            "event_id": f"evt-{n}",
            "event_type": "call.started",
            "order_key": "chat:1",
            "body": "{}",
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": past,
            "retry_since": past,
        }
        return {**row, **values}

    cases: list[tuple[str, list[dict[str, Any]], bool]] = [
        ("nothing", [], False),
        ("due", [delivery(1, enabled)], True),
        ("later", [delivery(1, enabled, next_attempt_at=future)], False),
        ("leased", [delivery(1, enabled, claimed_by="p", lease_until=future)], False),
        ("lease over", [delivery(1, enabled, claimed_by="p", lease_until=past)], True),
        ("delivered", [delivery(1, enabled, state="delivered")], False),
        ("endpoint off", [delivery(1, disabled)], False),
        (
            "behind a later one",
            [delivery(1, enabled, next_attempt_at=future), delivery(2, enabled)],
            False,
        ),
    ]
    for name, rows, due in cases:
        conn.execute(delete(D))
        if rows:
            conn.execute(insert(D), rows)
        by_sqlalchemy = conn.execute(
            select(D.c.id).where(*webhook_store._due(now)).limit(1)
        ).first()
        assert (by_sqlalchemy is not None) is due, name
        assert webhook_store.any_due_sync(conn, now) is due, name
    conn.execute(delete(D))
