"""Reads in one hand-off (Database.read_in_thread), and the typing indicators and read
receipts that now go through the threads: the same answers and refusals as through the async
engine, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import pytest
from sqlalchemy import Connection, select, update

from loadtest.clients import Customer, ProtocolError, Staff
from signaling.db.schema import chat_sessions, users
from signaling.store import orgs as org_store
from tests.conftest import Server


@asynccontextmanager
async def assigned_chat(
    server: Server, name: str
) -> AsyncIterator[tuple[Staff, Customer, Customer, int]]:
    """An agent, a customer in a chat the agent has, another customer, and the chat's id."""
    agent = await server.staff("agent1@demo.local")
    customer = await server.customer(name=name, topic="billing", language="en")
    other = await server.customer(name="Outsider")
    try:
        await customer.say("hello")
        await agent.next("chat.assigned")
        yield agent, customer, other, customer.chat_id
    finally:
        await other.close()
        await customer.close()
        await agent.close()


async def test_a_read_sees_what_was_committed_and_keeps_nothing_it_writes(
    server_either: Server,
) -> None:
    db = server_either.runtime.db
    customer = await server_either.customer(name="Reads")
    try:
        chat_id = customer.chat_id
        same_chat = update(chat_sessions).where(chat_sessions.c.id == chat_id)

        def language(conn: Connection) -> tuple[str, str]:
            found = conn.execute(
                select(chat_sessions.c.language).where(chat_sessions.c.id == chat_id)
            ).scalar_one()
            return found, threading.current_thread().name

        await db.write_in_thread(lambda conn: conn.execute(same_chat.values(language="de")))
        seen, thread = await db.read_in_thread(language)
        assert seen == "de"  # the writer's commit is visible to the next read
        if db.is_sqlite:
            assert thread.startswith("sqlite-reader")  # not the loop, not the writer
        await db.read_in_thread(lambda conn: conn.execute(same_chat.values(language="fr")))
        assert (await db.read_in_thread(language))[0] == "de"  # rolled back, not kept
    finally:
        await customer.close()


async def test_group_ids_compiled_once_match_the_async_engines(server_either: Server) -> None:
    db = server_either.runtime.db
    async with db.read() as conn:
        ids = (await conn.execute(select(users.c.id, users.c.email))).all()
        expected = {email: await org_store.group_ids_of(conn, uid) for uid, email in ids}
    for uid, email in ids:
        got = await db.read_in_thread(partial(org_store.group_ids_of_sync, user_id=uid))
        assert got == expected[email], email
    assert any(expected.values()) and not all(expected.values())  # members and not
    assert await db.read_in_thread(lambda c: org_store.group_ids_of_sync(c, 987_654)) == set()


async def test_typing_is_pushed_with_names_and_refused_to_outsiders(
    server_either: Server,
) -> None:
    async with assigned_chat(server_either, "Tina") as (agent, customer, other, chat_id):
        await agent.request("typing", {"chat_id": chat_id, "typing": True})
        pushed = await customer.next("typing")
        assert pushed["sender"]["type"] == "agent" and pushed["sender"]["name"] == "Alex Agent"
        await customer.request("typing", {"chat_id": chat_id, "typing": False})
        seen = await agent.next("typing")
        assert seen["typing"] is False and seen["sender"]["name"] == "Tina"
        with pytest.raises(ProtocolError) as refused:  # someone else's chat
            await other.request("typing", {"chat_id": chat_id})
        assert refused.value.code == "not_found"
        with pytest.raises(ProtocolError) as missing:
            await agent.request("typing", {"chat_id": 987_654})
        assert missing.value.code == "not_found"


async def test_read_receipts_move_forward_only_and_stop_at_the_last_message(
    server_either: Server,
) -> None:
    async with assigned_chat(server_either, "Rita") as (agent, customer, other, chat_id):
        second = await agent.say(chat_id, "two")
        third = await agent.say(chat_id, "three")
        read = await customer.request("read", {"chat_id": chat_id, "seq": third["seq"]})
        assert read == {"chat_id": chat_id, "reader": "customer", "seq": third["seq"]}
        assert await agent.next("read") == read
        back = await customer.request("read", {"chat_id": chat_id, "seq": second["seq"]})
        assert back["seq"] == third["seq"]  # an older receipt does not move it back
        beyond = await agent.request("read", {"chat_id": chat_id, "seq": third["seq"] + 50})
        assert beyond["reader"] == "agent" and beyond["seq"] == third["seq"]  # clamped
        snapshot = await customer.request("chat.sync", {"chat_id": chat_id})
        assert snapshot["chat"]["customer_read_seq"] == third["seq"]
        assert snapshot["chat"]["agent_read_seq"] == third["seq"]
        with pytest.raises(ProtocolError) as refused:
            await other.request("read", {"chat_id": chat_id, "seq": 1})
        assert refused.value.code == "not_found"


async def test_chat_sync_pages_the_transcript_with_names(server_either: Server) -> None:
    async with assigned_chat(server_either, "Sina") as (agent, customer, other, chat_id):
        pushed = [await agent.say(chat_id, f"line {n}") for n in range(4)]
        first = await customer.request("chat.sync", {"chat_id": chat_id, "limit": 3})
        assert first["has_more"] is True and len(first["messages"]) == 3
        assert first["chat"]["id"] == chat_id and first["chat"]["customer_name"] == "Sina"
        assert first["chat"]["assignee_name"] == "Alex Agent"
        after = first["messages"][-1]["seq"]
        rest = await agent.request("chat.sync", {"chat_id": chat_id, "after_seq": after})
        assert rest["has_more"] is False
        everything = first["messages"] + rest["messages"]
        assert [m["seq"] for m in everything] == sorted({m["seq"] for m in everything})
        assert [m["id"] for m in everything][-4:] == [m["id"] for m in pushed]
        names = {m["sender"]["type"]: m["sender"]["name"] for m in everything}
        assert names["customer"] == "Sina" and names["agent"] == "Alex Agent"
        assert [m["created_at"] for m in everything[-4:]] == [m["created_at"] for m in pushed]
        with pytest.raises(ProtocolError) as refused:
            await other.request("chat.sync", {"chat_id": chat_id})
        assert refused.value.code == "not_found"
