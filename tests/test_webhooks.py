"""Signed webhooks end to end: a real server, real chats, a real HTTP receiver on loopback
that checks every signature with the documented recipe. Order per chat, a receiver that is
down for a while, a restart with rows still pending, dead letters and redelivery, the SSRF
refusals and who may manage endpoints."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from loadtest.clients import Customer, Staff
from signaling.config import WebhooksConfig
from signaling.webhooks import signing
from signaling.webhooks.addresses import AddressPolicy, AddressRefused, GuardedResolver
from tests.conftest import Server, start_server
from tests.qa_world import build_world, default_rubric
from tests.reviewable_call import record_reviewable_call
from tests.webhook_receiver import Receiver, chat_of

SECRET = "test-secret-0123456789abcdef"
FAST = {
    "allowed_hosts": ["127.0.0.1"],
    "allow_loopback": True,
    "poll_seconds": 0.1,
    "retry_base_seconds": 0.2,
    "retry_max_seconds": 0.4,
    "timeout_seconds": 2.0,
    "max_age_seconds": 120.0,
}
ALL_TYPES = [
    "chat.created", "chat.assigned", "chat.ended", "ticket.created", "ticket.updated",
    "ticket.escalated", "call.started", "call.answered", "call.ended", "csat.received",
    "recording.ready", "review.done",
]  # fmt: skip


async def admin_of(server: Server) -> Staff:
    return await server.staff("admin@demo.local")


async def add_endpoint(admin: Staff, url: str, **more: Any) -> dict[str, Any]:
    body = {"url": url, "event_types": ALL_TYPES, "secret": SECRET, **more}
    return dict(await admin.rest("POST", "/api/webhooks", json=body, expect=201))


async def chat_journey(server: Server, *, escalate: bool = True) -> int:
    """One whole chat: opened, assigned, escalated, ended by the customer, rated."""
    agent = await server.staff("agent1@demo.local")
    customer = await server.customer(name="Wen", topic="billing", language="en")
    try:
        await customer.say("My invoice is wrong")
        await agent.next("chat.assigned")
        if escalate:
            await agent.request("chat.escalate", {"chat_id": customer.chat_id, "note": "later"})
        await customer.request("chat.end", {"chat_id": customer.chat_id})
        await customer.request("csat.submit", {"chat_id": customer.chat_id, "score": 4})
        return customer.chat_id
    finally:
        await customer.close()
        await agent.close()


JOURNEY = [
    "ticket.created",
    "chat.created",
    "chat.assigned",
    "ticket.updated",  # assignee
    "ticket.updated",  # escalated: tag (and status)
    "ticket.escalated",
    "chat.ended",
    "ticket.updated",  # CSAT on the ticket
    "csat.received",
]


async def test_signed_events_of_a_chat_arrive_in_order(tmp_path: Path) -> None:
    receiver = Receiver(SECRET)
    await receiver.start()
    server, runner = await start_server(tmp_path / "data", webhooks=FAST)
    admin = await admin_of(server)
    try:
        endpoint = await add_endpoint(admin, receiver.url, description="CRM")
        assert endpoint["secret"] == SECRET and endpoint["secret_hint"] == "…cdef"
        listed = await admin.rest("GET", "/api/webhooks")
        assert listed["hosts_allowed"] is True and set(listed["event_types"]) == set(ALL_TYPES)
        assert [e["id"] for e in listed["items"]] == [endpoint["id"]]
        assert "secret" not in listed["items"][0] and SECRET not in str(listed)

        chat_id = await chat_journey(server)
        await receiver.wait_for(lambda: "csat.received" in receiver.types_for_chat(chat_id))
        assert receiver.types_for_chat(chat_id) == JOURNEY
        ids = set()
        for got in receiver.got:
            assert got.verified is None, got.verified
            event = got.event
            assert event["version"] == 1 and event["org_id"] == admin.user["org_id"]
            assert got.headers[signing.EVENT_ID_HEADER] == event["id"]
            assert got.headers[signing.EVENT_TYPE_HEADER] == event["type"]
            assert got.headers[signing.DELIVERY_HEADER].isdigit()
            assert got.headers[signing.SIGNATURE_HEADER].startswith("v1=")
            assert event["occurred_at"].endswith("Z")
            ids.add(event["id"])
        assert len(ids) == len(receiver.got)  # nothing was sent twice
        # a tampered body or a wrong secret fails the same recipe
        first = receiver.got[0]
        with pytest.raises(signing.BadSignature):
            signing.verify(SECRET, first.headers, first.body + b" ")
        with pytest.raises(signing.BadSignature):
            signing.verify("another-secret-entirely", first.headers, first.body)
        with pytest.raises(signing.BadSignature, match="replay window"):
            late = int(first.headers[signing.TIMESTAMP_HEADER]) + 301
            signing.verify(SECRET, first.headers, first.body, now=late)

        by_type = {e["type"]: e["data"] for e in receiver.accepted()}
        assert by_type["chat.ended"]["chat"]["end_reason"] == "customer_ended"
        assert by_type["chat.assigned"]["assignee"]["name"] == "Alex Agent"
        assert by_type["csat.received"]["csat"] == {"score": 4, "comment": None}
        assert by_type["ticket.escalated"]["ticket"]["status"] == "open"
        updated = [e["data"] for e in receiver.accepted() if e["type"] == "ticket.updated"]
        assert updated[-1]["changes"] == [
            {"field": "csat_score", "old": None, "new": 4},
        ]
        # every delivery is recorded as delivered; the audit log has the endpoint's creation
        page = await admin.rest("GET", "/api/webhooks/deliveries?state=delivered")
        assert page["total"] == len(JOURNEY) and all(d["attempts"] == 1 for d in page["items"])
        audit = await admin.rest("GET", "/api/audit?action=webhook.create")
        assert audit["items"][0]["target_id"] == endpoint["id"]
        assert SECRET not in str(audit)
    finally:
        await admin.close()
        await runner.cleanup()
        await receiver.stop()


async def test_an_unsubscribed_or_disabled_endpoint_gets_nothing(tmp_path: Path) -> None:
    receiver = Receiver(SECRET)
    await receiver.start()
    server, runner = await start_server(tmp_path / "data", webhooks=FAST)
    admin = await admin_of(server)
    try:
        only_csat = await add_endpoint(admin, receiver.url, event_types=["csat.received"])
        chat_id = await chat_journey(server, escalate=False)
        await receiver.wait_for(lambda: receiver.types_for_chat(chat_id) == ["csat.received"])
        await admin.rest("PATCH", f"/api/webhooks/{only_csat['id']}", json={"enabled": False})
        await chat_journey(server, escalate=False)
        await asyncio.sleep(1.0)
        assert len(receiver.got) == 1
        changed = await admin.rest("GET", "/api/audit?action=webhook.update")
        assert changed["items"][0]["detail"] == {"fields": ["enabled"], "enabled": False}
    finally:
        await admin.close()
        await runner.cleanup()
        await receiver.stop()


async def test_a_receiver_down_for_a_while_gets_everything_once_back(tmp_path: Path) -> None:
    receiver = Receiver(SECRET, status=500)
    await receiver.start()
    server, runner = await start_server(tmp_path / "data", webhooks=FAST)
    admin = await admin_of(server)
    try:
        await add_endpoint(admin, receiver.url)
        first = await chat_journey(server)
        await receiver.wait_for(lambda: len(receiver.got) >= 3)  # failing, retried
        await receiver.stop()  # and now not even listening
        second = await chat_journey(server)
        await asyncio.sleep(1.0)
        receiver.status = 200
        await receiver.start()
        await receiver.wait_for(
            lambda: (
                "csat.received" in receiver.types_for_chat(first)
                and "csat.received" in receiver.types_for_chat(second)
            ),
            timeout=30,
        )
        assert receiver.types_for_chat(first) == JOURNEY
        assert receiver.types_for_chat(second) == JOURNEY
        accepted = [e["id"] for e in receiver.accepted()]
        assert len(accepted) == len(set(accepted)) == 2 * len(JOURNEY)  # each once
        failed = [r for r in receiver.got if r.answered == 500]
        # the first event was tried again and again with the same id (at least once)
        retried = [r.event["id"] for r in failed]
        assert retried and set(retried) <= set(accepted)
        assert all(r.verified is None for r in receiver.got)
        attempts = [int(r.headers[signing.ATTEMPT_HEADER]) for r in receiver.got]
        assert max(attempts) >= 3
    finally:
        await admin.close()
        await runner.cleanup()
        await receiver.stop()


async def test_rows_pending_at_shutdown_go_out_after_a_restart(tmp_path: Path) -> None:
    receiver = Receiver(SECRET)  # not listening yet
    server, runner = await start_server(tmp_path / "data", webhooks=FAST)
    port = int(server.url.rsplit(":", 1)[1])
    admin = await admin_of(server)
    await add_endpoint(admin, receiver.url)
    chat_id = await chat_journey(server)
    await admin.close()
    await runner.cleanup()
    await receiver.start()
    server, runner = await start_server(tmp_path / "data", webhooks=FAST, server={"port": port})
    try:
        await receiver.wait_for(lambda: "csat.received" in receiver.types_for_chat(chat_id))
        assert receiver.types_for_chat(chat_id) == JOURNEY
        assert all(r.verified is None for r in receiver.got)
    finally:
        await runner.cleanup()
        await receiver.stop()


async def test_dead_letters_are_shown_and_redelivered(tmp_path: Path) -> None:
    receiver = Receiver(SECRET, status=500)
    await receiver.start()
    hooks = {**FAST, "max_age_seconds": 1.5}
    server, runner = await start_server(tmp_path / "data", webhooks=hooks)
    admin = await admin_of(server)
    try:
        endpoint = await add_endpoint(admin, receiver.url, event_types=["chat.created"])
        customer = await server.customer(name="Dee", topic="general", language="en")
        await customer.close()

        async def dead() -> list[dict[str, Any]]:
            page = await admin.rest("GET", "/api/webhooks/deliveries?state=dead")
            return list(page["items"])

        for _ in range(100):
            if await dead():
                break
            await asyncio.sleep(0.1)
        [letter] = await dead()
        assert letter["event_type"] == "chat.created" and letter["attempts"] >= 2
        assert letter["last_status"] == 500 and letter["last_error"].startswith("HTTP 500")
        assert letter["event"]["data"]["chat"]["id"] == customer.chat_id
        shown = await admin.rest("GET", f"/api/webhooks/{endpoint['id']}")
        assert shown["dead"] == 1 and shown["pending"] == 0
        tries = len(receiver.got)
        await asyncio.sleep(0.6)
        assert len(receiver.got) == tries  # dead: no more attempts

        receiver.status = 200
        again = await admin.rest(
            "POST", f"/api/webhooks/deliveries/{letter['id']}/redeliver", json={}
        )
        assert again["state"] == "pending"
        await receiver.wait_for(lambda: bool(receiver.accepted()))
        assert receiver.accepted()[0]["id"] == letter["event_id"]  # the same event
        async with aiohttp.ClientSession() as http, http.get(f"{server.url}/metrics") as resp:
            metrics = await resp.text()
        for outcome, count in (("failed", tries - 1), ("dead", 1), ("delivered", 1)):
            line = f'liveassist_webhook_attempts_total{{outcome="{outcome}"}} {count}.0'
            assert line in metrics, (line, metrics)
        conflict = await admin.rest(
            "POST", f"/api/webhooks/deliveries/{letter['id']}/redeliver", json={}, expect=409
        )
        assert conflict["error"]["code"] == "conflict"
        audit = await admin.rest("GET", "/api/audit?action=webhook.redeliver")
        assert audit["items"][0]["target_id"] == letter["id"]
        gone = await admin.rest("DELETE", f"/api/webhooks/{endpoint['id']}")
        assert gone == {"deleted": True, "deliveries": 1}
        await admin.rest("GET", f"/api/webhooks/{endpoint['id']}", expect=404)
        audit = await admin.rest("GET", "/api/audit?action=webhook.delete")
        assert audit["items"][0]["detail"]["url"] == receiver.url
    finally:
        await admin.close()
        await runner.cleanup()
        await receiver.stop()


MALFORMED = [  # 400 invalid_payload: not a URL webhooks can use at all
    ("ftp://127.0.0.1/hook", "only http:// and https://"),
    ("javascript:alert(1)", "only http:// and https://"),
    ("http://user:pw@hooks.example.com/", "passwords in the URL"),
    ("http://hooks.example.com/a b", "printable ASCII"),
]
REFUSED = [  # 403 url_not_allowed: well-formed, but not a destination this server allows
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("http://169.254.10.1/", "link-local"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://[::ffff:169.254.169.254]/", "cloud metadata"),
    ("http://metadata.google.internal/", "cloud metadata"),
    ("http://evil.example.org/hook", "not allowed by the configuration"),
    ("http://127.0.0.1:9/hook", "loopback"),
    ("http://localhost:9/hook", "resolves to 127.0.0.1 is a loopback"),
    ("http://10.1.2.3/hook", "private address"),
]


async def test_urls_webhooks_may_not_reach_are_refused_with_the_reason(tmp_path: Path) -> None:
    # the metadata and link-local networks are listed, and still refused
    hosts = ["hooks.example.com", "localhost", "127.0.0.1", "10.0.0.0/8", "169.254.0.0/16"]
    server, runner = await start_server(
        tmp_path / "data", webhooks={"allowed_hosts": hosts, "allow_loopback": False}
    )
    admin = await admin_of(server)
    try:
        groups = [(MALFORMED, 400, "invalid_payload"), (REFUSED, 403, "url_not_allowed")]
        for cases, status, code in groups:
            for url, reason in cases:
                body = {"url": url, "event_types": ["chat.created"]}
                answer = await admin.rest("POST", "/api/webhooks", json=body, expect=status)
                assert answer["error"]["code"] == code, (url, answer)
                assert answer["error"]["details"] == {"field": "url"}, (url, answer)
                assert reason in answer["error"]["message"], (url, answer)
        made = await admin.rest(
            "POST",
            "/api/webhooks",
            json={"url": "https://hooks.example.com/in", "event_types": ["csat.received"]},
            expect=201,
        )
        assert made["secret"].startswith("whsec_") and made["secret_hint"].endswith(
            made["secret"][-4:]
        )
        patched = await admin.rest(
            "PATCH",
            f"/api/webhooks/{made['id']}",
            json={"url": "http://169.254.169.254/"},
            expect=403,
        )
        assert "cloud metadata" in patched["error"]["message"]
        short = await admin.rest(
            "PATCH", f"/api/webhooks/{made['id']}", json={"secret": "short"}, expect=400
        )
        assert short["error"]["details"] == {"field": "secret"}
        assert (await admin.rest("GET", "/api/webhooks"))["items"][0]["url"] == made["url"]
    finally:
        await admin.close()
        await runner.cleanup()


async def test_with_no_allowed_hosts_nothing_can_be_added(server: Server) -> None:
    admin = await admin_of(server)
    try:
        assert (await admin.rest("GET", "/api/webhooks"))["hosts_allowed"] is False
        body = {"url": "https://crm.example.com/hook", "event_types": ["chat.created"]}
        answer = await admin.rest("POST", "/api/webhooks", json=body, expect=403)
        assert answer["error"]["code"] == "url_not_allowed"
        assert "webhooks.allowed_hosts" in answer["error"]["message"]
    finally:
        await admin.close()


async def test_a_name_resolving_to_a_refused_address_is_refused_at_delivery() -> None:
    """DNS rebinding: the connection's own resolution is checked, not only the saved URL."""
    policy = AddressPolicy(WebhooksConfig(allowed_hosts=["localhost"], allow_loopback=False))
    resolver = GuardedResolver(policy)
    try:
        with pytest.raises(AddressRefused, match="loopback"):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()
    allowed = GuardedResolver(AddressPolicy(WebhooksConfig(allow_loopback=True)))
    try:
        found = await allowed.resolve("localhost", 80)
        assert ipaddress.ip_address(found[0]["host"]).is_loopback
    finally:
        await allowed.close()


