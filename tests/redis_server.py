"""A real, throw-away Redis for the tests: one `redis-server` per session on a free loopback
port (no persistence, its files in a temp dir), emptied before each test that asks for it.
Where no redis-server is installed the tests skip and say how to get one."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

INSTALL_HINT = "install it with: apt-get install -y redis-server (make test does this as root)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_port() -> Iterator[int]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(f"Redis tests: no redis-server found; {INSTALL_HINT}")
    root = Path(tempfile.mkdtemp(prefix="la-redis-"))
    port = _free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(root),
            "--logfile",
            str(root / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                log = (root / "redis.log").read_text(errors="replace")[-1500:]
                raise RuntimeError(f"redis-server did not start: {log}")
            time.sleep(0.05)
        yield port
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def redis_url(redis_port: int) -> str:
    """The session's Redis, empty (FLUSHALL), as a redis:// URL."""
    with socket.create_connection(("127.0.0.1", redis_port), timeout=5) as sock:
        sock.sendall(b"FLUSHALL\r\n")
        assert sock.recv(16).startswith(b"+OK")
    return f"redis://127.0.0.1:{redis_port}/0"
