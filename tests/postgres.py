"""A real, throw-away PostgreSQL for the tests.

The session gets one cluster of its own (found under /usr/lib/postgresql/*/bin, started on a
free loopback port with its socket in a temp dir, removed at the end); each test gets a fresh
database in it. PostgreSQL refuses to run as root, so as root the cluster belongs to the
`postgres` user. Where no PostgreSQL is installed the tests skip and say how to get one.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.conftest import Server

INSTALL_HINT = "install it with: apt-get install -y postgresql (make test does this as root)"
# Durability is pointless for a cluster deleted after the run; without it tests go faster.
FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
_database_numbers = itertools.count(1)


def find_bindir() -> Path | None:
    """The newest installed server's bin directory (Debian layout first, then PATH)."""

    def version(path: str) -> tuple[int, ...]:
        name = Path(path).parent.parent.name
        return tuple(int(p) for p in name.split(".") if p.isdigit())

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresCluster:
    bindir: Path
    root: Path
    port: int
    run_as: list[str]  # command prefix that runs a server binary as the cluster's owner

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def server_tool(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.run_as, str(self.bindir / tool), *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def sql(self, statement: str) -> None:
        """Run one statement as the superuser over TCP (trust auth; any OS user may)."""
        done = subprocess.run(
            [
                str(self.bindir / "psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
                statement,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"psql {statement!r} failed: {done.stderr.strip()}")

    def create_database(self) -> str:
        name = f"liveassist_test_{os.getpid()}_{next(_database_numbers)}"
        self.sql(f"CREATE DATABASE {name}")
        return name

    def drop_database(self, name: str) -> None:
        self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def start(self) -> None:
        """Start on a free port; another process may grab the port first, so try a few."""
        log = self.root / "server.log"
        for _attempt in range(3):
            self.port = _free_port()
            options = " ".join(
                f"-c {setting}"
                for setting in (
                    "listen_addresses=127.0.0.1",
                    f"port={self.port}",
                    f"unix_socket_directories={self.root}",
                    *FAST_SETTINGS,
                )
            )
            started = self.server_tool(
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(log),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            )
            if started.returncode == 0:
                return
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else started.stderr
        raise RuntimeError(f"PostgreSQL did not start: {tail}")

    def stop(self) -> None:
        self.server_tool("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")


def _owner_prefix(root: Path) -> list[str]:
    """As root: hand the cluster to `postgres` and run its tools through runuser."""
    if os.geteuid() != 0:
        return []
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip(
            f"PostgreSQL tests: running as root and there is no 'postgres' user; {INSTALL_HINT}"
        )
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("PostgreSQL tests: running as root and runuser(1) is missing (util-linux)")
    os.chown(root, owner.pw_uid, owner.pw_gid)
    return [runuser, "-u", "postgres", "--"]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    bindir = find_bindir()
    if bindir is None:
        pytest.skip(f"PostgreSQL tests: no PostgreSQL server found; {INSTALL_HINT}")
    # Short path in /tmp: the socket path must stay under ~100 bytes and be reachable by
    # `postgres` (pytest's own tmp dirs are private to the current user).
    root = Path(tempfile.mkdtemp(prefix="la-pg-"))
    try:
        cluster = PostgresCluster(bindir, root, 0, _owner_prefix(root))
        made = cluster.server_tool(
            "initdb",
            "-D",
            str(cluster.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        if made.returncode:
            pytest.skip(f"PostgreSQL tests: initdb failed: {(made.stderr or made.stdout)[-1000:]}")
        cluster.start()
        try:
            yield cluster
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_cluster: PostgresCluster) -> Iterator[str]:
    """A fresh, empty database for one test, as a plain postgresql:// URL."""
    name = pg_cluster.create_database()
    try:
        yield pg_cluster.url(name)
    finally:
        pg_cluster.drop_database(name)


@pytest.fixture
async def pg_server(tmp_path: Path, pg_url: str) -> AsyncIterator[Server]:
    """The `server` fixture, with its records in PostgreSQL instead of SQLite."""
    from tests.conftest import start_server

    srv, runner = await start_server(tmp_path / "data", database={"url": pg_url})
    try:
        yield srv
    finally:
        await runner.cleanup()
