"""Tickets, chats and customers over REST: filters, paging, edits with history, escalation."""

from __future__ import annotations

from tests.conftest import Server


async def test_ticket_lifecycle_filters_and_history(server: Server) -> None:
    agent = await server.staff("agent1@demo.local")
    customers = [await server.customer(name=f"T{i}", topic="billing") for i in range(3)]
    try:
        for person in customers:
            await person.say("problem")
            await agent.next("chat.assigned")
        first = customers[0]
        ticket_id = first.session["chat"]["ticket_id"]
        updated = await agent.rest(
            "PATCH",
            f"/api/tickets/{ticket_id}",
            json={
                "subject": "Double charge in March",
                "status": "pending",
                "priority": "high",
                "tags": ["refund", "march"],
            },
        )
        assert updated["status"] == "pending" and updated["tags"] == ["march", "refund"]
        # filters
        by_tag = await agent.rest("GET", "/api/tickets?tag=refund")
        assert [t["id"] for t in by_tag["items"]] == [ticket_id]
        by_status = await agent.rest("GET", "/api/tickets?status=open&per_page=1&page=2")
        assert by_status["total"] == 2 and len(by_status["items"]) == 1 and by_status["page"] == 2
        assert (await agent.rest("GET", "/api/tickets?q=double"))["items"][0]["id"] == ticket_id
        assert (await agent.rest("GET", f"/api/tickets?assignee_id={agent.user['id']}"))[
            "total"
        ] == 3
        # history keeps who changed what, from what, to what
        full = await agent.rest("GET", f"/api/tickets/{ticket_id}")
        changes = {(h["field"], str(h["old_value"]), str(h["new_value"])) for h in full["history"]}
        assert ("status", "open", "pending") in changes and (
            "priority",
            "normal",
            "high",
        ) in changes
        assert ("assignee_id", "None", str(agent.user["id"])) in changes
        assert all(
            h["actor_id"] == agent.user["id"] for h in full["history"] if h["field"] == "status"
        )
        # escalation keeps the ticket open when the chat ends
        second = customers[1]
        esc = await agent.request(
            "chat.escalate",
            {"chat_id": second.chat_id, "priority": "urgent", "note": "needs finance"},
        )
        assert esc["ticket"]["status"] == "open" and "escalated" in esc["ticket"]["tags"]
        await agent.request("chat.close", {"chat_id": second.chat_id})
        after = await agent.rest("GET", f"/api/tickets/{second.session['chat']['ticket_id']}")
        assert after["status"] == "open" and after["priority"] == "urgent"
        assert any(
            m["kind"] == "note" and "needs finance" in m["text"]
            for m in after["chats"][0]["messages"]
        )
        # a plain close solves the ticket
        await agent.request("chat.close", {"chat_id": customers[2].chat_id})
        solved = await agent.rest(
            "GET", f"/api/tickets/{customers[2].session['chat']['ticket_id']}"
        )
        assert solved["status"] == "solved" and solved["solved_at"] is not None
        admin = await server.staff("admin@demo.local")
        actions = [
            (r["action"], r["target_id"]) for r in (await admin.rest("GET", "/api/audit"))["items"]
        ]
        assert ("chat.escalate", second.chat_id) in actions and (
            "chat.end",
            second.chat_id,
        ) in actions
        await admin.close()
        chats = await agent.rest("GET", "/api/chats?state=ended")
        assert {c["id"] for c in chats["items"]} == {second.chat_id, customers[2].chat_id}
    finally:
        for person in [agent, *customers]:
            await person.close()


async def test_customers_rest_and_own_history_panel(server: Server) -> None:
    agent = await server.staff("agent1@demo.local")
    customer = await server.customer(name="Hana", email="hana@example.com", topic="billing")
    try:
        await customer.say("hi")
        await agent.next("chat.assigned")
        cid = customer.session["customer"]["id"]
        found = await agent.rest("GET", "/api/customers?q=hana")
        assert [c["id"] for c in found["items"]] == [cid]
        patched = await agent.rest(
            "PATCH", f"/api/customers/{cid}", json={"vip": True, "attributes": {"plan": "gold"}}
        )
        assert patched["vip"] is True and patched["attributes"] == {"plan": "gold"}
        assert (await agent.rest("GET", "/api/customers?vip=true"))["total"] == 1
        panel = await agent.rest("GET", f"/api/customers/{cid}/context")
        assert panel["external"]["configured"] is False and panel["external"]["data"] is None
        assert [c["id"] for c in panel["history"]["chats"]] == [customer.chat_id]
        assert [t["id"] for t in panel["history"]["tickets"]] == [
            customer.session["chat"]["ticket_id"]
        ]
    finally:
        await agent.close()
        await customer.close()


async def test_admin_creates_an_agent_who_gets_routed_chats(server: Server) -> None:
    admin = await server.staff("admin@demo.local")
    try:
        groups = {g["name"]: g["id"] for g in (await admin.rest("GET", "/api/groups"))["items"]}
        weak = await admin.rest(
            "POST",
            "/api/users",
            expect=400,
            json={"email": "new@demo.local", "name": "New", "role": "agent", "password": "short"},
        )
        assert "at least 10" in weak["error"]["message"]
        created = await admin.rest(
            "POST",
            "/api/users",
            expect=201,
            json={
                "email": "new@demo.local",
                "name": "Nora New",
                "role": "agent",
                "password": "a-long-password-1",
                "skills": ["billing"],
                "languages": ["zh"],
                "max_chats": 1,
                "group_ids": [groups["Billing"]],
            },
        )
        assert created["role"] == "agent" and "password_hash" not in created
        server.passwords["new@demo.local"] = "a-long-password-1"
        nora = await server.staff("new@demo.local")
        english = await server.customer(name="En", topic="billing", language="en")
        chinese = await server.customer(name="Zh", topic="billing", language="zh")
        await english.say("hello")
        await chinese.say("你好")
        got = await nora.next("chat.assigned")
        assert got["chat"]["id"] == chinese.chat_id  # language match; capacity 1
        position = await english.next("queue.position")
        assert position["agents_online"] == 0  # nobody online speaks English billing
        for person in (nora, english, chinese):
            await person.close()
    finally:
        await admin.close()


async def test_search_wildcards_are_literal(server: Server) -> None:
    agent = await server.staff("agent1@demo.local", online=False)
    plain = await server.customer(name="Ann Lee")
    odd = await server.customer(name="100%_sure")
    try:
        assert [c["name"] for c in (await agent.rest("GET", "/api/customers?q=%25"))["items"]] == [
            "100%_sure"
        ]
        assert (await agent.rest("GET", "/api/customers?q=_"))["total"] == 1
        assert (await agent.rest("GET", "/api/customers?q=ann"))["items"][0]["name"] == "Ann Lee"
    finally:
        for person in (agent, plain, odd):
            await person.close()
