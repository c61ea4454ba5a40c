"""The PostgreSQL path, against a real server: migrations, the chat flow, ticket filters,
concurrent writers on one chat, and a restart. Each test gets a database of its own."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from loadtest.clients import Customer, Participant
from signaling.auth.passwords import Passwords
from signaling.config import load_config
from signaling.db.database import Database
from signaling.db.migrate import current_revision, downgrade, head_revision, upgrade
from signaling.db.schema import metadata, users
from signaling.seed import DEMO_USERS, seed_demo
from signaling.store.presence import save_status, saved_statuses
from signaling.store.users import count_users
from signaling.types import Presence
from tests.conftest import Server, start_server
from tests.schema_diff import schema_differences, table_names

pytestmark = pytest.mark.postgres


async def get_json(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, await resp.json()


async def same_chat(server: Server, customer: Customer) -> Customer:
    """Another connection of the same customer (a second tab) to the same chat."""
    other = Customer(server.url)
    other.token, other.chat_id, other.session = customer.token, customer.chat_id, customer.session
    await other.connect()
    return other


async def test_migrations_from_empty_match_the_schema(pg_url: str) -> None:
    config = load_config(environ={}, overrides={"database": {"url": pg_url}})
    db = Database(config.database_url)
    try:
        assert db.dialect == "postgresql"
        assert await current_revision(db) is None
        await upgrade(db)
        assert await current_revision(db) == head_revision()
        assert await schema_differences(db) == []
        await downgrade(db)
        assert await table_names(db) <= {"alembic_version"}
        await upgrade(db)
        assert set(metadata.tables) <= await table_names(db)
        assert await schema_differences(db) == []
    finally:
        await db.close()


async def test_two_processes_migrating_and_seeding_one_empty_database_at_once(
    pg_url: str, tmp_path: Path
) -> None:
    """Signaling processes of one deployment may start together: one migrates, the other
    waits on the advisory lock and finds the schema at head (without the lock, one of them
    fails creating a table the other just created); likewise one seeds the demo accounts
    and the other leaves them alone (without the lock: two demo organisations' users)."""
    config = load_config(environ={}, overrides={"database": {"url": pg_url}})
    first, second = Database(config.database_url), Database(config.database_url)
    try:
        await asyncio.gather(upgrade(first), upgrade(second))
        assert await current_revision(first) == head_revision()
        assert await schema_differences(first) == []
        # Both then find the database empty of users and seed the demo: one does.
        passwords = Passwords(memory_kib=1024, time_cost=1)
        seeded = await asyncio.gather(
            seed_demo(first, passwords, tmp_path), seed_demo(second, passwords, tmp_path)
        )
        assert sorted(created is None for created in seeded) == [False, True], seeded
        async with first.read() as conn:
            assert await count_users(conn) == len(DEMO_USERS)
    finally:
        await first.close()
        await second.close()


async def test_customer_queue_agent_flow(pg_server: Server) -> None:
    status, health = await get_json(pg_server.url + "/healthz")
    assert status == 200 and health["status"] == "ok"
    assert health["components"]["database"]["dialect"] == "postgresql"
    customer = await pg_server.customer(name="Pia", topic="technical", language="en")
    a1 = a2 = None
    try:
        await customer.say("The app crashes on start")
        waiting = await customer.next("queue.position", where=lambda p: p["position"] == 1)
        assert waiting["agents_online"] == 0
        a1 = await pg_server.staff("agent1@demo.local")
        assigned = await a1.next("chat.assigned")
        chat_id = assigned["chat"]["id"]
        assert chat_id == customer.chat_id
        assert [m["text"] for m in assigned["messages"]][:1] == ["The app crashes on start"]
        active = await customer.next("chat.updated", where=lambda c: c["state"] == "active")
        assert active["assignee_name"] == "Alex Agent"
        reply = await a1.say(chat_id, "Which version do you have?")
        seen = await customer.next("message", where=lambda m: m["sender"]["type"] == "agent")
        assert seen["id"] == reply["id"]
        await customer.say("Version 2.1")
        got = await a1.next("message", where=lambda m: m["text"] == "Version 2.1")
        assert got["sender"]["name"] == "Pia"
        a2 = await pg_server.staff("agent2@demo.local")
        transfer = {"chat_id": chat_id, "to_user_id": a2.user["id"], "note": "crash on start"}
        await a1.request("chat.transfer", transfer)
        assert (await a2.next("chat.assigned"))["chat"]["assignee_id"] == a2.user["id"]
        await a2.request("chat.close", {"chat_id": chat_id})
        assert (await customer.next("chat.ended"))["reason"] == "agent_closed"
        await customer.request("csat.submit", {"chat_id": chat_id, "score": 4})
        ticket = await a2.rest("GET", f"/api/tickets/{customer.session['chat']['ticket_id']}")
        assert ticket["status"] == "solved" and ticket["csat_score"] == 4
        assert ticket["assignee_id"] == a2.user["id"]
        transcript = ticket["chats"][0]["messages"]
        assert [m["seq"] for m in transcript] == list(range(1, len(transcript) + 1))
        texts = [m["text"] for m in transcript]
        assert texts.index("The app crashes on start") < texts.index("Version 2.1")
        assert any(m["kind"] == "note" and "crash on start" in m["text"] for m in transcript)
    finally:
        for person in (customer, a1, a2):
            if person is not None:
                await person.close()


async def test_ticket_list_filters(pg_server: Server) -> None:
    admin = await pg_server.staff("admin@demo.local")
    agent = await pg_server.staff("agent1@demo.local", online=False)
    people = [
        await pg_server.customer(name="Ann", topic="billing"),
        await pg_server.customer(name="Bob", topic="technical"),
        await pg_server.customer(name="Cy", topic="general"),
    ]
    ann, bob, cy = (p.session["chat"]["ticket_id"] for p in people)
    try:
        edits: list[tuple[int, dict[str, Any]]] = [
            (ann, {"tags": ["refund", "vip_gold"], "status": "pending", "priority": "high"}),
            (bob, {"tags": ["refund"], "assignee_id": agent.user["id"]}),
            (cy, {"tags": ["vipxgold"], "subject": "Charged 100% twice"}),
        ]
        for ticket_id, change in edits:
            await admin.rest("PATCH", f"/api/tickets/{ticket_id}", json=change)

        async def found(**query: Any) -> set[int]:
            params = {k: str(v) for k, v in query.items()}
            body = await admin.rest("GET", "/api/tickets", params=params)
            return {t["id"] for t in body["items"]}

        assert await found() == {ann, bob, cy}
        assert await found(tag="refund") == {ann, bob}
        assert await found(tag="vip_gold") == {ann}  # "_" is a letter here, not a wildcard
        assert await found(tag="gold") == set()  # whole tags only
        assert await found(status="pending") == {ann}
        assert await found(status="open") == {bob, cy}
        assert await found(priority="high") == {ann}
        assert await found(assignee_id=agent.user["id"]) == {bob}
        assert await found(customer_id=people[2].session["customer"]["id"]) == {cy}
        assert await found(q="BOB") == {bob}
        assert await found(q="100%") == {cy}
        assert await found(q="%") == {cy}  # "%" and "_" are characters, not wildcards
        assert await found(q="_") == set()
        assert await found(tag="refund", status="open") == {bob}
        page = await admin.rest("GET", "/api/tickets", params={"per_page": "2", "page": "2"})
        assert page["total"] == 3 and len(page["items"]) == 1
        bad = await admin.rest("GET", "/api/tickets", params={"status": "lost"}, expect=400)
        assert "status" in str(bad)
    finally:
        for person in (*people, admin, agent):
            await person.close()


async def test_concurrent_sends_get_distinct_consecutive_seqs(pg_server: Server) -> None:
    customer = await pg_server.customer(name="Quick", topic="billing")
    agent = await pg_server.staff("agent1@demo.local")
    tabs: list[Customer] = []
    try:
        await customer.say("hello")
        chat_id = (await agent.next("chat.assigned"))["chat"]["id"]
        tabs = [customer, *[await same_chat(pg_server, customer) for _ in range(4)]]
        # 50 sends at once from six connections: five customer tabs and the agent
        sends = [tab.say(f"tab{i}-{n}") for i, tab in enumerate(tabs) for n in range(8)]
        sends += [agent.say(chat_id, f"agent-{n}") for n in range(10)]
        acks = await asyncio.gather(*sends)
        seqs = sorted(a["seq"] for a in acks)
        assert len(set(seqs)) == 50
        assert seqs == list(range(seqs[0], seqs[0] + 50))
        history = await agent.request("chat.sync", {"chat_id": chat_id, "limit": 500})
        stored = [m["seq"] for m in history["messages"]]
        assert stored == list(range(1, len(stored) + 1)) and stored[-1] == seqs[-1]
    finally:
        for tab in tabs[1:]:
            await tab.close()
        await customer.close()
        await agent.close()


async def test_same_message_id_from_two_tabs_is_stored_once(pg_server: Server) -> None:
    customer = await pg_server.customer(name="Twice", topic="billing")
    other = await same_chat(pg_server, customer)
    try:
        await customer.say("first")
        for attempt in range(5):
            acks = await asyncio.gather(
                customer.say("retry", client_msg_id=f"m{attempt}"),
                other.say("retry", client_msg_id=f"m{attempt}"),
            )
            assert acks[0]["id"] == acks[1]["id"]
        history = await customer.request("chat.sync", {"chat_id": customer.chat_id})
        assert [m["text"] for m in history["messages"]].count("retry") == 5
    finally:
        await other.close()
        await customer.close()


async def test_restart_keeps_queued_chats_in_line(tmp_path: Path, pg_url: str) -> None:
    data = tmp_path / "data"
    server, runner = await start_server(data, database={"url": pg_url})
    people = [await server.customer(name=n, topic="technical") for n in ("First", "Second")]
    try:
        for person in people:
            await person.say(f"{person.session['customer']['name']} waiting")
            await asyncio.sleep(0.02)
        await people[1].next("queue.position", where=lambda p: p["position"] == 2)
    finally:
        for person in people:
            await person.close()
        await runner.cleanup()

    server, runner = await start_server(data, database={"url": pg_url})
    back: list[Participant] = []
    try:
        _status, health = await get_json(server.url + "/healthz")
        assert health["components"]["routing"]["queued_chats"] == 2
        second = await same_chat(server, people[1])
        back.append(second)
        snapshot = await second.next("chat.updated")
        assert snapshot["state"] == "queued" and snapshot["queue"]["position"] == 2
        agent = await server.staff("agent2@demo.local")
        back.append(agent)
        order = [(await agent.next("chat.assigned"))["chat"]["id"] for _ in people]
        assert order == [p.chat_id for p in people]
    finally:
        for participant in back:
            await participant.close()
        await runner.cleanup()


async def test_an_agent_going_online_from_many_sockets_at_once_saves_one_status(
    pg_url: str, tmp_path: Path
) -> None:
    """Each socket's presence write is its own transaction; an update-then-insert let two of
    them find no row and both insert (a primary key violation, an `internal` error)."""
    config = load_config(environ={}, overrides={"database": {"url": pg_url}})
    db = Database(config.database_url)
    try:
        await upgrade(db)
        await seed_demo(db, Passwords(memory_kib=1024, time_cost=1), tmp_path)
        async with db.read() as conn:
            user_id = (await conn.execute(select(users.c.id).limit(1))).scalar_one()

        async def go(status: Presence) -> None:
            async with db.write() as conn:
                await save_status(conn, user_id, status)

        statuses = [Presence.ONLINE, Presence.AWAY] * 8
        await asyncio.gather(*(go(status) for status in statuses))
        async with db.read() as conn:
            saved = await saved_statuses(conn)
        assert saved[user_id] in (Presence.ONLINE, Presence.AWAY)
        await go(Presence.OFFLINE)
        async with db.read() as conn:
            assert user_id not in await saved_statuses(conn)
    finally:
        await db.close()
