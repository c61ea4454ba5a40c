"""A ticket panel shows what the server has (issue 15, defect 6): every change pushes
`ticket.updated` to the consoles that may show it, and a save made on an older `version` is
refused 409 with the ticket as it is now instead of undoing what happened meanwhile."""

from __future__ import annotations

from tests.conftest import Server


async def test_chat_end_pushes_the_solved_ticket_and_a_stale_save_is_refused(
    server: Server,
) -> None:
    agent = await server.staff("agent1@demo.local")
    admin = await server.staff("admin@demo.local")
    customer = await server.customer(name="Olga", topic="billing")
    try:
        await customer.say("refund please")
        assigned = await agent.next("chat.assigned")
        ticket_id = assigned["ticket"]["id"]
        assert assigned["ticket"]["version"] == 2  # opened, then assigned to the agent
        pushed = await agent.next("ticket.updated", where=lambda t: t["id"] == ticket_id)
        assert pushed["assignee_id"] == agent.user["id"] and pushed["version"] == 2
        opened = await agent.rest("GET", f"/api/tickets/{ticket_id}")
        seen = opened["version"]

        # The customer leaves: the server solves the ticket and says so to the console.
        await customer.request("chat.end", {"chat_id": customer.chat_id})
        solved = await agent.next("ticket.updated", where=lambda t: t["status"] == "solved")
        assert solved["id"] == ticket_id and solved["version"] == seen + 1
        assert (await admin.next("ticket.updated", where=lambda t: t["version"] == seen + 1))[
            "status"
        ] == "solved"

        # A save made on what the panel showed before is refused, and changes nothing.
        stale = await agent.rest(
            "PATCH",
            f"/api/tickets/{ticket_id}",
            expect=409,
            json={"status": "open", "priority": "high", "version": seen},
        )
        error = stale["error"]
        assert error["code"] == "conflict" and "changed since you opened it" in error["message"]
        assert error["details"]["version"] == seen + 1
        assert error["details"]["ticket"]["status"] == "solved"
        now = await agent.rest("GET", f"/api/tickets/{ticket_id}")
        assert now["status"] == "solved" and now["priority"] == "normal"

        # Saved on the current version it goes through, and the others hear of it.
        saved = await agent.rest(
            "PATCH",
            f"/api/tickets/{ticket_id}",
            json={"tags": ["refund"], "version": seen + 1},
        )
        assert saved["version"] == seen + 2 and saved["status"] == "solved"
        got = await admin.next("ticket.updated", where=lambda t: t["version"] == seen + 2)
        assert got["tags"] == ["refund"]
        # Without `version` a PATCH applies as before (clients that never read it).
        assert (await agent.rest("PATCH", f"/api/tickets/{ticket_id}", json={"priority": "low"}))[
            "version"
        ] == seen + 3
    finally:
        for person in (agent, admin, customer):
            await person.close()


async def test_bad_versions_are_invalid_payload(server: Server) -> None:
    agent = await server.staff("agent1@demo.local")
    customer = await server.customer(name="Vic")
    try:
        await customer.say("hi")
        ticket_id = (await agent.next("chat.assigned"))["ticket"]["id"]
        for bad in (0, -1, "3", 2**31, 1.5, True):
            body = await agent.rest(
                "PATCH", f"/api/tickets/{ticket_id}", expect=400, json={"version": bad}
            )
            assert body["error"]["code"] == "invalid_payload", (bad, body)
            assert body["error"]["details"]["field"] == "version", (bad, body)
    finally:
        await agent.close()
        await customer.close()