async def test_only_admins_manage_webhooks(tmp_path: Path) -> None:
    server, runner = await start_server(tmp_path / "data", webhooks=FAST)
    admin = await admin_of(server)
    qa = Staff(server.url)  # QA reviewers use REST only (no /agent socket)
    await qa.sign_in("qa@demo.local", server.passwords["qa@demo.local"])
    others: list[Staff | Customer] = [
        await server.staff("agent1@demo.local"),
        qa,
        await server.customer(name="Cy", topic="general", language="en"),
    ]
    try:
        made = await add_endpoint(admin, "http://127.0.0.1:9/hook")
        routes = [
            ("GET", "/api/webhooks", None),
            ("POST", "/api/webhooks", {"url": "http://127.0.0.1:9/", "event_types": ALL_TYPES}),
            ("GET", f"/api/webhooks/{made['id']}", None),
            ("PATCH", f"/api/webhooks/{made['id']}", {"enabled": False}),
            ("DELETE", f"/api/webhooks/{made['id']}", None),
            ("GET", "/api/webhooks/deliveries", None),
            ("POST", "/api/webhooks/deliveries/1/redeliver", {}),
        ]
        for person in others:
            for method, path, body in routes:
                answer = await person.rest(method, path, json=body, expect=403)
                assert answer["error"]["code"] == "forbidden", (method, path)
        assert [e["id"] for e in (await admin.rest("GET", "/api/webhooks"))["items"]] == [
            made["id"]
        ]
    finally:
        for person in others:
            await person.close()
        await admin.close()
        await runner.cleanup()


