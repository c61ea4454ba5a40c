"""Chat messages are written in batches (signaling/chat/message_writer.py): what a faster
write path could break. One order per chat (stored = pushed = each sender's send order,
acks in the order a connection sent), idempotency when a resend races its original inside
one batch, a refused or broken message failing alone, and an ack that still means stored
when the process is killed right after it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import signal
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from loadtest.clients import Customer, ProtocolError, Staff
from signaling.chat.message_writer import MessageWriter
from signaling.db.schema import chat_sessions
from signaling.store.message_batch import MessageStatements
from tests.conftest import Server
from tests.test_cli import environment, serve_process

AGENT = "agent1@demo.local"
_ids = itertools.count(1)


def send(
    person: Customer | Staff, chat_id: int, text: str, client_msg_id: str = "", timeout: float = 10
) -> Any:
    return person.request(
        "message.send",
        {"chat_id": chat_id, "client_msg_id": client_msg_id or f"b{next(_ids)}", "text": text},
        timeout=timeout,
    )


def _record(acked: list[int], index: int, _task: object) -> None:
    acked.append(index)


async def in_order(requests: list[Awaitable[Any]]) -> tuple[list[Any], list[int]]:
    """Start each request once the previous one has gone out (no waiting for its ack):
    the answers in the order sent, and the order (by index sent) their acks came in."""
    tasks: list[asyncio.Future[Any]] = []
    acked: list[int] = []
    for index, request in enumerate(requests):
        task = asyncio.ensure_future(request)
        task.add_done_callback(functools.partial(_record, acked, index))
        tasks.append(task)
        await asyncio.sleep(0)  # the emit is written before the next one starts
    return await asyncio.gather(*tasks), acked


async def pushes(
    person: Customer | Staff, count: int, where: Any = None, timeout: float = 10
) -> list[Any]:
    """The next `count` message pushes this person receives (for which `where(message)`
    holds, if given), in arrival order."""
    return [await person.next("message", where=where, timeout=timeout) for _ in range(count)]


@contextlib.asynccontextmanager
async def held_writer(server: Server, messages: int, chat_id: int) -> AsyncIterator[MessageWriter]:
    """Hold the database's writer (SQLite) or the chat's row (PostgreSQL) until `messages`
    wait for the message writer: whatever reached it first is one batch, the rest the next."""
    writer = server.runtime.chats.messages
    async with server.runtime.db.write() as conn:
        if conn.dialect.name != "sqlite":
            query = select(chat_sessions.c.id).where(chat_sessions.c.id == chat_id)
            await conn.execute(query.with_for_update())
        yield writer
        for _tick in range(200):
            if writer.waiting >= messages:
                break
            await asyncio.sleep(0.01)
        assert writer.waiting >= messages, "the messages did not reach the writer"


async def active_chat(server: Server, agent: Staff, name: str) -> Customer:
    customer = await server.customer(name=name)
    await customer.say("hello")
    await agent.next("chat.assigned", where=lambda a: a["chat"]["id"] == customer.chat_id)
    agent.drain("message")
    return customer


async def test_many_senders_in_one_chat_share_one_order(server: Server) -> None:
    agent = await server.staff(AGENT)
    customer = await active_chat(server, agent, "Ola")
    tab = Staff(server.url)  # a second console tab of the same agent
    tab.token = agent.token
    await tab.connect()
    chat = customer.chat_id
    try:
        n = 25
        sent = await asyncio.gather(
            in_order([send(customer, chat, f"customer {i}") for i in range(n)]),
            in_order([send(agent, chat, f"agent {i}") for i in range(n)]),
            in_order([send(tab, chat, f"tab {i}") for i in range(n)]),
        )
        for acks, arrived in sent:
            assert not any(ack["duplicate"] for ack in acks)
            seqs = [ack["message"]["seq"] for ack in acks]
            assert seqs == sorted(seqs), "a sender's messages are stored in the order it sent"
            assert arrived == sorted(arrived), "a connection's acks come in the order it sent"
        stored = await customer.request("chat.sync", {"chat_id": chat, "limit": 500})
        seqs = [m["seq"] for m in stored["messages"]]
        assert seqs == list(range(1, len(seqs) + 1)), "one gapless sequence per chat"
        texts = [m["text"] for m in stored["messages"]]
        senders = {"customer", "agent", "tab"}
        for name in senders:
            assert [t for t in texts if t.startswith(f"{name} ")] == [
                f"{name} {i}" for i in range(n)
            ]
        # each side is pushed what the others wrote, in the stored order
        for person, own in ((customer, "customer"), (agent, "agent"), (tab, "tab")):
            others = [
                m["seq"] for m in stored["messages"] if m["text"].split(" ")[0] in senders - {own}
            ]
            ours = await pushes(
                person, len(others), where=lambda m: m["text"].split(" ")[0] in senders
            )
            assert [m["seq"] for m in ours] == others
        assert server.runtime.chats.messages.batches < 3 * n, "messages shared commits"
    finally:
        for person in (tab, agent, customer):
            await person.close()


async def test_many_chats_at_once_each_keep_their_order(server: Server) -> None:
    customers = [await server.customer(name=f"Many {i}") for i in range(8)]
    try:
        n = 12
        sent = await asyncio.gather(
            *(in_order([send(c, c.chat_id, f"m {i}") for i in range(n)]) for c in customers)
        )
        for person, (answers, _arrived) in zip(customers, sent, strict=True):
            acks = [answer["message"] for answer in answers]
            assert [a["seq"] for a in acks] == list(range(1, n + 1))
            assert {a["chat_id"] for a in acks} == {person.chat_id}
            stored = await person.request("chat.sync", {"chat_id": person.chat_id})
            assert [m["text"] for m in stored["messages"]] == [f"m {i}" for i in range(n)]
    finally:
        for person in customers:
            await person.close()


async def test_a_resend_racing_its_original_in_one_batch_is_stored_once(server: Server) -> None:
    await resends_race_their_originals(server)


async def test_a_resend_racing_its_original_on_postgresql(pg_server: Server) -> None:
    await resends_race_their_originals(pg_server)


async def resends_race_their_originals(server: Server) -> None:
    agent = await server.staff(AGENT)
    customer = await active_chat(server, agent, "Resa")
    second_tab = Customer(server.url)  # the widget open twice: same guest token
    second_tab.token, second_tab.chat_id = customer.token, customer.chat_id
    await second_tab.connect()
    chat = customer.chat_id
    try:
        async with held_writer(server, 5, chat) as writer:
            before = writer.batches
            requests = [
                asyncio.ensure_future(send(customer, chat, "first", "dup-1")),
                asyncio.ensure_future(send(customer, chat, "first", "dup-1")),
                asyncio.ensure_future(send(second_tab, chat, "first", "dup-1")),
                asyncio.ensure_future(send(customer, chat, "second", "dup-2")),
                asyncio.ensure_future(send(second_tab, chat, "second", "dup-2")),
            ]
        acks = await asyncio.gather(*requests)
        # Frames a socket has already received are read together, so the first message
        # may start its (held) batch alone or wait with the rest: either way copies of one
        # message race inside one batch.
        assert writer.batches - before in (1, 2), "the held writer took them in one go"
        # whichever copy came first is stored; every other copy gets that one, as a duplicate
        for copies in (acks[:3], acks[3:]):
            assert sorted(a["duplicate"] for a in copies) == [False] + [True] * (len(copies) - 1)
            assert len({a["message"]["id"] for a in copies}) == 1
        first, second = acks[0]["message"], acks[3]["message"]
        assert second["seq"] == first["seq"] + 1
        # the agent hears each message once; a later resend is a duplicate too
        assert [m["id"] for m in await pushes(agent, 2)] == [first["id"], second["id"]]
        again = await send(customer, chat, "first", "dup-1")
        assert again["duplicate"] and again["message"] == first
        await asyncio.sleep(0.3)
        assert agent.drain("message") == []
    finally:
        for person in (second_tab, agent, customer):
            await person.close()


async def test_a_refused_message_in_a_batch_fails_alone(server: Server) -> None:
    agent = await server.staff(AGENT)
    ending = await active_chat(server, agent, "Ends")
    staying = await active_chat(server, agent, "Stays")
    await ending.request("chat.end", {"chat_id": ending.chat_id})
    try:
        async with held_writer(server, 5, staying.chat_id):
            requests = [
                asyncio.ensure_future(send(staying, staying.chat_id, "one")),
                asyncio.ensure_future(send(ending, ending.chat_id, "too late")),
                asyncio.ensure_future(send(agent, ending.chat_id, "too late too")),
                asyncio.ensure_future(send(staying, 999_999, "no such chat")),
                asyncio.ensure_future(send(staying, staying.chat_id, "two")),
            ]
        results = await asyncio.gather(*requests, return_exceptions=True)
        assert [r.code if isinstance(r, ProtocolError) else "ok" for r in results] == [
            "ok",
            "conflict",
            "conflict",
            "not_found",
            "ok",
        ]
        stored = await staying.request("chat.sync", {"chat_id": staying.chat_id})
        assert [m["text"] for m in stored["messages"][-2:]] == ["one", "two"]
    finally:
        for person in (agent, ending, staying):
            await person.close()


async def test_a_batch_that_breaks_is_written_again_one_by_one(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    insert = MessageStatements.insert

    def breaks_on_boom(self: MessageStatements, conn: Any, row: Any) -> int | None:
        if row["text"] == "boom":
            raise RuntimeError("the database refused this row")
        return insert(self, conn, row)

    monkeypatch.setattr(MessageStatements, "insert", breaks_on_boom)
    customer = await server.customer(name="Boom")
    try:
        await customer.say("before")
        chat = customer.chat_id
        async with held_writer(server, 4, chat):
            requests = [
                asyncio.ensure_future(send(customer, chat, "alone")),
                asyncio.ensure_future(send(customer, chat, "a")),
                asyncio.ensure_future(send(customer, chat, "boom")),
                asyncio.ensure_future(send(customer, chat, "b")),
            ]
        results = await asyncio.gather(*requests, return_exceptions=True)
        assert isinstance(results[2], ProtocolError) and results[2].code == "internal"
        assert [r["message"]["text"] for r in results if isinstance(r, dict)] == [
            "alone",
            "a",
            "b",
        ]
        stored = await customer.request("chat.sync", {"chat_id": chat})
        assert [m["text"] for m in stored["messages"]] == ["before", "alone", "a", "b"]
        assert [m["seq"] for m in stored["messages"]] == [1, 2, 3, 4]
    finally:
        await customer.close()


async def test_an_acked_message_survives_a_kill_right_after_the_ack(tmp_path: Path) -> None:
    data = tmp_path / "data"
    acked: dict[str, int] = {}
    env = environment(
        LIVEASSIST_RELAY_EMBEDDED="false",  # chat only: no relay workers
        LIVEASSIST_LIMITS_EVENTS_PER_SECOND="1000",  # six sends in flight at once
        LIVEASSIST_LIMITS_EVENT_BURST="1000",
    )
    with serve_process(data, env=env) as (process, url, _printed, _err):
        customer = Customer(url)
        await customer.open_chat(name="Killed")
        await customer.connect()
        killed = asyncio.Event()

        async def writer(lane: int) -> None:
            for i in itertools.count():
                if killed.is_set():
                    return
                client_id = f"k{lane}-{i}"
                try:
                    ack = await send(customer, customer.chat_id, client_id, client_id, timeout=3)
                except Exception:
                    if not killed.is_set():
                        raise
                    return  # the process is gone: this one was never acked
                acked[client_id] = ack["message"]["seq"]
                if len(acked) >= 60 and not killed.is_set():
                    process.send_signal(signal.SIGKILL)  # right after this ack
                    killed.set()

        await asyncio.gather(*(writer(lane) for lane in range(6)))
        process.wait(timeout=10)
        assert process.returncode == -signal.SIGKILL
        with contextlib.suppress(Exception):
            await customer.close()
    with serve_process(data, env=env) as (_process, url, _printed, _err):
        again = Customer(url)
        again.token, again.chat_id = customer.token, customer.chat_id
        await again.connect()
        try:
            stored = await again.request("chat.sync", {"chat_id": again.chat_id, "limit": 500})
        finally:
            await again.close()
    found = {m["client_msg_id"]: m["seq"] for m in stored["messages"]}
    missing = sorted(set(acked) - set(found))
    assert not missing, f"acked but not stored after the kill: {missing}"
    assert all(found[c] == seq for c, seq in acked.items())
    seqs = sorted(found.values())
    assert seqs == list(range(1, len(seqs) + 1))
