"""A bad network on one machine: two client namespaces behind a hub namespace, impaired per leg.

    publisher ns (la13-pub) ─veth─┐                 ┌─ root ns: our relay, Janus
                                  hub ns (la13-hub) ┤
    subscriber ns (la13-sub) ─veth┘                 └─ (veth la13c, 10.13.0.1)

The hub forwards between the legs (peer-to-peer never touches the root namespace) and to the
root namespace, where the relay and Janus run; the root namespace routes the client subnets
back through the hub. Every impairment lives in a namespace we own, so deleting the three
namespaces removes all of it: loss (iptables `statistic`) and delay (NFQUEUE, a userspace
delayer, this module's `__main__`) are rules in the hub's FORWARD path; bandwidth is a `tbf`
qdisc on the sending end of a leg (the kernel has no netem). Root is needed.

    .venv/bin/python -m benchmarks.netns check     (build, test reachability, delete)
    .venv/bin/python -m benchmarks.netns cleanup   (a crashed run's namespaces)
    .venv/bin/python -m benchmarks.netns delay --queue 13 --delay-ms 75 --jitter-ms 15
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import importlib
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

PREFIX = "la13"
HUB = f"{PREFIX}-hub"
CORE_ROOT, CORE_HUB = f"{PREFIX}c", f"{PREFIX}ch"
CORE_ROOT_ADDRESS, CORE_HUB_ADDRESS = "10.13.0.1", "10.13.0.2"
CHAIN = "LA13"
QUEUE = 13
TBF_LATENCY_MS = 300
"""How long a packet may wait in a bandwidth cap's queue before it is dropped (a router's
buffer); tbf's burst is kept small so a keyframe cannot pass the cap at line rate."""
TBF_BURST_BYTES = 4000
Direction = Literal["up", "down"]
"""up: from the client towards the hub (a publisher's uplink); down: towards the client."""


class NetnsUnavailable(RuntimeError):
    """The namespaces cannot be built here; the message says why."""


def run(*args: str, netns: str | None = None, check: bool = True) -> bool:
    """One command (in `netns` if given); False (or NetnsUnavailable) when it fails."""
    command = ["ip", "netns", "exec", netns, *args] if netns else list(args)
    done = subprocess.run(command, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise NetnsUnavailable(f"{' '.join(command)}: {done.stderr.strip()}")
    return done.returncode == 0


@dataclass(frozen=True)
class Leg:
    """One client's link to the hub: a veth pair, /24 subnet 10.13.<n>.0."""

    role: str
    number: int

    @property
    def netns(self) -> str:
        return f"{PREFIX}-{self.role}"

    @property
    def client_dev(self) -> str:
        return f"{PREFIX}{self.role[0]}"

    @property
    def hub_dev(self) -> str:
        return f"{PREFIX}{self.role[0]}h"

    @property
    def client_address(self) -> str:
        return f"10.13.{self.number}.2"

    @property
    def hub_address(self) -> str:
        return f"10.13.{self.number}.1"


LEGS = {"pub": Leg("pub", 1), "sub": Leg("sub", 2)}


def cleanup() -> None:
    """Delete every namespace and root-side link of ours (a crashed run's too), ending the
    processes the benchmark started in them (clients, the delayer) first."""
    listed = subprocess.run(["ip", "-o", "netns", "list"], capture_output=True, text=True)
    for line in listed.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(f"{PREFIX}-"):
            pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
            for pid in pids.stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGTERM)
            run("ip", "netns", "del", name, check=False)
    for dev in (CORE_ROOT, *(d for leg in LEGS.values() for d in (leg.client_dev, leg.hub_dev))):
        if Path(f"/sys/class/net/{dev}").exists():  # half-built: not yet moved
            run("ip", "link", "del", dev, check=False)


def _veth(root_end: str, other_end: str, other_ns: str) -> None:
    run("ip", "link", "add", root_end, "type", "veth", "peer", "name", other_end)
    run("ip", "link", "set", other_end, "netns", other_ns)


def build() -> None:
    """The three namespaces, their links, addresses and routes (after cleanup()); on a
    failure, whatever was built is deleted again."""
    if os.geteuid() != 0:
        raise NetnsUnavailable("network namespaces need root")
    cleanup()
    try:
        _build()
    except BaseException:
        cleanup()
        raise


