"""A real LiveAssist server on loopback with a real SQLite file, one per test."""

from __future__ import annotations

import gc
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from loadtest.clients import Customer, Staff
from signaling.app import create_app
from signaling.config import load_config
from signaling.runtime import Runtime
from signaling.seed import seed_demo
from tests.hang_watchdog import pytest_runtest_protocol  # noqa: F401  (a hook, by name)
from tests.postgres import pg_cluster, pg_server, pg_url  # noqa: F401  (fixtures, by name)
from tests.redis_server import redis_port, redis_url  # noqa: F401  (fixtures, by name)
from tests.turn import turn_server  # noqa: F401  (a fixture, by name)

# Cheap password hashing keeps tests fast; production defaults are checked in test_config.
FAST_AUTH = {"password_memory_kib": 8192, "password_time_cost": 1}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    runtime: Runtime
    data_dir: Path
    passwords: dict[str, str]  # email → password of the demo accounts

    async def staff(self, email: str, *, online: bool = True) -> Staff:
        member = Staff(self.url)
        await member.sign_in(email, self.passwords[email])
        await member.connect()
        if online and member.user["role"] == "agent":
            await member.go_online()
        return member

    async def customer(self, **fields: Any) -> Customer:
        person = Customer(self.url)
        await person.open_chat(**fields)
        await person.connect()
        return person


# In-process servers that lost the signaling primary role during the current test.
LOST_PRIMARY: list[str] = []


@pytest.fixture(autouse=True)
def no_lost_primary() -> Iterator[None]:
    """A real process stops when it loses the primary role (signaling/cluster/); in a test
    that is a failure of this test, not a SIGTERM to pytest."""
    LOST_PRIMARY.clear()
    yield
    assert not LOST_PRIMARY, f"in-process server(s) {LOST_PRIMARY} lost the primary role"


async def start_server(data_dir: Path, **sections: dict[str, Any]) -> tuple[Server, web.AppRunner]:
    """`server={"port": …}` starts it on a given port (a restart on the same address)."""
    if sections.get("server", {}).get("redis_url"):
        # A server on Redis holds the primary role on a 3 s lease renewed from this test's
        # loop; a full collection of this pytest process's heap (hundreds of tests' objects)
        # can stall that loop past it. Collect now, then freeze, as `liveassist serve` does at
        # its start (signaling/collector.py): later collections see only the test's objects.
        gc.collect()
        gc.freeze()
    port = int(sections.get("server", {}).get("port") or free_port())
    overrides: dict[str, dict[str, Any]] = {
        "server": {"data_dir": str(data_dir), "port": port},
        "auth": dict(FAST_AUTH),
        "routing": {"agent_offline_grace_seconds": 2},
        # One relay worker, started at the first call: most tests never call.
        "relay": {"workers": 1, "preload": False},
    }
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    config = load_config(environ={}, overrides=overrides)
    runtime = Runtime.build(config)
    cluster = runtime.cluster
    if cluster is not None:  # stopping the process would stop the whole test run
        cluster.on_lost = lambda: LOST_PRIMARY.append(cluster.process_id)
    app = create_app(runtime)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    created = await seed_demo(runtime.db, runtime.passwords, config.data_path) or []
    await web.TCPSite(runner, "127.0.0.1", port).start()
    passwords = {email: password for _role, email, password in created}
    if not passwords:
        for line in (config.data_path / "demo-accounts.txt").read_text().splitlines():
            if not line.startswith("#"):
                _role, email, password = line.split("\t")
                passwords[email] = password
    return Server(f"http://127.0.0.1:{port}", runtime, config.data_path, passwords), runner


SQLITE_AND_POSTGRESQL = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
"""Fixture params for a test run on both databases (with server_on)."""


@asynccontextmanager
async def server_on(
    request: pytest.FixtureRequest, data_dir: Path, **sections: dict[str, Any]
) -> AsyncIterator[Server]:
    """A server on the database `request.param` names (SQLITE_AND_POSTGRESQL)."""
    if request.param == "postgresql":
        sections["database"] = {"url": request.getfixturevalue("pg_url")}
    srv, runner = await start_server(data_dir, **sections)
    try:
        yield srv
    finally:
        await runner.cleanup()


@pytest.fixture(params=SQLITE_AND_POSTGRESQL)
async def server_either(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Server]:
    """A server on SQLite, then one on PostgreSQL (the test runs twice)."""
    async with server_on(request, tmp_path / "data") as srv:
        yield srv


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    srv, runner = await start_server(tmp_path / "data")
    try:
        yield srv
    finally:
        await runner.cleanup()
