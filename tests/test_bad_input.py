"""Bad input gets a clear error and loses nothing; every other chat keeps flowing."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

import aiohttp
import pytest

from loadtest.clients import ProtocolError
from signaling.errors import InvalidPayload
from signaling.http.api import _string_rules
from signaling.wire import limit, parse
from tests.conftest import Server, start_server


async def _ack_error(client, event: str, *args: object) -> dict:  # type: ignore[no-untyped-def,type-arg]
    ack = await client.raw_ack(event, *args)
    assert ack["ok"] is False, ack
    return dict(ack["error"])


async def test_malformed_events_get_error_acks_and_the_connection_lives(server: Server) -> None:
    agent = await server.staff("agent1@demo.local")
    customer = await server.customer(name="Mallory", topic="billing")
    bystander = await server.customer(name="Bystander", topic="billing")
    try:
        await bystander.say("I am a normal chat")
        chat_id = customer.chat_id
        cases = [
            (("message.send", "just a string"), "invalid_payload", "JSON object"),
            (("message.send", [1, 2]), "invalid_payload", "JSON object"),
            (
                (
                    "message.send",
                    {"chat_id": chat_id, "client_msg_id": "a", "text": "x", "admin": True},
                ),
                "invalid_payload",
                "unknown field(s): admin",
            ),
            (
                ("message.send", {"chat_id": chat_id, "text": "x"}),
                "invalid_payload",
                "missing field: client_msg_id",
            ),
            (
                ("message.send", {"chat_id": "1", "client_msg_id": "a", "text": "x"}),
                "invalid_payload",
                "chat_id must be an integer",
            ),
            (
                ("message.send", {"chat_id": chat_id, "client_msg_id": "a b", "text": "x"}),
                "invalid_payload",
                "client_msg_id has an invalid format",
            ),
            (
                ("message.send", {"chat_id": chat_id, "client_msg_id": "a", "text": "x" * 4001}),
                "invalid_payload",
                "longer than 4000",
            ),
            (
                ("message.send", {"chat_id": chat_id, "client_msg_id": "a", "text": "   "}),
                "invalid_payload",
                "needs text or an attachment",
            ),
            (
                ("message.send", {"chat_id": chat_id, "client_msg_id": "a", "text": "y" * 100_000}),
                "payload_too_large",
                "limit is 16384",
            ),
            (
                ("csat.submit", {"chat_id": chat_id, "score": 9}),
                "invalid_payload",
                "score must be at most 5",
            ),
            (
                ("chat.destroy", {"chat_id": chat_id}),
                "unknown_event",
                "unknown event 'chat.destroy'",
            ),
            (
                ("typing", {"chat_id": chat_id}, {"extra": 1}),
                "invalid_payload",
                "one payload object",
            ),
            (("chat.sync", {"chat_id": -4}), "invalid_payload", "chat_id must be at least 1"),
        ]
        for args, code, text in cases:
            error = await _ack_error(customer, *args)
            assert error["code"] == code and text in error["message"], (args[0], error)
        # still connected and working, nothing stored from the bad events
        ok = await customer.say("a proper message")
        history = await customer.request("chat.sync", {"chat_id": chat_id})
        mine = [m["text"] for m in history["messages"] if m["sender"]["type"] == "customer"]
        assert mine == ["a proper message"]
        assert ok["seq"] == 1
        # the other chat kept flowing throughout
        await agent.next("chat.assigned", where=lambda a: a["chat"]["id"] == bystander.chat_id)
        await agent.say(bystander.chat_id, "hello bystander")
        assert (await bystander.next("message", where=lambda m: m["sender"]["type"] == "agent"))[
            "text"
        ] == "hello bystander"
    finally:
        for person in (agent, customer, bystander):
            await person.close()


async def test_floods_are_rate_limited_per_connection_not_for_others(tmp_path) -> None:  # type: ignore[no-untyped-def]
    srv, runner = await start_server(
        tmp_path / "d", limits={"events_per_second": 5.0, "event_burst": 10}
    )
    try:
        flooder = await srv.customer(name="Flood")
        calm = await srv.customer(name="Calm")
        results = await asyncio.gather(
            *(flooder.raw_ack("typing", {"chat_id": flooder.chat_id}) for _ in range(30))
        )
        limited = [r for r in results if not r["ok"]]
        assert 15 <= len(limited) <= 20, len(limited)
        assert limited[0]["error"]["code"] == "rate_limited"
        assert limited[0]["error"]["details"]["retry_after"] > 0
        assert (await calm.say("unaffected"))["text"] == "unaffected"
        await asyncio.sleep(1.0)
        assert (await flooder.say("after a pause"))["text"] == "after a pause"
        await flooder.close()
        await calm.close()
    finally:
        await runner.cleanup()


async def test_rest_rejects_malformed_bodies_and_queries(server: Server) -> None:
    admin = await server.staff("admin@demo.local")
    try:
        async with aiohttp.ClientSession(headers=admin.headers()) as http:
            async with http.patch(
                server.url + "/api/tickets/1",
                data=b"{not json",
                headers={"Content-Type": "application/json"},
            ) as resp:
                assert (
                    resp.status == 400 and (await resp.json())["error"]["code"] == "invalid_payload"
                )
            async with http.patch(
                server.url + "/api/tickets/1", data=b"[" + b"1," * 40000 + b"1]"
            ) as resp:
                assert (
                    resp.status == 413
                    and (await resp.json())["error"]["code"] == "payload_too_large"
                )
            async with http.get(server.url + "/api/tickets?status=lost") as resp:
                body = await resp.json()
                assert resp.status == 400 and "status must be one of" in body["error"]["message"]
            async with http.get(server.url + "/api/tickets?page=abc") as resp:
                assert (
                    resp.status == 400
                    and "page must be an integer" in (await resp.json())["error"]["message"]
                )
            async with http.get(server.url + "/api/tickets?drop_table=1") as resp:
                assert (
                    resp.status == 400
                    and "unknown field(s): drop_table" in (await resp.json())["error"]["message"]
                )
            async with http.get(server.url + "/api/tickets/abc") as resp:
                assert resp.status == 400
            async with http.get(server.url + "/api/no/such/route") as resp:
                assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"
    finally:
        await admin.close()


async def test_login_failures_are_rate_limited(server: Server) -> None:
    async with aiohttp.ClientSession() as http:
        statuses = []
        for _ in range(7):
            async with http.post(
                server.url + "/api/auth/login",
                json={"email": "agent1@demo.local", "password": "wrong-password-1"},
            ) as resp:
                statuses.append(resp.status)
                last = resp
        assert statuses[:5] == [401] * 5 and statuses[5:] == [429, 429]
        assert int(last.headers["Retry-After"]) >= 1
        # the right password is refused too while this address waits (no known-device token)
        async with http.post(
            server.url + "/api/auth/login",
            json={"email": "agent1@demo.local", "password": server.passwords["agent1@demo.local"]},
        ) as resp:
            assert resp.status == 429


async def test_guest_session_validation(server: Server) -> None:
    async with aiohttp.ClientSession() as http:
        for body, text in [
            ({"org": "demo", "topic": "astrology"}, "unknown topic"),
            ({"org": "nope"}, "no organisation"),
            ({"org": "demo", "language": "english!"}, "language has an invalid format"),
            ({"org": "demo", "email": "not-an-email"}, "email has an invalid format"),
            ({"org": "demo", "identity": {"external_id": "x"}}, "missing field: signature"),
        ]:
            async with http.post(server.url + "/api/widget/session", json=body) as resp:
                assert resp.status in (400, 404), body
                assert text in (await resp.json())["error"]["message"]


async def test_unknown_chat_and_ended_chat_are_refused(server: Server) -> None:
    customer = await server.customer(name="Ender")
    try:
        await customer.say("bye soon")
        await customer.request("chat.end", {"chat_id": customer.chat_id})
        with pytest.raises(ProtocolError) as refused:
            await customer.say("after the end")
        assert refused.value.code == "conflict"
    finally:
        await customer.close()


async def test_ids_beyond_the_database_range_are_invalid_payload(server: Server) -> None:
    """A group id of 10**20 in POST /api/users answered 500 (SQLite cannot bind it; on
    PostgreSQL any id over 2**31-1 did): ids are bounded as input, and documented so."""
    admin = await server.staff("admin@demo.local", online=False)
    too_big = 2**31
    try:
        for method, path, body in [
            (
                "POST",
                "/api/users",
                {
                    "email": "big@demo.local",
                    "name": "Big",
                    "role": "agent",
                    "password": "a-long-password-1",
                    "group_ids": [10**20],
                },
            ),
            ("PATCH", "/api/tickets/1", {"assignee_id": 10**20}),
            ("GET", f"/api/chats/{too_big}", None),
            ("GET", "/api/chats/0", None),
            ("GET", f"/api/tickets?customer_id={too_big}", None),
            ("GET", f"/api/chats/1/messages?after_seq={too_big}", None),
        ]:
            answer = await admin.rest(method, path, json=body, expect=400)
            assert answer["error"]["code"] == "invalid_payload", (path, answer)
        doc = await admin.rest("GET", "/api/openapi.json")
        chat_id = doc["paths"]["/api/chats/{chat_id}"]["get"]["parameters"][0]["schema"]
        assert chat_id == {"type": "integer", "minimum": 1, "maximum": too_big - 1}
    finally:
        await admin.close()


async def test_rest_bodies_with_lone_surrogates_or_nan_are_invalid_payload(server: Server) -> None:
    """Both answered 500 (the surrogate could not be stored or echoed); the strict JSON decoder
    refuses them and the answer says why."""
    async with aiohttp.ClientSession() as http:
        for body, why in [
            (b'{"org": "demo", "name": "\\ud800"}', "lone UTF-16 surrogate"),
            (b'{"org": "demo", "name": NaN}', "NaN"),
        ]:
            async with http.post(
                server.url + "/api/widget/session",
                data=body,
                headers={"Content-Type": "application/json"},
            ) as resp:
                answer = await resp.json()
                assert resp.status == 400 and answer["error"]["code"] == "invalid_payload"
                assert why in answer["error"]["message"]


@pytest.mark.parametrize("text", ["\x1d", " \t", "\ufeff", "\u3000\x85", "\u2028 "])
def test_a_blank_text_is_refused_and_the_documented_pattern_says_so(text: str) -> None:
    """Blank is one rule for the server and the OpenAPI document: a generator that reads the
    document's pattern never makes a text the server calls empty (a control character such
    as U+001D is blank to Python, not to JavaScript: both now call it blank)."""

    @dataclass
    class Titled:
        title: str = field(metadata=limit(max_len=20, min_len=1))

    with pytest.raises(InvalidPayload, match="must not be empty"):
        parse(Titled, {"title": text})
    pattern = _string_rules({"max_len": 20, "min_len": 1})["pattern"]
    assert re.search(pattern, text) is None
    assert re.search(pattern, text + "a") and parse(Titled, {"title": text + "a"})
