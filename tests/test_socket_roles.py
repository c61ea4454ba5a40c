"""Socket.IO roles x resources, generated from the namespaces' event tables: every role —
the chat's customer, another customer, the assigned agent, another agent, an admin, an
admin of another organisation, a supervisor of the agent's group, QA, and revoked, forged,
expired and missing tokens — against every event about one chat and its call. Unauthorised
roles get 0 successes; an event added to a namespace without a line here fails this test."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import jwt
import pytest
import socketio

from loadtest.clients import Participant, Staff
from signaling.store import orgs as org_store
from signaling.store import users as user_store
from signaling.types import OrgId, Role, UserId
from tests.conftest import Server, start_server
from tests.test_calls import three_line_offer

CUSTOMER_EVENTS = {
    # event: roles that may succeed (others must get not_found or forbidden)
    "chat.start": {"customer"},
    "chat.sync": {"customer"},
    "message.send": {"customer"},
    "typing": {"customer"},
    "read": {"customer"},
    "chat.end": {"customer"},
    "csat.submit": {"customer"},
    "bot.solved": {"customer"},
    "bot.human": {"customer"},
}
STAFF_EVENTS = {
    "presence.set": {"agent", "other_agent"},
    "console.state": {"agent", "other_agent", "admin", "other_org_admin", "supervisor"},
    "chat.sync": {"agent", "admin"},
    "message.send": {"agent"},
    "typing": {"agent"},
    "read": {"agent"},
    "chat.close": {"agent", "admin"},
    "chat.transfer": {"agent", "admin"},
    "chat.escalate": {"agent", "admin"},
    # The call is Alex's; Sam supervises the Billing group, which Alex is in.
    "supervise.list": {"admin", "other_org_admin", "supervisor"},
    "supervise.join": {"admin", "supervisor"},
    "supervise.mode": {"admin", "supervisor"},
    "supervise.leave": {"admin", "supervisor"},
    "supervise.ice_servers": {"admin", "supervisor"},
}
CALL_EVENTS = {
    "call.start": {"customer", "agent"},
    "call.accept": {"customer", "agent"},
    "call.decline": {"customer", "agent"},
    "call.hangup": {"customer", "agent"},
    "call.get": {"customer", "agent", "admin"},
    "call.ice_servers": {"customer", "agent"},
    "call.join": {"customer", "agent"},
    "call.media": {"customer", "agent"},
    "call.stats": {"customer", "agent"},
    "call.annotate": {"agent"},
    "call.downgrade": {"agent"},
    "call.record": {"agent"},
}
REFUSALS = {"not_found", "forbidden"}


def payloads(chat_id: int, call_id: int, group_id: int, offer: str) -> dict[str, Any]:
    call = {"call_id": call_id}
    return {
        "chat.start": {"chat_id": chat_id},
        "chat.sync": {"chat_id": chat_id},
        "message.send": {"chat_id": chat_id, "client_msg_id": "roles-1", "text": "hello"},
        "typing": {"chat_id": chat_id},
        "read": {"chat_id": chat_id, "seq": 1},
        "chat.end": {"chat_id": chat_id},
        "chat.close": {"chat_id": chat_id},
        "csat.submit": {"chat_id": chat_id, "score": 5},
        "bot.solved": {"chat_id": chat_id},
        "bot.human": {"chat_id": chat_id},
        "chat.transfer": {"chat_id": chat_id, "to_group_id": group_id},
        "chat.escalate": {"chat_id": chat_id},
        "presence.set": {"status": "online"},
        "console.state": {},
        "call.start": {"chat_id": chat_id, "media": "audio"},
        "call.accept": call,
        "call.decline": call,
        "call.hangup": call,
        "call.get": call,
        "call.ice_servers": call,
        "call.join": {
            **call,
            "offer": offer,
            "tracks": {"0": "audio", "1": "camera", "2": "screen"},
        },
        "call.media": {**call, "audio": True},
        "call.stats": {**call, "rtt_ms": 20, "jitter_ms": 2, "loss_pct": 0, "bitrate_kbps": 300},
        "call.annotate": {
            **call,
            "kind": "pointer",
            "surface": "customer_screen",
            "points": [[0.5, 0.5]],
        },
        "call.downgrade": {**call, "to": "audio"},
        "call.record": {**call, "action": "pause"},
        "supervise.list": None,
        "supervise.join": {**call, "offer": offer, "tracks": {}, "sources": {}},
        "supervise.mode": {**call, "mode": "whisper"},
        "supervise.leave": call,
        "supervise.ice_servers": call,
    }


async def other_org_admin(server: Server) -> Staff:
    password = "other-org-admin-password"
    async with server.runtime.db.write() as conn:
        org = await org_store.create_org(conn, slug="other", name="Other Co")
        await user_store.create_user(
            conn,
            org_id=org["id"],
            email="admin@other.example",
            name="Otto Admin",
            role=Role.ADMIN,
            password_hash=await server.runtime.passwords.hash(password),
        )
    admin = Staff(server.url)
    await admin.sign_in("admin@other.example", password)
    await admin.connect()
    return admin


async def refused_connect(server: Server, namespace: str, token: str | None) -> dict[str, Any]:
    """The connect error a namespace answers this token with (the connect must fail)."""
    client = socketio.AsyncClient(reconnection=False)
    errors: list[Any] = []
    client.on("connect_error", errors.append, namespace=namespace)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            server.url,
            namespaces=[namespace],
            auth={"token": token},
            transports=["websocket"],
            wait_timeout=5,
        )
    await client.disconnect()
    assert len(errors) == 1 and isinstance(errors[0], dict), f"{namespace}: no reason given"
    return dict(errors[0])


async def test_no_role_succeeds_where_it_may_not(tmp_path: Path) -> None:
    server, runner = await start_server(tmp_path / "d")
    people: list[Participant] = []
    try:
        agent = await server.staff("agent1@demo.local")
        customer = await server.customer(name="Owner", topic="billing")
        people += [agent, customer]
        await customer.say("my chat")
        await agent.next("chat.assigned")
        call = await customer.request("call.start", {"chat_id": customer.chat_id})
        await agent.request("call.accept", {"call_id": call["id"]})
        other_customer = await server.customer(name="Stranger")
        other_agent = await server.staff("agent2@demo.local")
        admin = await server.staff("admin@demo.local")
        foreign_admin = await other_org_admin(server)
        supervisor = await server.staff("supervisor@demo.local")
        people += [other_customer, other_agent, admin, foreign_admin, supervisor]
        async with server.runtime.db.read() as conn:
            groups = await org_store.list_groups(conn, 1)
        technical = next(g["id"] for g in groups if g["name"] == "Technical")
        bodies = payloads(customer.chat_id, call["id"], technical, await three_line_offer())

        namespaces = server.runtime.sio.namespace_handlers
        customer_table = {**CUSTOMER_EVENTS, **CALL_EVENTS}
        staff_table = {**STAFF_EVENTS, **CALL_EVENTS}
        assert set(namespaces["/customer"].events) == set(customer_table), "a row per event"
        assert set(namespaces["/agent"].events) == set(staff_table), "a row per event"

        tried = refused = 0
        sockets: list[tuple[str, Participant, dict[str, set[str]]]] = [
            ("customer", customer, customer_table),
            ("other_customer", other_customer, customer_table),
            ("agent", agent, staff_table),
            ("other_agent", other_agent, staff_table),
            ("admin", admin, staff_table),
            ("other_org_admin", foreign_admin, staff_table),
            ("supervisor", supervisor, staff_table),
        ]
        for role, person, table in sockets:
            for event, allowed in sorted(table.items()):
                if role in allowed:
                    continue  # the owners' own use is tested elsewhere; here: the others
                tried += 1
                ack = await person.raw_ack(event, bodies[event])
                assert ack["ok"] is False, (role, event, ack)
                assert ack["error"]["code"] in REFUSALS, (role, event, ack)
                refused += 1
        # What the allowed-but-foreign admin sees of itself leaks nothing of the demo org.
        state = await foreign_admin.request("console.state", {})
        assert state["chats"] == [] and all(
            q.get("chats", []) == [] for q in state.get("queues", [])
        ), state

        # Tokens that must not open any namespace at all.
        qa = Staff(server.url)
        await qa.sign_in("qa@demo.local", server.passwords["qa@demo.local"])
        revoked = Staff(server.url)
        await revoked.sign_in("agent2@demo.local", server.passwords["agent2@demo.local"])
        await revoked.rest("POST", "/api/auth/logout")
        people += [qa, revoked]
        forged = jwt.encode(
            {
                "sub": "1",
                "role": "admin",
                "org": 1,
                "sid": "x",
                "iss": "liveassist",
                "iat": 1,
                "exp": 9_999_999_999,
            },
            "not-the-server-secret-at-all-0123456789",
            algorithm="HS256",
        )
        expired, _ = server.runtime.signer.issue_staff(
            user_id=UserId(1), org_id=OrgId(1), role=Role.ADMIN, session_id="s", ttl=-5
        )
        for namespace, token, code in (
            ("/agent", qa.token, "forbidden"),
            ("/customer", qa.token, "forbidden"),
            ("/customer", agent.token, "forbidden"),
            ("/agent", customer.token, "forbidden"),
            ("/agent", revoked.token, "unauthenticated"),
            ("/agent", forged, "unauthenticated"),
            ("/customer", forged, "unauthenticated"),
            ("/agent", expired, "token_expired"),
            ("/agent", None, "unauthenticated"),
            ("/customer", None, "unauthenticated"),
        ):
            tried += 1
            refusal = await refused_connect(server, namespace, token)
            assert refusal["data"]["code"] == code, (namespace, code, refusal)
            refused += 1
        expected = sum(
            1 for role, _, table in sockets for allowed in table.values() if role not in allowed
        )
        assert tried == refused == expected + 10, (tried, refused, expected)
        # The owners' call is untouched by all of it.
        state = await agent.request("call.get", {"call_id": call["id"]})
        assert state["state"] == "active"
    finally:
        await asyncio.gather(*(p.close() for p in people), return_exceptions=True)
        await runner.cleanup()
