"""The real `liveassist` executable, run the way people run it: in its own process."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from signaling.db.migrate import head_revision
from signaling.seed import demo_password
from tests.conftest import free_port

EXECUTABLE = Path(sys.executable).with_name("liveassist")
# Cheap Argon2 wherever the password cost itself is not under test.
FAST = {"LIVEASSIST_AUTH_PASSWORD_MEMORY_KIB": "8192", "LIVEASSIST_AUTH_PASSWORD_TIME_COST": "1"}


def environment(**extra: str) -> dict[str, str]:
    """This process's environment without any LIVEASSIST_* of its own, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEASSIST_")}
    return {**env, **FAST, **extra}


def liveassist(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = str(EXECUTABLE if EXECUTABLE.exists() else shutil.which("liveassist"))
    return subprocess.run(
        [command, *map(str, args)],
        env=env or environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def words(text: str) -> str:
    """Help text with its line wrapping undone."""
    return " ".join(text.split())


def http(url: str, body: dict[str, Any] | None = None, token: str = "") -> tuple[int, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@contextmanager
def serve_process(
    data_dir: Path, *flags: str, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str, str, Path]]:
    """`liveassist serve` on a free port, up and answering: yields the process, its URL,
    what it printed before serving and where its stderr goes; killed if still running."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    out_path = data_dir.parent / f"serve-{port}.out"
    err_path = data_dir.parent / f"serve-{port}.err"
    command = [str(EXECUTABLE), "--data-dir", str(data_dir), "serve", "--port", str(port), *flags]
    with out_path.open("w") as out, err_path.open("w") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env or environment())
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            printed = out_path.read_text()
            if "Press Ctrl+C" in printed:
                try:
                    if http(url + "/healthz")[0] in (200, 503):
                        break
                except OSError:
                    pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"serve did not come up:\n{printed}\n{err_path.read_text()}")
            time.sleep(0.1)
        yield process, url, printed, err_path
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@contextmanager
def serving(
    data_dir: Path, *flags: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, str]]:
    """`liveassist serve` on a free port: yields its URL and what it printed before serving;
    stops it with SIGTERM (what service managers send) and expects a clean exit."""
    with serve_process(data_dir, *flags, env=env) as (process, url, printed, err_path):
        yield url, printed
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
        assert code == 0, err_path.read_text()


HELP_CASES = [
    ([], ["serve", "user", "db", "org", "LIVEASSIST_<SECTION>_<KEY>", "liveassist.sample.toml"]),
    (["serve"], ["--host", "--port", "--no-demo", "demo accounts on first run"]),
    (["user"], ["add", "create an agent, QA reviewer or admin"]),
    (["user", "add"], ["--email", "--role", "--skills", "LIVEASSIST_NEW_PASSWORD"]),
    (["db"], ["upgrade", "apply pending schema migrations", "current"]),
    (["org"], ["secret", "identity-signing secret"]),
    (["org", "secret"], ["slug"]),
]


@pytest.mark.parametrize(("command", "expected"), HELP_CASES, ids=lambda c: " ".join(c) or "top")
def test_help_explains_each_command(command: list[str], expected: list[str]) -> None:
    done = liveassist(*command, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: liveassist")
    text = words(done.stdout)
    for phrase in expected:
        assert phrase in text, f"{phrase!r} missing from `liveassist {' '.join(command)} --help`"


def test_no_command_prints_usage_and_exits_2() -> None:
    done = liveassist()
    assert done.returncode == 2
    assert "usage: liveassist" in done.stderr and "COMMAND" in done.stderr


def test_db_upgrade_on_a_fresh_data_dir_then_current_prints_head(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert liveassist("--data-dir", data, "db", "current").stdout.strip() == "empty"
    upgraded = liveassist("--data-dir", data, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"empty -> {head_revision()}" in upgraded.stdout
    current = liveassist("--data-dir", data, "db", "current")
    assert current.returncode == 0 and current.stdout.strip() == head_revision()
    again = liveassist("--data-dir", data, "db", "upgrade")
    assert f"{head_revision()} -> {head_revision()}" in again.stdout


def test_user_add_creates_an_account_that_can_sign_in(tmp_path: Path) -> None:
    data = tmp_path / "data"
    add = ("--data-dir", data, "user", "add", "--email", "ana@example.com", "--name", "Ana")
    agent = ("--role", "agent", "--skills", "billing", "--languages", "en,zh")
    created = liveassist(*add, *agent, env=environment(LIVEASSIST_NEW_PASSWORD="ana-pass-2024"))
    assert created.returncode == 0, created.stderr
    assert "created agent ana@example.com" in created.stdout
    twice = liveassist(*add, *agent, env=environment(LIVEASSIST_NEW_PASSWORD="ana-pass-2024"))
    assert twice.returncode == 2 and "exists" in twice.stderr
    weak = liveassist(
        "--data-dir", data, "user", "add", "--email", "bo@example.com", "--name", "Bo",
        "--role", "qa", env=environment(LIVEASSIST_NEW_PASSWORD="short"),
    )  # fmt: skip
    assert weak.returncode == 2 and "at least 10 characters" in weak.stderr
    secret = liveassist("--data-dir", data, "org", "secret", "demo")
    assert secret.returncode == 0 and len(secret.stdout.strip()) >= 32

    with serving(data, "--no-demo") as (url, printed):
        assert "Demo accounts" not in printed
        login = url + "/api/auth/login"
        status, body = http(login, {"email": "ana@example.com", "password": "ana-pass-2024"})
        assert status == 200, body
        assert body["user"]["role"] == "agent" and body["user"]["skills"] == ["billing"]
        status, body = http(login, {"email": "ana@example.com", "password": "wrong-pass-1"})
        assert status == 401


def test_serve_prints_pages_and_demo_accounts_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serving(data, "--workers", "2") as (url, printed):
        for page in ("/demo", "/agent", "/api/openapi.json", "/healthz"):
            assert url + page in printed
        deadline = time.monotonic() + 60  # serve starts its relay worker processes
        while not http(url + "/healthz")[1]["components"]["relay"]["started"]:
            assert time.monotonic() < deadline, "relay workers did not start"
            time.sleep(0.2)
        assert "Demo accounts created" in printed
        assert re.search(r"event loop\s+: uvloop", printed), printed  # the default
        accounts = re.findall(r"(admin|agent|qa)\s+(\S+@demo\.local)\s+password: (\S+)", printed)
        assert {role for role, _email, _password in accounts} == {"admin", "agent", "qa"}
        status, health = http(url + "/healthz")
        assert status == 200 and health["status"] == "ok"
        assert {"database", "socketio", "routing", "relay"} <= set(health["components"])
        assert all(part["ok"] for part in health["components"].values())
        assert health["components"]["database"]["schema"] == head_revision()
        relay = health["components"]["relay"]
        assert relay["workers"] == relay["workers_alive"] == 2 and relay["capacity"] == 200
        admin = next((email, password) for role, email, password in accounts if role == "admin")
        status, login = http(url + "/api/auth/login", {"email": admin[0], "password": admin[1]})
        assert status == 200
        users = http(url + "/api/users", token=login["token"])[1]["items"]

    with serving(data, env=environment(LIVEASSIST_SERVER_EVENT_LOOP="asyncio")) as (url, printed):
        assert "Demo accounts created" not in printed
        assert "Demo accounts: see" in printed
        assert re.search(r"event loop\s+: asyncio", printed), printed
        status, login = http(url + "/api/auth/login", {"email": admin[0], "password": admin[1]})
        assert status == 200, "the first run's password must still work"
        assert http(url + "/api/users", token=login["token"])[1]["items"] == users


CONFIG_ERRORS = [
    pytest.param("[server]\nprot = 8080\n", {}, "prot", id="unknown-key-in-file"),
    pytest.param("[sever]\nport = 8080\n", {}, "sever", id="unknown-section-in-file"),
    pytest.param("[server]\nport = 'eighty'\n", {}, "server.port", id="bad-type-in-file"),
    pytest.param("", {"LIVEASSIST_SERVER_PROT": "1"}, "LIVEASSIST_SERVER_PROT", id="unknown-env"),
    pytest.param("", {"LIVEASSIST_SERVER_PORT": "eighty"}, "server.port", id="bad-type-in-env"),
    pytest.param("", {"LIVEASSIST_DATABASE_ECHO": "maybe"}, "database.echo", id="bad-bool-in-env"),
]


@pytest.mark.parametrize(("toml", "env", "named"), CONFIG_ERRORS)
def test_bad_configuration_exits_2_naming_the_key(
    tmp_path: Path, toml: str, env: dict[str, str], named: str
) -> None:
    config = tmp_path / "liveassist.toml"
    config.write_text(toml)
    done = liveassist(
        "--config", config, "--data-dir", tmp_path / "data", "serve", "--port", str(free_port()),
        env=environment(**env),
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "configuration error" in done.stderr and named in done.stderr
    assert "Traceback" not in done.stderr


def test_demo_passwords_never_start_with_a_dash() -> None:
    """They are pasted after command-line options (`liveassist loadtest --password …`)."""
    passwords = [demo_password() for _ in range(2000)]
    assert not any(p.startswith("-") for p in passwords)
    assert all(len(p) == 16 for p in passwords) and len(set(passwords)) == 2000
