"""Reconnects and resends: nothing lost, nothing twice, order kept."""

from __future__ import annotations

import asyncio

from loadtest.clients import Customer
from tests.conftest import Server


async def test_reconnect_gets_missed_messages_in_order_without_duplicates(server: Server) -> None:
    agent = await server.staff("agent1@demo.local")
    customer = await server.customer(name="Rita", topic="billing")
    try:
        first = await customer.say("hello", client_msg_id="m-1")
        chat_id = (await agent.next("chat.assigned"))["chat"]["id"]
        seen = [m["seq"] async for m in _pushes(customer, 1)]  # the "joined" line
        await customer.sio.disconnect()
        for i in range(3):
            await agent.say(chat_id, f"while you were away {i}")
        # the same page comes back with the same token (a reload or a network drop)
        back = Customer(server.url)
        back.token, back.chat_id = customer.token, customer.chat_id
        await back.connect()
        missed = await back.request("chat.sync", {"chat_id": chat_id, "after_seq": max(seen)})
        texts = [m["text"] for m in missed["messages"]]
        assert texts == [f"while you were away {i}" for i in range(3)]
        seqs = [m["seq"] for m in missed["messages"]]
        assert seqs == sorted(seqs) and len(set(seqs)) == 3
        # a resend of a message whose ack was lost is recognised, not stored twice
        again = await back.say("hello", client_msg_id="m-1")
        assert again["id"] == first["id"]
        whole = await back.request("chat.sync", {"chat_id": chat_id})
        assert [m["text"] for m in whole["messages"]].count("hello") == 1
        assert missed["has_more"] is False
        await back.close()
    finally:
        await customer.close()
        await agent.close()


async def _pushes(customer: Customer, count: int):  # type: ignore[no-untyped-def]
    for _ in range(count):
        yield await customer.next("message")


async def test_sync_pages_through_long_history(server: Server) -> None:
    customer = await server.customer(name="Long")
    try:
        for i in range(12):
            await customer.say(f"line {i}")
        page1 = await customer.request(
            "chat.sync", {"chat_id": customer.chat_id, "after_seq": 0, "limit": 5}
        )
        assert page1["has_more"] is True and len(page1["messages"]) == 5
        rest = await customer.request(
            "chat.sync",
            {"chat_id": customer.chat_id, "after_seq": page1["messages"][-1]["seq"], "limit": 500},
        )
        texts = [
            m["text"]
            for m in page1["messages"] + rest["messages"]
            if m["sender"]["type"] == "customer"
        ]
        assert texts == [f"line {i}" for i in range(12)]
    finally:
        await customer.close()


async def test_agent_reload_keeps_chats_and_a_long_absence_requeues_them(server: Server) -> None:
    agent = await server.staff("agent2@demo.local")
    customer = await server.customer(name="Nia", topic="technical")
    try:
        await customer.say("help")
        chat_id = (await agent.next("chat.assigned"))["chat"]["id"]
        await agent.sio.disconnect()
        # a reload within the grace period: still theirs, and the console gets them back
        again = await server.staff("agent2@demo.local", online=False)
        state = await again.request("console.state")
        assert [c["id"] for c in state["chats"]] == [chat_id]
        assert state["me"]["status"] == "online"
        await again.sio.disconnect()
        # gone longer than the grace period (2 s in tests): the chat goes back in line
        update = await customer.next(
            "chat.updated", where=lambda c: c["state"] == "queued", timeout=6
        )
        assert update["assignee_id"] is None
        note = await customer.next("message", where=lambda m: "unavailable" in m["text"], timeout=2)
        assert note["sender"]["type"] == "system"
        await again.close()
    finally:
        await customer.close()
        await agent.close()


async def test_concurrent_sends_get_distinct_ordered_seqs(server: Server) -> None:
    customer = await server.customer(name="Burst")
    try:
        acks = await asyncio.gather(*(customer.say(f"n{i}") for i in range(30)))
        seqs = sorted(a["seq"] for a in acks)
        assert seqs == list(range(seqs[0], seqs[0] + 30))
        # one connection's events run in arrival order: seq order == send order
        assert [a["text"] for a in sorted(acks, key=lambda a: a["seq"])] == [
            f"n{i}" for i in range(30)
        ]
    finally:
        await customer.close()