def test_chat_of_reads_each_body_kind() -> None:
    assert chat_of({"data": {"chat": {"id": 3}}}) == 3
    assert chat_of({"data": {"call": {"chat_id": 4}}}) == 4
    assert chat_of({"data": {"csat": {}, "chat_id": 5}}) == 5


async def test_call_events_carry_the_end_reason_and_quality(tmp_path: Path) -> None:
    receiver = Receiver(SECRET)
    await receiver.start()
    server, runner = await start_server(tmp_path / "data", webhooks=FAST)
    admin = await admin_of(server)
    agent = await server.staff("agent1@demo.local")
    customer = await server.customer(name="Cal", topic="billing", language="en")
    try:
        kinds = ["call.started", "call.answered", "call.ended", "chat.ended"]
        await add_endpoint(admin, receiver.url, event_types=kinds)
        await customer.say("Can we talk?")
        await agent.next("chat.assigned")
        call = await customer.request("call.start", {"chat_id": customer.chat_id, "media": "audio"})
        await agent.next("call.ringing")
        await agent.request("call.accept", {"call_id": call["id"]})
        stats = {"call_id": call["id"], "rtt_ms": 40, "jitter_ms": 5, "loss_pct": 0.5}
        stats["bitrate_kbps"] = 40
        await customer.request("call.stats", stats)
        await agent.request("call.stats", {**stats, "rtt_ms": 900, "loss_pct": 12})
        await agent.request("call.hangup", {"call_id": call["id"]})
        await customer.request("chat.end", {"chat_id": customer.chat_id})
        chat_id = customer.chat_id
        await receiver.wait_for(lambda: "chat.ended" in receiver.types_for_chat(chat_id))
        assert receiver.types_for_chat(chat_id) == kinds
        ended = receiver.accepted()[2]["data"]["call"]
        assert ended["id"] == call["id"] and ended["end_reason"] == "hung_up"
        assert ended["ended_by"] == "agent" and ended["duration_seconds"] is not None
        quality = ended["quality"]
        assert quality["customer"]["samples"] == 1 and quality["agent"]["samples"] == 1
        assert quality["agent"]["mos_min"] < quality["customer"]["mos_min"]
        assert quality["agent"]["worst_level"] in ("fair", "poor")
        assert receiver.accepted()[1]["data"]["call"]["answered_at"] is not None
    finally:
        await customer.close()
        await agent.close()
        await admin.close()
        await runner.cleanup()
        await receiver.stop()


