"""Who may read /metrics: this machine, or whoever holds metrics.token; nobody when it is off.
What it says is checked against a real run in tests/test_loadtest.py."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from signaling.metrics import is_loopback
from tests.conftest import start_server

TOKEN = "a-metrics-token-of-32-characters"


async def get(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, await response.text()


async def test_a_token_is_checked_when_sent_and_loopback_reads_without_one(tmp_path: Path) -> None:
    server, runner = await start_server(tmp_path / "data", metrics={"token": TOKEN})
    try:
        status, body = await get(server.url + "/metrics", TOKEN)
        assert status == 200
        names = {family.name for family in text_string_to_metric_families(body)}
        expected = {"liveassist_connected_sockets", "liveassist_calls_started", "liveassist_chats"}
        assert expected <= names, sorted(names)
        status, body = await get(server.url + "/metrics", "not-the-metrics-token-at-all")
        assert status == 401 and "wrong metrics token" in body
        status, _body = await get(server.url + "/metrics")  # this machine: no token needed
        assert status == 200
    finally:
        await runner.cleanup()


async def test_metrics_turned_off_are_not_found(tmp_path: Path) -> None:
    server, runner = await start_server(tmp_path / "data", metrics={"enabled": False})
    try:
        status, body = await get(server.url + "/metrics")
        assert status == 404 and "metrics.enabled" in body
    finally:
        await runner.cleanup()


def test_only_loopback_addresses_count_as_this_machine() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.3.2.1") and is_loopback("::1")
    assert not is_loopback("10.0.0.7") and not is_loopback("192.168.1.20")
    assert not is_loopback("::ffff:10.0.0.7") and not is_loopback("fe80::1%eth0")
    assert not is_loopback(None) and not is_loopback("") and not is_loopback("unix-socket")
