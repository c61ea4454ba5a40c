"""The ticket a chat opens is written in the chat's language (issue 15, defect 8): agents read
its subject in the Tickets list, and a Chinese chat's stayed English."""

from __future__ import annotations

from tests.conftest import Server


async def test_a_chinese_chat_opens_a_chinese_ticket(server: Server) -> None:
    chinese = await server.customer(name="李雷", topic="billing", language="zh")
    english = await server.customer(name="Carla", topic="billing", language="en")
    nameless = await server.customer(topic="technical", language="zh-CN")
    agent = await server.staff("agent1@demo.local", online=False)
    try:
        subjects = {}
        for person in (chinese, english, nameless):
            ticket_id = person.session["chat"]["ticket_id"]
            subjects[person] = (await agent.rest("GET", f"/api/tickets/{ticket_id}"))["subject"]
        assert subjects[chinese] == "与 李雷 的对话\uff08账单与付款\uff09"
        assert subjects[english] == "Chat with Carla (billing)"
        customer_id = nameless.session["customer"]["id"]
        assert subjects[nameless] == f"与 客户 #{customer_id} 的对话\uff08技术问题\uff09"
    finally:
        for person in (chinese, english, nameless, agent):
            await person.close()