async def test_delivered_rows_are_deleted_after_keep_delivered_days(tmp_path: Path) -> None:
    receiver = Receiver(SECRET)
    await receiver.start()
    server, runner = await start_server(tmp_path / "data", webhooks=FAST)
    port = int(server.url.rsplit(":", 1)[1])
    admin = await admin_of(server)
    try:
        await add_endpoint(admin, receiver.url, event_types=["chat.created"])
        customer = await server.customer(name="Kim", topic="general", language="en")
        await customer.close()
        await receiver.wait_for(lambda: bool(receiver.accepted()))
    finally:
        await admin.close()
        await runner.cleanup()
    # the next start sweeps what was delivered longer ago than keep_delivered_days (0 here)
    server, runner = await start_server(
        tmp_path / "data",
        webhooks={**FAST, "keep_delivered_days": 0.0},
        server={"port": port},
    )
    admin = await admin_of(server)
    try:
        for _ in range(50):
            page = await admin.rest("GET", "/api/webhooks/deliveries")
            if page["total"] == 0:
                break
            await asyncio.sleep(0.1)
        assert page["total"] == 0
    finally:
        await admin.close()
        await runner.cleanup()
        await receiver.stop()


async def test_a_review_marked_done_is_an_event_of_its_chat(tmp_path: Path) -> None:
    receiver = Receiver(SECRET)
    await receiver.start()
    server, runner = await start_server(tmp_path / "data", webhooks=FAST)
    world = await build_world(server)
    try:
        await add_endpoint(world.admin, receiver.url, event_types=["review.done"])
        await default_rubric(world.admin)
        review = await world.qa.rest("POST", f"/api/calls/{world.call_id}/review", json={})
        body = {"scores": {"c1": 1, "c2": 3}, "summary": "Fine", "state": "done"}
        await world.qa.rest("PATCH", f"/api/reviews/{review['id']}", json=body)
        await receiver.wait_for(lambda: bool(receiver.accepted()))
        [event] = receiver.accepted()
        assert event["type"] == "review.done" and event["data"]["chat_id"] == world.chat["id"]
        done = event["data"]["review"]
        assert done["id"] == review["id"] and done["call_id"] == world.call_id
        assert done["score"] == 62.5 and done["state"] == "done"
    finally:
        await world.close()
        await runner.cleanup()
        await receiver.stop()


