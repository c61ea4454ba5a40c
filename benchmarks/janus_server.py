"""Path (d): a Janus 1.1.2 process (Debian's `janus`, `make bench-deps`) with only the
VideoRoom plugin and the HTTP transport, configured in a temporary folder.

Janus 1.1.2 skips loopback interfaces when it gathers ICE candidates, so on loopback alone
it offers none (docs design.md, "Testing notes"). As root we add a veth pair `la0`/`la1`
with 10.77.0.1/24 on la0 and pin Janus's ICE to la0 (`ice_enforce_list`); the pair is
deleted on stop. Without root, Janus is pinned to the first non-loopback interface instead.
Traffic to either address stays inside this machine, like every other path's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import aiohttp

LIB = Path("/usr/lib/x86_64-linux-gnu/janus")
VETH, VETH_PEER, VETH_ADDRESS = "la0", "la1", "10.77.0.1/24"


class JanusUnavailable(RuntimeError):
    """Janus cannot run here; the message says why."""


def _ip(*args: str) -> bool:
    return subprocess.run(["ip", *args], capture_output=True).returncode == 0


def _other_interface() -> str | None:
    for name in sorted(os.listdir("/sys/class/net")):
        if name != "lo" and Path(f"/sys/class/net/{name}/operstate").read_text().strip() == "up":
            return name
    return None


class JanusServer:
    """Lifecycle: start() (interface, config, process, HTTP answering) → stop() (idempotent)."""

    def __init__(self, workdir: Path, port: int = 8088) -> None:
        self.workdir = workdir
        self.port = port
        self.url = f"http://127.0.0.1:{port}/janus"
        self.interface = ""
        self._created_veth = False
        self._process: asyncio.subprocess.Process | None = None
        self._log: Path = workdir / "janus.log"

    @property
    def pid(self) -> int:
        return self._process.pid if self._process is not None else 0

    def _interface(self) -> str:
        if os.geteuid() == 0 and shutil.which("ip"):
            _ip("link", "del", VETH)  # a leftover from an interrupted run
            if (
                _ip("link", "add", VETH, "type", "veth", "peer", "name", VETH_PEER)
                and _ip("addr", "add", VETH_ADDRESS, "dev", VETH)
                and _ip("link", "set", VETH, "up")
                and _ip("link", "set", VETH_PEER, "up")
            ):
                self._created_veth = True
                return VETH
            _ip("link", "del", VETH)
        other = _other_interface()
        if other is None:
            raise JanusUnavailable(
                "Janus needs a non-loopback interface for ICE: run as root (to add a veth "
                "pair) or on a machine with a network interface"
            )
        return other

    def _write_config(self) -> Path:
        conf = self.workdir / "conf"
        for sub, library in [
            ("plugins", "libjanus_videoroom.so"),
            ("transports", "libjanus_http.so"),
        ]:
            folder = self.workdir / sub
            folder.mkdir(parents=True, exist_ok=True)
            link = folder / library
            if not link.exists():
                link.symlink_to(LIB / sub / library)
        for sub in ("events", "loggers"):
            (self.workdir / sub).mkdir(exist_ok=True)
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "janus.jcfg").write_text(
            "general: {\n"
            f'  configs_folder = "{conf}"\n'
            f'  plugins_folder = "{self.workdir / "plugins"}"\n'
            f'  transports_folder = "{self.workdir / "transports"}"\n'
            f'  events_folder = "{self.workdir / "events"}"\n'
            f'  loggers_folder = "{self.workdir / "loggers"}"\n'
            "  debug_level = 3\n  session_timeout = 0\n"
            '  server_name = "liveassist-bench"\n}\n'
            'media: {\n  rtp_port_range = "30000-39999"\n}\n'
            "nat: {\n"
            f'  ice_enforce_list = "{self.interface}"\n'
            "  full_trickle = false\n  ignore_mdns = true\n}\n"
            "plugins: {}\ntransports: {}\nevents: {}\nloggers: {}\n"
        )
        (conf / "janus.transport.http.jcfg").write_text(
            "general: {\n"
            f'  json = "compact"\n  base_path = "/janus"\n  http = true\n  port = {self.port}\n'
            '  ip = "127.0.0.1"\n  https = false\n}\n'
            "admin: {\n  admin_http = false\n}\ncors: {}\n"
        )
        (conf / "janus.plugin.videoroom.jcfg").write_text("general: {\n}\n")
        return conf

    async def start(self) -> None:
        if shutil.which("janus") is None or not (LIB / "plugins/libjanus_videoroom.so").exists():
            raise JanusUnavailable("Debian package janus is not installed (make bench-deps)")
        self.interface = self._interface()
        conf = self._write_config()
        log = self._log.open("wb")
        self._process = await asyncio.create_subprocess_exec(
            "janus",
            "-F",
            str(conf),
            "-C",
            str(conf / "janus.jcfg"),
            "-o",
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                if self._process.returncode is not None:
                    break
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{self.url}/info") as reply:
                        if reply.status == 200:
                            return
                await asyncio.sleep(0.1)
        tail = self._log.read_text(errors="replace")[-2000:]
        await self.stop()
        raise JanusUnavailable(f"Janus did not answer on {self.url}; its log ends:\n{tail}")

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._created_veth:
            _ip("link", "del", VETH)
            self._created_veth = False