def _build() -> None:
    run("ip", "netns", "add", HUB)
    run("ip", "link", "set", "lo", "up", netns=HUB)
    run("sysctl", "-qw", "net.ipv4.ip_forward=1", netns=HUB)
    _veth(CORE_ROOT, CORE_HUB, HUB)
    run("ip", "addr", "add", f"{CORE_ROOT_ADDRESS}/24", "dev", CORE_ROOT)
    run("ip", "link", "set", CORE_ROOT, "up")
    run("ip", "addr", "add", f"{CORE_HUB_ADDRESS}/24", "dev", CORE_HUB, netns=HUB)
    run("ip", "link", "set", CORE_HUB, "up", netns=HUB)
    run("ip", "route", "add", "default", "via", CORE_ROOT_ADDRESS, netns=HUB)
    run("iptables", "-N", CHAIN, netns=HUB)
    run("iptables", "-A", "FORWARD", "-j", CHAIN, netns=HUB)
    for leg in LEGS.values():
        run("ip", "netns", "add", leg.netns)
        run("ip", "link", "set", "lo", "up", netns=leg.netns)
        _veth(leg.client_dev, leg.hub_dev, HUB)
        run("ip", "link", "set", leg.client_dev, "netns", leg.netns)
        run("ip", "addr", "add", f"{leg.client_address}/24", "dev", leg.client_dev, netns=leg.netns)
        run("ip", "link", "set", leg.client_dev, "up", netns=leg.netns)
        run("ip", "route", "add", "default", "via", leg.hub_address, netns=leg.netns)
        run("ip", "addr", "add", f"{leg.hub_address}/24", "dev", leg.hub_dev, netns=HUB)
        run("ip", "link", "set", leg.hub_dev, "up", netns=HUB)
        run("ip", "route", "add", f"10.13.{leg.number}.0/24", "via", CORE_HUB_ADDRESS)
    pub, sub = LEGS["pub"], LEGS["sub"]
    for sender, netns, address in [
        (pub.netns, sub.netns, sub.client_address),
        (sub.netns, pub.netns, pub.client_address),
        (pub.netns, None, CORE_ROOT_ADDRESS),
        (sub.netns, None, CORE_ROOT_ADDRESS),
    ]:
        if not _reachable(sender, netns, address):
            raise NetnsUnavailable(f"{address} is not reachable from {sender}")


def attach(root_dev: str, peer_dev: str, peer_address: str) -> None:
    """Make an existing root veth pair a second link to the hub: Janus (janus_server.py)
    sends only through its own veth `la0`, so its peer `la1` must lead to the clients.
    Deleting `root_dev` later removes the link and its routes again."""
    run("ip", "link", "set", peer_dev, "netns", HUB)
    run("ip", "addr", "add", f"{peer_address}/24", "dev", peer_dev, netns=HUB)
    run("ip", "link", "set", peer_dev, "up", netns=HUB)
    for leg in LEGS.values():
        subnet = f"10.13.{leg.number}.0/24"
        run("ip", "route", "add", subnet, "via", peer_address, "dev", root_dev, "metric", "100")


_PROBE_PORT = 40913
_LISTEN = (
    "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
    f"s.bind(('0.0.0.0', {_PROBE_PORT})); print('up', flush=True); s.settimeout(3); s.recv(8)"
)
_SEND = (
    "import socket, sys, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    f"for _ in range(20): s.sendto(b'probe', (sys.argv[1], {_PROBE_PORT})); time.sleep(0.05)"
)


def _reachable(sender: str, netns: str | None, address: str) -> bool:
    """A UDP datagram from namespace `sender` reaches `address` in `netns` (None: root);
    Python rather than ping, which this machine lacks."""
    prefix = ["ip", "netns", "exec", netns] if netns else []
    listener = subprocess.Popen(
        [*prefix, sys.executable, "-c", _LISTEN], stdout=subprocess.PIPE, text=True
    )
    try:
        assert listener.stdout is not None
        listener.stdout.readline()
        run(sys.executable, "-c", _SEND, address, netns=sender, check=False)
        return listener.wait(5) == 0
    except subprocess.TimeoutExpired:
        return False
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait()


_CLONE_NEWNET = 0x40000000