async def test_a_recording_made_ready_by_its_media_job_is_an_event(tmp_path: Path) -> None:
    """A real recorded call (two aiortc peers through a relay worker, the media job)."""
    receiver = Receiver(SECRET)
    await receiver.start()
    server, runner = await start_server(tmp_path / "data", webhooks=FAST)
    admin = await admin_of(server)
    try:
        await add_endpoint(admin, receiver.url, event_types=["call.ended", "recording.ready"])
        call = await record_reviewable_call(server)
        await receiver.wait_for(lambda: len(receiver.accepted()) == 2, timeout=30)
        assert receiver.types_for_chat(call.chat_id) == ["call.ended", "recording.ready"]
        ready = receiver.accepted()[1]["data"]
        assert ready["recording"]["id"] == call.recording_id
        assert ready["recording"]["call_id"] == call.call_id
        assert ready["recording"]["state"] == "ready" and ready["chat_id"] == call.chat_id
    finally:
        await admin.close()
        await runner.cleanup()
        await receiver.stop()


async def test_an_event_leaves_when_its_change_commits_not_at_the_next_poll(
    tmp_path: Path,
) -> None:
    receiver = Receiver(SECRET)
    await receiver.start()
    hooks = {**FAST, "poll_seconds": 30.0}  # only the commit can wake the sender in time
    server, runner = await start_server(tmp_path / "data", webhooks=hooks)
    admin = await admin_of(server)
    try:
        await add_endpoint(admin, receiver.url, event_types=["chat.created", "chat.assigned"])
        await asyncio.sleep(0.5)  # the sender is idle, waiting for its poll
        agent = await server.staff("agent1@demo.local")
        began = asyncio.get_running_loop().time()
        customer = await server.customer(name="Quick", topic="general", language="en")
        await receiver.wait_for(lambda: len(receiver.accepted()) == 1, timeout=5)
        await customer.say("hello")  # assigned in a write of the dispatcher
        await receiver.wait_for(lambda: len(receiver.accepted()) == 2, timeout=5)
        assert asyncio.get_running_loop().time() - began < 5
        await customer.close()
        await agent.close()
    finally:
        await admin.close()
        await runner.cleanup()
        await receiver.stop()
