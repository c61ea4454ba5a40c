"""A reviewable call and the people around it, for the QA review tests: agent1's billing chat
with a customer, an ended video call in it, and signed-in REST clients for every staff role
(a second QA reviewer and another organisation's admin included)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loadtest.clients import Customer, Staff
from signaling.store import orgs as org_store
from signaling.store import users as user_store
from signaling.types import Role
from tests.conftest import Server
from tests.records import ended_call_in

CRITERIA = [
    {"title": "Greeting", "weight": 1, "scale": "yes_no"},
    {"title": "Solved the problem", "weight": 3, "scale": "1-5"},
    {"title": "Offered a callback", "weight": 1, "scale": "yes_no", "optional": True},
]


@dataclass
class QaWorld:
    server: Server
    chat: dict[str, Any]
    call_id: int
    customer: Customer
    agent: Staff  # agent1: the call's agent
    agent2: Staff
    qa: Staff
    qa2: Staff
    admin: Staff
    other_admin: Staff  # an admin of another organisation

    async def close(self) -> None:
        for person in (self.customer, self.agent, self.agent2, self.qa, self.qa2, self.admin):
            await person.close()
        await self.other_admin.close()


async def signed_in(server: Server, email: str, password: str | None = None) -> Staff:
    staff = Staff(server.url)
    await staff.sign_in(email, password or server.passwords[email])
    return staff


async def build_world(server: Server) -> QaWorld:
    agent = await server.staff("agent1@demo.local")
    customer = await server.customer(name="Rita Review", topic="billing")
    await customer.say("my card was charged twice")
    chat = (await agent.next("chat.assigned"))["chat"]
    await agent.say(chat["id"], "let me look")
    call_id = await ended_call_in(server, chat)
    runtime = server.runtime
    async with runtime.db.write() as conn:
        other = await org_store.create_org(conn, slug="elsewhere", name="Elsewhere Ltd")
        await user_store.create_user(
            conn,
            org_id=other["id"],
            email="boss@elsewhere.example",
            name="Else Boss",
            role=Role.ADMIN,
            password_hash=await runtime.passwords.hash("elsewhere-pass-1"),
        )
        await user_store.create_user(
            conn,
            org_id=1,
            email="qa2@demo.local",
            name="Second Reviewer",
            role=Role.QA,
            password_hash=await runtime.passwords.hash("second-reviewer-1"),
        )
    return QaWorld(
        server=server,
        chat=chat,
        call_id=call_id,
        customer=customer,
        agent=agent,
        agent2=await signed_in(server, "agent2@demo.local"),
        qa=await signed_in(server, "qa@demo.local"),
        qa2=await signed_in(server, "qa2@demo.local", "second-reviewer-1"),
        admin=await signed_in(server, "admin@demo.local"),
        other_admin=await signed_in(server, "boss@elsewhere.example", "elsewhere-pass-1"),
    )


async def default_rubric(admin: Staff) -> dict[str, Any]:
    """The organisation's default rubric (CRITERIA), created by an admin."""
    body = {"name": "Support call", "criteria": CRITERIA}
    return dict(await admin.rest("POST", "/api/rubrics", json=body, expect=201))