def enter(netns: str) -> None:
    """Move the calling process into `netns` (Python 3.11 has no os.setns); before any
    socket or thread exists, so everything the process opens afterwards lives there."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {netns}")
    finally:
        os.close(fd)


class Impairments:
    """What is currently applied; clear() removes all of it (the namespaces stay)."""

    def __init__(self) -> None:
        self._qdiscs: list[tuple[str, str]] = []
        self._delayer: asyncio.subprocess.Process | None = None

    def loss(self, leg: Leg, direction: Direction, probability: float) -> None:
        where = ["-i", leg.hub_dev] if direction == "up" else ["-o", leg.hub_dev]
        run(
            "iptables", "-I", CHAIN, *where, "-m", "statistic", "--mode", "random",
            "--probability", f"{probability:.4f}", "-j", "DROP", netns=HUB,
        )  # fmt: skip

    def rate(self, leg: Leg, direction: Direction, kbit: int) -> None:
        """Cap (or re-cap, during a run) the leg's sending end in one direction."""
        netns, dev = (leg.netns, leg.client_dev) if direction == "up" else (HUB, leg.hub_dev)
        run(
            "tc", "qdisc", "replace", "dev", dev, "root", "tbf", "rate", f"{kbit}kbit",
            "burst", str(TBF_BURST_BYTES), "latency", f"{TBF_LATENCY_MS}ms", netns=netns,
        )  # fmt: skip
        if (netns, dev) not in self._qdiscs:
            self._qdiscs.append((netns, dev))

    async def delay(self, leg: Leg, delay_ms: float, jitter_ms: float) -> None:
        """Both directions of the leg through the delayer: the leg's RTT grows by 2 x delay."""
        if self._delayer is not None:
            raise RuntimeError("one delayed leg at a time")
        self._delayer = await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", HUB, sys.executable, "-m", "benchmarks.netns", "delay",
            "--queue", str(QUEUE), "--delay-ms", str(delay_ms), "--jitter-ms", str(jitter_ms),
            stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).parent.parent,
        )  # fmt: skip
        assert self._delayer.stdout is not None
        line = await asyncio.wait_for(self._delayer.stdout.readline(), 20)
        if not line.startswith(b"ready"):
            await self._stop_delayer()
            raise NetnsUnavailable("the NFQUEUE delayer did not start (netfilterqueue?)")
        for where in (["-i", leg.hub_dev], ["-o", leg.hub_dev]):
            run(
                "iptables", "-A", CHAIN, *where, "-j", "NFQUEUE", "--queue-num", str(QUEUE),
                "--queue-bypass", netns=HUB,
            )  # fmt: skip

    async def _stop_delayer(self) -> None:
        process, self._delayer = self._delayer, None
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()

    async def clear(self) -> None:
        run("iptables", "-F", CHAIN, netns=HUB, check=False)
        for netns, dev in self._qdiscs:
            run("tc", "qdisc", "del", "dev", dev, "root", netns=netns, check=False)
        self._qdiscs.clear()
        await self._stop_delayer()


class _Delayer:
    """Holds each queued packet for delay ± jitter (uniform), first in first out per
    incoming interface: jitter without reordering, which real paths rarely do."""

    def __init__(self, delay_ms: float, jitter_ms: float) -> None:
        self._delay, self._jitter = delay_ms / 1000, jitter_ms / 1000
        self._last: dict[int, float] = {}
        self._loop = asyncio.get_running_loop()

    def on_packet(self, packet: Any) -> None:
        """netfilterqueue's callback: the verdict (accept) is given later, when due."""
        due = self._loop.time() + self._delay + random.uniform(-self._jitter, self._jitter)
        due = max(due, self._last.get(packet.indev, 0.0))
        self._last[packet.indev] = due
        self._loop.call_at(due, _accept, packet)


def _accept(packet: Any) -> None:
    # A packet still held when the run ends: its queue is already unbound, nothing to do.
    with contextlib.suppress(RuntimeError):
        packet.accept()


async def _delay_main(queue: int, delay_ms: float, jitter_ms: float) -> None:
    # Imported by name: the `bench` extra brings it, and `make lint` installs only `test`.
    nfqueue = importlib.import_module("netfilterqueue")
    delayer = _Delayer(delay_ms, jitter_ms)
    nfq = nfqueue.NetfilterQueue()
    nfq.bind(queue, delayer.on_packet, max_len=8192, mode=nfqueue.COPY_META)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_reader(nfq.get_fd(), lambda: nfq.run(block=False))
    print("ready", flush=True)
    try:
        await stop.wait()
    finally:
        loop.remove_reader(nfq.get_fd())
        nfq.unbind()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    delay = commands.add_parser("delay", help="the NFQUEUE delayer (run inside the hub)")
    delay.add_argument("--queue", type=int, default=QUEUE)
    delay.add_argument("--delay-ms", type=float, required=True)
    delay.add_argument("--jitter-ms", type=float, default=0.0)
    commands.add_parser("cleanup", help="delete a crashed run's namespaces")
    commands.add_parser("check", help="build the namespaces, ping across, delete them")
    options = parser.parse_args()
    if options.command == "delay":
        asyncio.run(_delay_main(options.queue, options.delay_ms, options.jitter_ms))
    elif options.command == "cleanup":
        cleanup()
    else:
        started = time.monotonic()
        try:
            build()
            print(f"namespaces built and reachable in {time.monotonic() - started:.1f} s")
        finally:
            cleanup()


if __name__ == "__main__":
    main()
