"""Webhooks on PostgreSQL, where several signaling processes share one outbox: claims made at
the same moment never take one row twice (FOR UPDATE SKIP LOCKED and the lease), and two
senders working the same outbox deliver every event once, each chat's in order."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from signaling.db.schema import utcnow
from signaling.store import webhooks as store
from signaling.webhooks.sender import WebhookSender
from tests.conftest import start_server
from tests.test_webhooks import FAST, JOURNEY, add_endpoint, admin_of, chat_journey
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.postgres
SECRET = "test-secret-0123456789abcdef"


async def test_two_senders_deliver_each_event_once_in_order(tmp_path: Path, pg_url: str) -> None:
    receiver = Receiver(SECRET, status=500)  # down at first: rows pile up, then both race
    await receiver.start()
    server, runner = await start_server(tmp_path / "data", database={"url": pg_url}, webhooks=FAST)
    rt = server.runtime
    other = WebhookSender(rt.db, rt.config.webhooks, rt.webhook_policy)  # a second process
    other.start()
    admin = await admin_of(server)
    try:
        await add_endpoint(admin, receiver.url)
        # At once: the agent signs in on three sockets together (its presence is one upsert).
        chats = list(await asyncio.gather(*(chat_journey(server) for _ in range(3))))
        await asyncio.sleep(0.5)
        receiver.status = 200
        await receiver.wait_for(
            lambda: all("csat.received" in receiver.types_for_chat(c) for c in chats),
            timeout=40,
        )
        for chat_id in chats:
            assert receiver.types_for_chat(chat_id) == JOURNEY
        accepted = [e["id"] for e in receiver.accepted()]
        assert len(accepted) == len(set(accepted)) == 3 * len(JOURNEY)
        assert rt.webhooks.delivered + other.delivered == 3 * len(JOURNEY)
        assert all(r.verified is None for r in receiver.got)
    finally:
        await other.stop()
        await admin.close()
        await runner.cleanup()
        await receiver.stop()


async def test_claims_made_at_once_never_share_a_row(tmp_path: Path, pg_url: str) -> None:
    receiver = Receiver(SECRET)  # never listening: nothing is delivered
    server, runner = await start_server(tmp_path / "data", database={"url": pg_url}, webhooks=FAST)
    rt = server.runtime
    admin = await admin_of(server)
    try:
        await add_endpoint(admin, receiver.url)
        await rt.webhooks.stop()  # this test claims by hand
        chats = [await chat_journey(server, escalate=False) for _ in range(4)]
        now = utcnow() + timedelta(hours=1)  # every retry due

        async def claim(name: str) -> list[int]:
            async with rt.db.write() as conn:
                rows = await store.claim_due(
                    conn,
                    now,
                    claimer=name,
                    lease_until=now + timedelta(minutes=1),
                    limit=100,
                    skip_locked=True,
                )
                await asyncio.sleep(0.2)  # hold the locks while the other one claims
            return [row["id"] for row in rows]

        first, second = await asyncio.gather(claim("a"), claim("b"))
        assert not set(first) & set(second)
        # only the head of each chat is due (order per chat): one row per chat, all claimed
        assert len(first) + len(second) == len(chats)
        assert await claim("c") == []  # leased: nobody else takes them
    finally:
        await admin.close()
        await runner.cleanup()


async def test_a_stopped_process_lets_go_of_what_it_was_sending(
    tmp_path: Path, pg_url: str
) -> None:
    """On PostgreSQL claims are not swept at start (another process may hold them): a
    process that stops mid-send releases its own, so the next one sends at once rather than
    after the lease (timeout + 30 s)."""
    hanging = Receiver(SECRET, delay=30.0)
    await hanging.start()
    hooks = {**FAST, "timeout_seconds": 20.0}
    server, runner = await start_server(tmp_path / "data", database={"url": pg_url}, webhooks=hooks)
    port = int(server.url.rsplit(":", 1)[1])
    admin = await admin_of(server)
    await add_endpoint(admin, hanging.url, event_types=["chat.created"])
    customer = await server.customer(name="Hana", topic="general", language="en")
    await customer.close()
    for _ in range(50):  # the attempt is under way
        if server.runtime.webhooks.in_flight:
            break
        await asyncio.sleep(0.1)
    assert server.runtime.webhooks.in_flight == 1
    await admin.close()
    await runner.cleanup()
    await hanging.stop()
    receiver = Receiver(SECRET, port=hanging.port)
    await receiver.start()
    server, runner = await start_server(
        tmp_path / "data", database={"url": pg_url}, webhooks=hooks, server={"port": port}
    )
    try:
        await receiver.wait_for(lambda: bool(receiver.accepted()), timeout=10)
        assert receiver.accepted()[0]["data"]["chat"]["id"] == customer.chat_id
    finally:
        await runner.cleanup()
        await receiver.stop()
