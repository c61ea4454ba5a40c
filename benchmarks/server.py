"""The one signaling server under test: `liveassist serve` in its own process, on loopback,
with a fresh data directory and production defaults except the rate limits we raise."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from benchmarks import rest
from benchmarks.gclog import HOOK_DIR

# Every limit a load generator on one address would trip; nothing else is changed.
RAISED_LIMITS = {
    "LIVEASSIST_LIMITS_EVENTS_PER_SECOND": "100000",
    "LIVEASSIST_LIMITS_EVENT_BURST": "100000",
    "LIVEASSIST_LIMITS_IP_EVENTS_PER_SECOND": "100000",
    "LIVEASSIST_LIMITS_IP_EVENT_BURST": "100000",
    "LIVEASSIST_LIMITS_IP_GUEST_SESSIONS_PER_SECOND": "100000",
    "LIVEASSIST_LIMITS_IP_GUEST_SESSION_BURST": "100000",
    "LIVEASSIST_LIMITS_LOGINS_PER_MINUTE_PER_IP": "10000",
    "LIVEASSIST_LIMITS_IP_CONNECTS_PER_SECOND": "100000",
    "LIVEASSIST_LIMITS_IP_CONNECT_BURST": "100000",
}
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """Start in __enter__ (waits until /healthz answers), stop in __exit__ (SIGINT, then
    SIGKILL after STOP_TIMEOUT); the data directory is removed unless `keep_data`.
    `gc_log` loads benchmarks/gc_hook into the server to log its collector pauses;
    `extra_env` is added to the server's environment last (a database URL, PYTHONPATH)."""

    def __init__(
        self,
        port: int = 0,
        *,
        keep_data: bool = False,
        gc_log: bool = False,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.extra_env = dict(extra_env or {})
        self.url = f"http://127.0.0.1:{self.port}"
        self.keep_data = keep_data
        self.data_dir = Path(tempfile.mkdtemp(prefix="liveassist-bench-"))
        self.log_path = self.data_dir / "server.log"
        # With gc_log, benchmarks/gc_hook logs the server's collector pauses here.
        self.gc_log_path = self.data_dir / "gc.log" if gc_log else None
        self.command = [
            str(Path(sys.executable).with_name("liveassist")),
            "--data-dir",
            str(self.data_dir),
            "serve",
            "--port",
            str(self.port),
        ]
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._proc is not None, "server not started"
        return self._proc.pid

    def __enter__(self) -> ServerProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEASSIST_")}
        env.update(RAISED_LIMITS)
        env["LIVEASSIST_LOG_LEVEL"] = "WARNING"
        if self.gc_log_path is not None:
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(HOOK_DIR), env.get("PYTHONPATH", "")) if p
            )
            env["BENCH_GC_LOG"] = str(self.gc_log_path)
        for key, value in self.extra_env.items():
            if key == "PYTHONPATH" and env.get(key):
                value = os.pathsep.join((value, env[key]))
            env[key] = value
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(
                self.command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.data_dir
            )
        self._wait_ready()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"server exited at start; see {self.log_path}:\n{self.log()}")
            with contextlib.suppress(OSError, ValueError):
                if rest.call(self.url, "GET", "/healthz", timeout=2)[0] == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"server did not answer /healthz in {START_TIMEOUT:.0f} s")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def problems(self, limit: int = 20) -> list[str]:
        """The server log's first error and traceback lines: a clean run has none."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [line for line in lines if "ERROR" in line or "Traceback" in line][:limit]

    def demo_password(self, email: str) -> str:
        """A demo account's password from demo-accounts.txt (written on first run)."""
        for line in (self.data_dir / "demo-accounts.txt").read_text().splitlines():
            parts = line.split("\t")
            if not line.startswith("#") and len(parts) == 3 and parts[1] == email:
                return parts[2]
        raise KeyError(f"no demo account {email}")

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT)
        if not self.keep_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)
