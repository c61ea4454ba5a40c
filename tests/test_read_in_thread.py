"""Reads in one hand-off (Database.read_in_thread) and the typing indicator that uses them:
the same answers and refusals as through the async engine, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Connection, select, update

from loadtest.clients import ProtocolError
from signaling.db.schema import chat_sessions, users
from signaling.store import orgs as org_store
from tests.conftest import SQLITE_AND_POSTGRESQL, server_on


@pytest.fixture(params=SQLITE_AND_POSTGRESQL)
def database(request: pytest.FixtureRequest) -> pytest.FixtureRequest:
    return request


async def test_a_read_sees_what_was_committed_and_keeps_nothing_it_writes(
    database: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with server_on(database, tmp_path / "data") as server:
        db = server.runtime.db
        customer = await server.customer(name="Reads")
        try:
            chat_id = customer.chat_id

            def rename(conn: Connection) -> None:
                conn.execute(
                    update(chat_sessions).where(chat_sessions.c.id == chat_id).values(language="de")
                )

            def language(conn: Connection) -> tuple[str, str]:
                found = conn.execute(
                    select(chat_sessions.c.language).where(chat_sessions.c.id == chat_id)
                ).scalar_one()
                return found, threading.current_thread().name

            await db.write_in_thread(rename)
            seen, thread = await db.read_in_thread(language)
            assert seen == "de"  # the writer's commit is visible to the next read
            if db.is_sqlite:
                assert thread.startswith("sqlite-reader")  # not the loop, not the writer

            def write_anyway(conn: Connection) -> None:
                rename_back = update(chat_sessions).where(chat_sessions.c.id == chat_id)
                conn.execute(rename_back.values(language="fr"))

            await db.read_in_thread(write_anyway)
            assert (await db.read_in_thread(language))[0] == "de"  # rolled back, not kept
        finally:
            await customer.close()


async def test_group_ids_compiled_once_match_the_async_engines(
    database: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with server_on(database, tmp_path / "data") as server:
        db = server.runtime.db
        async with db.read() as conn:
            ids = (await conn.execute(select(users.c.id, users.c.email))).all()
            expected = {email: await org_store.group_ids_of(conn, uid) for uid, email in ids}
        for uid, email in ids:
            got = await db.read_in_thread(lambda c, uid=uid: org_store.group_ids_of_sync(c, uid))
            assert got == expected[email], email
        assert any(expected.values()) and not all(expected.values())  # members and not
        assert await db.read_in_thread(lambda c: org_store.group_ids_of_sync(c, 987_654)) == set()


async def test_typing_is_pushed_with_names_and_refused_to_outsiders(
    database: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with server_on(database, tmp_path / "data") as server:
        agent = await server.staff("agent1@demo.local")
        customer = await server.customer(name="Tina", topic="billing", language="en")
        other = await server.customer(name="Otto")
        try:
            await customer.say("hello")
            await agent.next("chat.assigned")
            await agent.request("typing", {"chat_id": customer.chat_id, "typing": True})
            pushed = await customer.next("typing")
            assert pushed["sender"]["type"] == "agent" and pushed["sender"]["name"] == "Alex Agent"
            await customer.request("typing", {"chat_id": customer.chat_id, "typing": False})
            seen = await agent.next("typing")
            assert seen["typing"] is False and seen["sender"]["name"] == "Tina"
            with pytest.raises(ProtocolError) as refused:  # someone else's chat
                await other.request("typing", {"chat_id": customer.chat_id})
            assert refused.value.code == "not_found"
            with pytest.raises(ProtocolError) as missing:
                await agent.request("typing", {"chat_id": 987_654})
            assert missing.value.code == "not_found"
        finally:
            await other.close()
            await customer.close()
            await agent.close()


async def test_read_receipts_move_forward_only_and_stop_at_the_last_message(
    database: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with server_on(database, tmp_path / "data") as server:
        agent = await server.staff("agent1@demo.local")
        customer = await server.customer(name="Rita", topic="billing", language="en")
        other = await server.customer(name="Olga")
        try:
            await customer.say("one")
            await agent.next("chat.assigned")
            chat_id = customer.chat_id
            second = await agent.say(chat_id, "two")
            third = await agent.say(chat_id, "three")
            read = await customer.request("read", {"chat_id": chat_id, "seq": third["seq"]})
            assert read == {"chat_id": chat_id, "reader": "customer", "seq": third["seq"]}
            pushed = await agent.next("read")
            assert pushed == read
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
        finally:
            await other.close()
            await customer.close()
            await agent.close()
