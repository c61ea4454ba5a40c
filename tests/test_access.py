"""Every role refused where it must be: tokens, namespaces, ownership, origins."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import aiohttp
import jwt
import pytest
import socketio

from loadtest.clients import Customer, ProtocolError, Staff
from signaling.auth.identity import sign_identity
from signaling.types import OrgId, Role, UserId
from tests.conftest import Server, start_server
from tests.records import ended_call_in
from tests.test_socket_roles import refused_connect

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


async def _status(url: str, path: str, token: str | None = None, **kw: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers.update(kw.pop("headers", {}))  # type: ignore[arg-type]
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            str(kw.pop("method", "GET")),
            url + path,
            headers=headers,
            **kw,  # type: ignore[arg-type]
        ) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def test_rest_refuses_missing_forged_and_expired_tokens(server: Server) -> None:
    status, body = await _status(server.url, "/api/tickets")
    assert status == 401 and body["error"]["code"] == "unauthenticated"
    forged = jwt.encode(
        {
            "sub": "1",
            "role": "admin",
            "org": 1,
            "sid": "x",
            "iss": "liveassist",
            "iat": 1,
            "exp": 9999999999,
        },
        "not-the-server-secret-at-all-0123456789",
        algorithm="HS256",
    )
    status, body = await _status(server.url, "/api/tickets", forged)
    assert status == 401 and "signature" in body["error"]["message"].lower()
    expired, _ = server.runtime.signer.issue_staff(
        user_id=UserId(1), org_id=OrgId(1), role=Role.ADMIN, session_id="s", ttl=-5
    )
    status, body = await _status(server.url, "/api/tickets", expired)
    assert status == 401 and body["error"]["code"] == "token_expired"
    status, body = await _status(server.url, "/api/tickets", "garbage")
    assert status == 401 and body["error"]["code"] == "unauthenticated"


async def test_socket_connect_refused_with_reason(server: Server) -> None:
    customer = Customer(server.url)
    await customer.open_chat(name="Guest")
    staff = Staff(server.url)
    await staff.sign_in("agent1@demo.local", server.passwords["agent1@demo.local"])
    cases = [
        ("/agent", None, "missing token"),
        ("/agent", "nonsense", "invalid token"),
        ("/agent", customer.token, "/agent is for"),
        ("/customer", staff.token, "/customer is for"),
    ]
    for namespace, token, reason in cases:
        refusal = await refused_connect(server, namespace, token)
        assert reason in refusal["message"], refusal
        assert refusal["data"]["code"] in ("unauthenticated", "forbidden")
    qa = Staff(server.url)
    await qa.sign_in("qa@demo.local", server.passwords["qa@demo.local"])
    qa_errors: list[dict] = []  # type: ignore[type-arg]
    qa.sio.on("connect_error", qa_errors.append, namespace="/agent")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await qa.connect()
    assert "/agent is for admin, agent, supervisor; this token is qa" in qa_errors[0]["message"]
    for person in (customer, staff, qa):
        await person.close()


async def test_customers_see_only_their_own_chat(server: Server) -> None:
    alice = await server.customer(name="Alice")
    bob = await server.customer(name="Bob")
    try:
        await alice.say("private")
        for event, payload in [
            ("chat.sync", {"chat_id": alice.chat_id}),
            ("message.send", {"chat_id": alice.chat_id, "client_msg_id": "x", "text": "hi"}),
            ("typing", {"chat_id": alice.chat_id}),
            ("chat.end", {"chat_id": alice.chat_id}),
        ]:
            with pytest.raises(ProtocolError) as refused:
                await bob.request(event, payload)
            assert refused.value.code == "not_found"
        assert (await _status(server.url, f"/api/chats/{alice.chat_id}", bob.token))[0] == 404
        assert (await _status(server.url, f"/api/chats/{bob.chat_id}", bob.token))[0] == 200
        assert (await _status(server.url, "/api/tickets", bob.token))[0] == 403
        assert (await _status(server.url, "/api/customers", bob.token))[0] == 403
    finally:
        await alice.close()
        await bob.close()


async def test_agents_see_their_groups_qa_reads_admin_manages(server: Server) -> None:
    a1 = await server.staff("agent1@demo.local")  # Billing, Technical, General
    customer = await server.customer(name="Bill", topic="billing")
    a2 = Staff(server.url)  # Technical, General only
    await a2.sign_in("agent2@demo.local", server.passwords["agent2@demo.local"])
    qa = Staff(server.url)
    await qa.sign_in("qa@demo.local", server.passwords["qa@demo.local"])
    admin = Staff(server.url)
    await admin.sign_in("admin@demo.local", server.passwords["admin@demo.local"])
    try:
        await customer.say("refund please")
        await a1.next("chat.assigned")
        chat_path = f"/api/chats/{customer.chat_id}"
        ticket_path = f"/api/tickets/{customer.session['chat']['ticket_id']}"
        assert (await _status(server.url, chat_path, a1.token))[0] == 200
        assert (await _status(server.url, chat_path, a2.token))[0] == 404
        assert (await _status(server.url, ticket_path, a2.token))[0] == 404
        listed = (await _status(server.url, "/api/tickets", a2.token))[1]
        assert customer.session["chat"]["ticket_id"] not in [t["id"] for t in listed["items"]]
        assert (await _status(server.url, ticket_path, qa.token))[0] == 200
        status, body = await _status(
            server.url, ticket_path, qa.token, method="PATCH", json={"status": "pending"}
        )
        assert status == 403 and body["error"]["code"] == "forbidden"
        assert (await _status(server.url, "/api/users", a1.token))[0] == 403
        assert (await _status(server.url, "/api/audit", qa.token))[0] == 403
        assert (await _status(server.url, "/api/users", admin.token))[0] == 200
        with pytest.raises(ProtocolError) as refused:
            await a2.connect()
            await a2.request(
                "message.send", {"chat_id": customer.chat_id, "client_msg_id": "z", "text": "hi"}
            )
        assert refused.value.code == "not_found"
    finally:
        for person in (customer, a1, a2, qa, admin):
            await person.close()


async def test_logout_and_deactivation_end_access(server: Server) -> None:
    agent = await server.staff("agent2@demo.local")
    admin = await server.staff("admin@demo.local")
    try:
        await agent.rest("POST", "/api/auth/logout")
        assert (await agent.next("session.revoked"))["reason"] == "signed out"
        status, body = await _status(server.url, "/api/me", agent.token)
        assert status == 401 and body["error"]["message"] == "signed out"
        again = Staff(server.url)
        await again.sign_in("agent2@demo.local", server.passwords["agent2@demo.local"])
        await admin.rest("PATCH", f"/api/users/{again.user['id']}", json={"active": False})
        status, body = await _status(server.url, "/api/me", again.token)
        assert status == 401
        status, body = await _status(
            server.url,
            "/api/auth/login",
            method="POST",
            json={"email": "agent2@demo.local", "password": server.passwords["agent2@demo.local"]},
        )
        assert status == 401 and body["error"]["message"] == "wrong email or password"
        audit = await admin.rest("GET", "/api/audit")
        actions = [row["action"] for row in audit["items"]]
        assert {"auth.logout", "user.update", "auth.login_failed", "auth.login"} <= set(actions)
        await again.close()
    finally:
        await agent.close()
        await admin.close()


async def test_refresh_gives_a_new_token_for_the_same_session(server: Server) -> None:
    agent = Staff(server.url)
    signed_in = await agent.sign_in("agent1@demo.local", server.passwords["agent1@demo.local"])
    fresh = await agent.rest("POST", "/api/auth/refresh")
    assert fresh["token"] != agent.token and fresh["session_seconds_left"] > 0
    status, me = await _status(server.url, "/api/me", fresh["token"])
    assert status == 200
    # every expiry is an ISO 8601 UTC timestamp, like every other timestamp (protocol §1)
    customer = Customer(server.url)
    await customer.open_chat(name="Iso")
    guest_fresh = await customer.rest("POST", "/api/widget/refresh")
    for stamp in (
        signed_in["expires_at"],
        fresh["expires_at"],
        me["token_expires_at"],
        customer.session["expires_at"],
        guest_fresh["expires_at"],
    ):
        assert isinstance(stamp, str) and ISO_UTC.fullmatch(stamp), stamp
    left = datetime.fromisoformat(fresh["expires_at"]) - datetime.now(UTC)
    assert 800 < left.total_seconds() <= 900  # the 15-minute token
    await agent.close()
    await customer.close()


async def test_foreign_origins_are_refused_unless_configured(tmp_path) -> None:  # type: ignore[no-untyped-def]
    srv, runner = await start_server(
        tmp_path / "d", server={"allowed_origins": ["https://shop.example"]}
    )
    try:
        status, body = await _status(
            srv.url, "/api/widget/config?org=demo", headers={"Origin": "https://evil.example"}
        )
        assert status == 403 and body["error"]["code"] == "origin_not_allowed"
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                srv.url + "/api/widget/config?org=demo", headers={"Origin": "https://shop.example"}
            ) as resp,
        ):
            assert resp.status == 200
            assert resp.headers["Access-Control-Allow-Origin"] == "https://shop.example"
        customer = Customer(srv.url)
        await customer.open_chat(name="X")
        evil = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await evil.connect(
                srv.url,
                namespaces=["/customer"],
                auth={"token": customer.token},
                headers={"Origin": "https://evil.example"},
                transports=["websocket"],
                wait_timeout=5,
            )
        await evil.disconnect()
        good = socketio.AsyncClient(reconnection=False)
        await good.connect(
            srv.url,
            namespaces=["/customer"],
            auth={"token": customer.token},
            headers={"Origin": "https://shop.example"},
            transports=["websocket"],
            wait_timeout=5,
        )
        assert good.connected
        await good.disconnect()
        await customer.close()
    finally:
        await runner.cleanup()


async def test_host_signed_identity_links_chats_and_forgeries_fail(server: Server) -> None:
    async with server.runtime.db.read() as conn:
        from signaling.store.orgs import org_by_slug

        org = await org_by_slug(conn, "demo")
    assert org is not None
    signature = sign_identity(org["identity_secret"], "crm-42")
    first = Customer(server.url)
    await first.open_chat(name="Known", identity={"external_id": "crm-42", "signature": signature})
    second = Customer(server.url)
    await second.open_chat(identity={"external_id": "crm-42", "signature": signature})
    assert first.session["customer"]["id"] == second.session["customer"]["id"]
    assert first.session["customer"]["identified"] is True
    status, body = await _status(
        server.url,
        "/api/widget/session",
        method="POST",
        json={"org": "demo", "identity": {"external_id": "crm-43", "signature": signature}},
    )
    assert status == 401 and "signature" in body["error"]["message"]
    await first.close()
    await second.close()


async def test_customer_context_shows_only_what_each_staff_member_may_see(server: Server) -> None:
    """agent2 got 404 for agent1's chat, ticket and call directly, yet the customer's context
    panel listed all three (CSAT comment included). One policy now decides both."""
    a1 = await server.staff("agent1@demo.local")  # Billing, Technical, General
    customer = await server.customer(name="Priv", topic="billing")
    a2 = await server.staff("agent2@demo.local", online=False)  # Technical, General
    qa = Staff(server.url)  # REST only: QA has no Socket.IO namespace
    await qa.sign_in("qa@demo.local", server.passwords["qa@demo.local"])
    admin = await server.staff("admin@demo.local", online=False)
    later = Customer(server.url)
    try:
        await customer.say("refund please")
        assigned = (await a1.next("chat.assigned"))["chat"]
        await a1.request("chat.close", {"chat_id": customer.chat_id})
        await customer.request(
            "csat.submit", {"chat_id": customer.chat_id, "score": 2, "comment": "secret comment"}
        )
        call_id = await ended_call_in(server, assigned)
        # the same customer's next chat waits in the Technical group, which agent2 serves
        await later.open_chat(topic="technical", previous_token=customer.token)
        cid = customer.session["customer"]["id"]
        assert later.session["customer"]["id"] == cid
        ticket_id = assigned["ticket_id"]
        for path in (f"/api/chats/{customer.chat_id}", f"/api/tickets/{ticket_id}"):
            assert (await _status(server.url, path, a2.token))[0] == 404
        assert (await _status(server.url, f"/api/calls/{call_id}", a2.token))[0] == 404

        def seen(panel: dict) -> tuple[set, set, set]:  # type: ignore[type-arg]
            history = panel["history"]
            return (
                {c["id"] for c in history["chats"]},
                {t["id"] for t in history["tickets"]},
                {c["id"] for c in history["calls"]},
            )

        panel = await a2.rest("GET", f"/api/customers/{cid}/context")
        assert seen(panel) == ({later.chat_id}, {later.session["chat"]["ticket_id"]}, set())
        assert "secret comment" not in str(panel)
        everything = (
            {customer.chat_id, later.chat_id},
            {ticket_id, later.session["chat"]["ticket_id"]},
            {call_id},
        )
        for reader in (a1, qa, admin):
            assert seen(await reader.rest("GET", f"/api/customers/{cid}/context")) == everything
        # the list routes agree with the rules the panel applies
        for path, hidden in (
            ("/api/chats", customer.chat_id),
            ("/api/tickets", ticket_id),
            ("/api/calls", call_id),
        ):
            listed = await a2.rest("GET", path)
            assert hidden not in {item["id"] for item in listed["items"]}, path
            assert hidden in {item["id"] for item in (await a1.rest("GET", path))["items"]}
    finally:
        for person in (customer, later, a1, a2, qa, admin):
            await person.close()
