"""Webhooks with two real signaling processes (`liveassist serve`) on one PostgreSQL and one
Redis: chats on both, one outbox, both processes sending. Every event reaches the receiver
once (each row claimed by one process), each chat's in order, and the processes' own
counters add up to what arrived."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest

from tests.test_signaling_cluster import customer, staff, two_processes
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.postgres
SECRET = "cluster-webhook-secret-0123456789"
HOOKS = {
    "LIVEASSIST_WEBHOOKS_ALLOWED_HOSTS": "127.0.0.1",
    "LIVEASSIST_WEBHOOKS_ALLOW_LOOPBACK": "true",
    "LIVEASSIST_WEBHOOKS_POLL_SECONDS": "0.1",
    "LIVEASSIST_WEBHOOKS_RETRY_BASE_SECONDS": "0.2",
    "LIVEASSIST_WEBHOOKS_RETRY_MAX_SECONDS": "0.4",
}
JOURNEY = [
    "ticket.created",
    "chat.created",
    "chat.assigned",
    "ticket.updated",  # assignee
    "chat.ended",
    "ticket.updated",  # solved
    "ticket.updated",  # CSAT
    "csat.received",
]
DELIVERED = re.compile(r'^liveassist_webhook_attempts_total\{outcome="delivered"\} (\S+)$', re.M)


async def delivered_by(url: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as resp:
        found = DELIVERED.search(await resp.text())
    return int(float(found.group(1))) if found else 0


async def test_two_processes_send_each_event_once_in_order(
    tmp_path: Path, redis_url: str, pg_url: str
) -> None:
    receiver = Receiver(SECRET, status=500)  # failing first: rows pile up for both to take
    await receiver.start()
    with two_processes(tmp_path, redis_url, pg_url, **HOOKS) as world:
        data = world["data"]
        admin = await staff(world["a"], data, "admin@demo.local", online=False)
        agent = await staff(world["b"], data, "agent1@demo.local")
        try:
            body = {"url": receiver.url, "event_types": JOURNEY, "secret": SECRET}
            await admin.rest("POST", "/api/webhooks", json=body, expect=201)
            chats = []
            for index in range(4):  # customers on A and on B in turn
                person = await customer(world["ab"[index % 2]], name=f"C{index}", topic="general")
                try:
                    await person.say("hello")
                    await agent.next("chat.assigned", timeout=15)
                    await person.request("chat.end", {"chat_id": person.chat_id})
                    await person.request("csat.submit", {"chat_id": person.chat_id, "score": 5})
                    chats.append(person.chat_id)
                finally:
                    await person.close()
            receiver.status = 200
            await receiver.wait_for(
                lambda: all("csat.received" in receiver.types_for_chat(c) for c in chats),
                timeout=40,
            )
            for chat_id in chats:
                assert receiver.types_for_chat(chat_id) == JOURNEY
            accepted = [event["id"] for event in receiver.accepted()]
            assert len(accepted) == len(set(accepted)) == len(chats) * len(JOURNEY)
            assert all(got.verified is None for got in receiver.got)
            counts = [await delivered_by(world["a"]), await delivered_by(world["b"])]
            print(f"webhooks delivered by process A and B: {counts}")
            assert sum(counts) == len(accepted), counts
        finally:
            await agent.close()
            await admin.close()
            await receiver.stop()
