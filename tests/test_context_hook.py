"""The customer-context hook: a real HTTP CRM on loopback, called with a timeout and cached."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.conftest import free_port, start_server


class FakeCrm:
    """A tiny real HTTP server standing in for a shop's order system."""

    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []
        self.delay = 0.0
        self.status = 200
        self.port = free_port()

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append(dict(request.query))
        await asyncio.sleep(self.delay)
        if self.status != 200:
            return web.Response(status=self.status, text="broken")
        return web.json_response(
            {
                "orders": [{"id": "A-1001", "total": "42.00", "status": "shipped"}],
                "seen_email": request.query.get("email"),
            }
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/customer-context"


@pytest.fixture
async def crm() -> AsyncIterator[FakeCrm]:
    fake = FakeCrm()
    app = web.Application()
    app.router.add_get("/customer-context", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", fake.port).start()
    yield fake
    await runner.cleanup()


async def test_agent_panel_shows_crm_orders_cached_and_survives_a_slow_crm(
    tmp_path: Path, crm: FakeCrm
) -> None:
    srv, runner = await start_server(
        tmp_path / "d", context_hook={"url": crm.url, "timeout_seconds": 0.5, "cache_seconds": 30}
    )
    try:
        agent = await srv.staff("agent1@demo.local")
        customer = await srv.customer(name="Olga", email="olga@example.com")
        cid = customer.session["customer"]["id"]
        panel = await agent.rest("GET", f"/api/customers/{cid}/context")
        assert panel["external"]["data"]["orders"][0]["id"] == "A-1001"
        assert panel["external"]["data"]["seen_email"] == "olga@example.com"
        assert crm.calls == [{"customer_id": str(cid), "email": "olga@example.com"}]
        again = await agent.rest("GET", f"/api/customers/{cid}/context")
        assert again["external"]["cached"] is True and len(crm.calls) == 1
        # another customer, and the CRM hangs: the panel answers within the timeout
        other = await srv.customer(name="Slow")
        crm.delay = 1.5
        started = time.monotonic()
        slow = await agent.rest("GET", f"/api/customers/{other.session['customer']['id']}/context")
        assert time.monotonic() - started < 2.0
        assert "did not answer within 0.5 s" in slow["external"]["error"]
        assert slow["history"]["chats"][0]["id"] == other.chat_id  # own history still there
        crm.delay, crm.status = 0.0, 500
        broken = await agent.rest(
            "GET", f"/api/customers/{other.session['customer']['id']}/context"
        )
        assert "HTTP 500" in broken["external"]["error"]
        for person in (agent, customer, other):
            await person.close()
    finally:
        await runner.cleanup()
