"""Customer → queue → agent, over real Socket.IO connections to a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tests.conftest import Server


async def test_customer_chat_reaches_agent_and_back(server: Server) -> None:
    agent = await server.staff("agent1@demo.local")
    customer = await server.customer(name="Carla", topic="billing", language="en")
    try:
        sent = await customer.say("My invoice is wrong")
        assert sent["seq"] >= 1 and sent["sender"]["type"] == "customer"
        assigned = await agent.next("chat.assigned")
        assert assigned["chat"]["id"] == customer.chat_id
        assert assigned["messages"][0]["text"] == "My invoice is wrong"
        assert assigned["customer"]["name"] == "Carla"
        assert assigned["ticket"]["id"] == customer.session["chat"]["ticket_id"]
        updated = await customer.next("chat.updated", where=lambda c: c["state"] == "active")
        assert updated["assignee_name"] == "Alex Agent"
        await customer.say("It charged me twice")
        got = await agent.next("message", where=lambda m: m["sender"]["type"] == "customer")
        assert got["text"] == "It charged me twice"
        reply = await agent.say(customer.chat_id, "Let me check that for you")
        seen = await customer.next("message", where=lambda m: m["sender"]["type"] == "agent")
        assert seen["id"] == reply["id"] and seen["sender"]["name"] == "Alex Agent"
        await customer.request("typing", {"chat_id": customer.chat_id, "typing": True})
        typing = await agent.next("typing")
        assert typing == {
            "chat_id": customer.chat_id,
            "typing": True,
            "sender": {
                "type": "customer",
                "id": customer.session["customer"]["id"],
                "name": "Carla",
            },
        }
        receipt = await customer.request("read", {"chat_id": customer.chat_id, "seq": seen["seq"]})
        assert receipt["seq"] == seen["seq"]
        assert (await agent.next("read"))["reader"] == "customer"
    finally:
        await customer.close()
        await agent.close()


async def test_waiting_customers_see_their_place_in_line(server: Server) -> None:
    first = await server.customer(name="First", topic="technical")
    second = await server.customer(name="Second", topic="technical")
    try:
        await first.say("hello")
        await second.say("hello too")
        pos = await second.next("queue.position", where=lambda p: p["position"] == 2)
        assert pos["agents_online"] == 0 and pos["expected_wait_seconds"] is None
        agent = await server.staff("agent2@demo.local")
        assert (await agent.next("chat.assigned"))["chat"]["id"] == first.chat_id
        assert (await agent.next("chat.assigned"))["chat"]["id"] == second.chat_id
        await agent.close()
    finally:
        await first.close()
        await second.close()


async def test_new_chats_go_to_the_least_loaded_agent_with_the_skill(server: Server) -> None:
    a1 = await server.staff("agent1@demo.local")
    a2 = await server.staff("agent2@demo.local")
    customers = [await server.customer(name=f"C{i}", topic="technical") for i in range(4)]
    billing = await server.customer(name="Bill", topic="billing")
    try:
        for person in customers:
            await person.say("help")
            await asyncio.sleep(0.05)
        await billing.say("invoice question")
        await asyncio.sleep(0.3)
        got1 = [e["chat"]["id"] for e in a1.drain("chat.assigned")]
        got2 = [e["chat"]["id"] for e in a2.drain("chat.assigned")]
        # technical chats alternate between the two agents; billing only agent1 can take
        assert len(got2) == 2 and billing.chat_id not in got2
        assert billing.chat_id in got1 and len(got1) == 3
        directory = await a1.rest("GET", "/api/directory")
        loads = {a["id"]: a["load"] for a in directory["agents"]}
        assert loads == {a1.user["id"]: 3, a2.user["id"]: 2}
    finally:
        for person in [*customers, billing]:
            await person.close()
        await a1.close()
        await a2.close()


async def test_vip_customer_is_served_first(server: Server) -> None:
    admin = await server.staff("admin@demo.local")
    regular = await server.customer(name="Regular", topic="billing")
    vip = await server.customer(name="Vip", topic="billing")
    try:
        await admin.rest(
            "PATCH", f"/api/customers/{vip.session['customer']['id']}", json={"vip": True}
        )
        await regular.say("first in line")
        await asyncio.sleep(0.05)
        await vip.say("second in line but VIP")
        queue = await admin.next("queue.updated", where=lambda s: len(s["queue"]) == 2)
        assert [e["customer_name"] for e in queue["queue"]] == ["Vip", "Regular"]
        agent = await server.staff("agent1@demo.local")
        got = await agent.next("chat.assigned")
        assert got["chat"]["id"] == vip.chat_id
        await agent.close()
    finally:
        await regular.close()
        await vip.close()
        await admin.close()


async def test_transfer_keeps_history_and_closing_solves_ticket(server: Server) -> None:
    a1 = await server.staff("agent1@demo.local")
    customer = await server.customer(name="Tess", topic="technical")
    try:
        await customer.say("my router blinks red")
        chat_id = (await a1.next("chat.assigned"))["chat"]["id"]
        await a1.say(chat_id, "transferring you to a specialist")
        a2 = await server.staff("agent2@demo.local")
        await a1.request(
            "chat.transfer",
            {"chat_id": chat_id, "to_user_id": a2.user["id"], "note": "router issue"},
        )
        assert (await a1.next("chat.removed"))["chat_id"] == chat_id
        assigned = await a2.next("chat.assigned")
        assert assigned["chat"]["assignee_id"] == a2.user["id"]
        history = await a2.request("chat.sync", {"chat_id": chat_id})
        texts = [m["text"] for m in history["messages"]]
        assert "my router blinks red" in texts and "transferring you to a specialist" in texts
        assert any(m["kind"] == "note" and "router issue" in m["text"] for m in history["messages"])
        # the customer never sees internal notes
        mine = await customer.request("chat.sync", {"chat_id": chat_id})
        assert all(m["kind"] != "note" for m in mine["messages"])
        await a2.request("chat.close", {"chat_id": chat_id})
        assert (await customer.next("chat.ended"))["reason"] == "agent_closed"
        await customer.request("csat.submit", {"chat_id": chat_id, "score": 5, "comment": "quick"})
        ticket = await a2.rest("GET", f"/api/tickets/{customer.session['chat']['ticket_id']}")
        assert ticket["status"] == "solved" and ticket["csat_score"] == 5
        assert ticket["assignee_id"] == a2.user["id"]
        transcript = [m["text"] for m in ticket["chats"][0]["messages"]]
        assert "my router blinks red" in transcript
        await a2.close()
    finally:
        await customer.close()
        await a1.close()


async def test_transfer_to_a_group_goes_to_someone_else(server: Server) -> None:
    a2 = await server.staff("agent2@demo.local")
    busy = await server.customer(name="Busy", topic="technical")
    await busy.say("keeps agent2 busy")
    await a2.next("chat.assigned")
    a1 = await server.staff("agent1@demo.local")
    customer = await server.customer(name="Gus", topic="billing")
    try:
        await customer.say("actually my modem is broken")
        chat_id = (await a1.next("chat.assigned"))["chat"]["id"]
        groups = {g["name"]: g["id"] for g in (await a1.rest("GET", "/api/groups"))["items"]}
        await a1.request("chat.transfer", {"chat_id": chat_id, "to_group_id": groups["Technical"]})
        # agent1 also has the technical skill and is less loaded, but handed it over
        got = await a2.next("chat.assigned")
        assert got["chat"]["id"] == chat_id and got["chat"]["topic"] == "technical"
        ticket = await a2.rest("GET", f"/api/tickets/{got['ticket']['id']}")
        assert ticket["group_id"] == groups["Technical"]
    finally:
        for person in (a1, a2, customer, busy):
            await person.close()


async def test_each_console_sees_the_waiting_chats_its_agent_could_serve(server: Server) -> None:
    """queue.updated: an agent's list keeps the chats of their groups and skills; agents who
    could serve the same chats get the same list; an admin sees every waiting chat."""
    admin = await server.staff("admin@demo.local")
    groups = {g["name"]: g["id"] for g in (await admin.rest("GET", "/api/groups"))["items"]}
    await admin.rest(
        "POST",
        "/api/users",
        expect=201,
        json={
            "email": "agent3@demo.local",
            "name": "Cy Agent",
            "role": "agent",
            "password": "a long enough password 3",
            "skills": ["technical"],
            "group_ids": [groups["Technical"], groups["General"]],
        },
    )
    server.passwords["agent3@demo.local"] = "a long enough password 3"
    # Connected but away: the chats stay in line, and every console is told about the line.
    both, tech, tech_too = [
        await server.staff(f"agent{n}@demo.local", online=False) for n in (1, 2, 3)
    ]
    billing = await server.customer(name="Bill", topic="billing")
    technical = await server.customer(name="Tech", topic="technical")
    try:
        await billing.say("my invoice is wrong")
        await technical.say("my router blinks red")

        def names(snapshot: dict[str, Any]) -> list[str]:
            return sorted(entry["customer_name"] for entry in snapshot["queue"])

        def listing(wanted: list[str]) -> Callable[[dict[str, Any]], bool]:
            return lambda snapshot: names(snapshot) == wanted

        everyone = await admin.next("queue.updated", where=listing(["Bill", "Tech"]))
        assert len(everyone["agents"]) == 3
        assert names(await both.next("queue.updated", where=listing(["Bill", "Tech"])))
        for agent in (tech, tech_too):
            seen = await agent.next("queue.updated", where=lambda s: len(s["queue"]) == 1)
            assert names(seen) == ["Tech"], seen
            assert {a["name"] for a in seen["agents"]} == {"Alex Agent", "Bo Agent", "Cy Agent"}
    finally:
        for person in (billing, technical, both, tech, tech_too, admin):
            await person.close()
