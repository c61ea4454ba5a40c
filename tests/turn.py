"""A real coturn TURN server on loopback for the tests, configured by docs/coturn/turnserver.conf.

Each test gets its own `turnserver` process: the documented config with only what names a
machine replaced (a free port on 127.0.0.1, a random secret, a test realm, this machine's
addresses as the allowed peers — they are where the relay worker's candidates are — no TLS,
the log in a temp dir). Where coturn is not installed the tests skip and say how to get it.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aioice import stun
from aioice.ice import get_host_addresses

DOCUMENTED = Path(__file__).resolve().parent.parent / "docs" / "coturn" / "turnserver.conf"
INSTALL_HINT = "install it with: apt-get install -y coturn (make test does this as root)"
REALM = "liveassist.test"
# Keys of the documented config that name a deployment's machine; the fixture sets its own.
MACHINE_KEYS = frozenset(
    {
        "listening-ip",
        "relay-ip",
        "external-ip",
        "listening-port",
        "tls-listening-port",
        "static-auth-secret",
        "realm",
        "allowed-peer-ip",
        "cert",
        "pkey",
        "syslog",
        "log-file",
        "pidfile",
        "userdb",
    }
)
OPENED = re.compile(r"session (?P<session>\d+): new, realm=<[^>]*>, username=<(?P<username>[^>]*)>")
USAGE = re.compile(
    r"session (?P<session>\d+): usage: realm=<[^>]*>, username=<[^>]*>, "
    r"rp=\d+, rb=(?P<rb>\d+), sp=\d+, sb=(?P<sb>\d+)"
)


@dataclass
class TurnServer:
    """A running turnserver: where it listens, its shared secret, and its log."""

    host: str
    port: int
    secret: str
    log_path: Path

    @property
    def url(self) -> str:
        return f"turn:{self.host}:{self.port}?transport=udp"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def usage(self, username_part: str, timeout: float = 5) -> tuple[int, int]:
        """Bytes coturn relayed for the allocations whose username contains `username_part`
        (received from the client, sent to it), once every one of them has ended: coturn
        writes a session's usage about a second after its client deleted it."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.log()
            opened = {m["session"] for m in OPENED.finditer(log) if username_part in m["username"]}
            ended = {m["session"]: m for m in USAGE.finditer(log) if m["session"] in opened}
            if (opened and len(ended) == len(opened)) or time.monotonic() > deadline:
                return (
                    sum(int(m["rb"]) for m in ended.values()),
                    sum(int(m["sb"]) for m in ended.values()),
                )
            await asyncio.sleep(0.1)


def configured(documented: str, port: int, secret: str, work: Path) -> str:
    """The documented config with this machine's values in place of the deployment's."""
    kept = [
        line
        for line in documented.splitlines()
        if line.split("=", 1)[0].strip() not in MACHINE_KEYS
    ]
    # The relay worker's candidates are this machine's own (non-loopback) addresses.
    allowed = [f"allowed-peer-ip={address}" for address in get_host_addresses(True, True)]
    return "\n".join(
        [
            *kept,
            "listening-ip=127.0.0.1",
            "relay-ip=127.0.0.1",
            f"listening-port={port}",
            f"static-auth-secret={secret}",
            f"realm={REALM}",
            *allowed,
            "no-tls",
            "no-dtls",
            "log-file=stdout",
            "verbose",
            f"pidfile={work / 'turnserver.pid'}",
            f"userdb={work / 'turndb'}",
            "",
        ]
    )


def _free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (coturn listens on both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket() as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


def answers_stun(port: int, timeout: float = 0.2) -> bool:
    """Whether a STUN Binding request to 127.0.0.1:port is answered (the server is up)."""
    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(bytes(request), ("127.0.0.1", port))
        try:
            data, _ = sock.recvfrom(2048)
        except OSError:
            return False
    return stun.parse_message(data).transaction_id == request.transaction_id


@pytest.fixture
def turn_server() -> Iterator[TurnServer]:
    binary = shutil.which("turnserver")
    if binary is None:
        pytest.skip(f"TURN tests: coturn's turnserver is not installed; {INSTALL_HINT}")
    work = Path(tempfile.mkdtemp(prefix="la-turn-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        secret = secrets.token_hex(16)
        log_path = work / "turnserver.log"
        for _attempt in range(3):  # another process may take the port first
            port = _free_port()
            config = work / "turnserver.conf"
            config.write_text(configured(DOCUMENTED.read_text(), port, secret, work))
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    [binary, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
                )
            deadline = time.monotonic() + 10
            while process.poll() is None and time.monotonic() < deadline:
                if answers_stun(port):
                    yield TurnServer("127.0.0.1", port, secret, log_path)
                    return
            process.kill()
            process.wait()
        raise RuntimeError(f"turnserver did not start: {log_path.read_text()[-2000:]}")
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(work, ignore_errors=True)
