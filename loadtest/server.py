"""The server under test: one started for the run (`--spawn`), or one already running; and
its /metrics read with prometheus_client's own parser."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

SPAWN_ENV = {
    # A load test signs in many accounts from one address: lift the per-address limits and
    # make password hashing cheap (what is measured is journeys, not sign-ins).
    "LIVEASSIST_AUTH_PASSWORD_MEMORY_KIB": "8192",
    "LIVEASSIST_AUTH_PASSWORD_TIME_COST": "1",
    "LIVEASSIST_LIMITS_LOGINS_PER_MINUTE_PER_IP": "100000",
    "LIVEASSIST_LIMITS_IP_GUEST_SESSIONS_PER_SECOND": "100000",
    "LIVEASSIST_LIMITS_IP_GUEST_SESSION_BURST": "100000",
    "LIVEASSIST_LIMITS_IP_EVENT_BURST": "100000",
    "LIVEASSIST_LIMITS_IP_EVENTS_PER_SECOND": "100000",
    "LIVEASSIST_LIMITS_IP_CONNECTS_PER_SECOND": "100000",
    "LIVEASSIST_LIMITS_IP_CONNECT_BURST": "100000",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SpawnedServer:
    """Lifecycle: start() → url usable → stop() (idempotent)."""

    workers: int = 0
    data_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="la-load-")))
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid if self.process is not None else 0

    def start(self) -> None:
        env = {**os.environ, **SPAWN_ENV}
        env.setdefault("LIVEASSIST_LOG_LEVEL", "WARNING")
        executable = Path(sys.executable).with_name("liveassist")
        command = [str(executable), "--data-dir", str(self.data_dir), "serve"]
        command += ["--port", str(self.port)]
        command += ["--workers", str(self.workers)] if self.workers else []
        with open(self.data_dir / "serve.err", "wb") as log:
            self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)

    def admin(self) -> tuple[str, str]:
        for line in (self.data_dir / "demo-accounts.txt").read_text().splitlines():
            role, email, password = [*line.split("\t"), "", "", ""][:3]
            if role == "admin":
                return email, password
        raise RuntimeError("no demo admin account")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


async def wait_ready(url: str, http: aiohttp.ClientSession, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(aiohttp.ClientError, KeyError, ValueError):
            async with http.get(url + "/healthz") as resp:
                health: dict[str, Any] = await resp.json()
                if health["components"]["relay"].get("started"):
                    return health
        await asyncio.sleep(0.25)
    raise RuntimeError(f"the server at {url} did not come up within {timeout:.0f} s")


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
"""(sample name, sorted labels) → value."""


def parse_metrics(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return samples


def metric(samples: Samples, name: str, **labels: str) -> float:
    """The sum of every sample of `name` whose labels include these."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


def by_label(samples: Samples, name: str, label: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for (n, ls), value in samples.items():
        if n == name:
            key = dict(ls).get(label, "")
            found[key] = found.get(key, 0.0) + value
    return found


async def scrape(url: str, http: aiohttp.ClientSession, token: str | None = None) -> Samples | None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        async with http.get(url + "/metrics", headers=headers) as resp:
            if resp.status != 200:
                return None
            return parse_metrics(await resp.text())
    except (aiohttp.ClientError, TimeoutError):
        return None
