"""Loss and bandwidth caps on loopback for tests (this kernel has no netem): iptables'
`statistic` match drops a share of one socket's UDP, and an HTB class on `lo` caps what one
socket sends. Root, iptables and tc are needed (make test installs iptables; iproute2 comes
with Debian; CI runs as root); otherwise the test skips and says why."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


def _rule(port: int, probability: float, towards: bool) -> list[str]:
    direction = "--dport" if towards else "--sport"
    return [
        *["OUTPUT", "-p", "udp", direction, str(port), "-m", "statistic"],
        *["--mode", "random", "--probability", f"{probability:.4f}", "-j", "DROP"],
    ]


@contextmanager
def udp_loss(port: int, probability: float, *, towards: bool = False) -> Iterator[None]:
    """Drop `probability` of the UDP datagrams sent from local port `port` (`towards`: sent
    to it: on loopback, that socket's downlink) until the block ends."""
    iptables = shutil.which("iptables")
    if iptables is None:
        pytest.skip("iptables is not installed (Debian package iptables; make test installs it)")
    if os.geteuid() != 0:
        pytest.skip("loss is made with iptables, which needs root")
    rule = _rule(port, probability, towards)
    subprocess.run([iptables, "-I", *rule], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run([iptables, "-D", *rule], check=False, capture_output=True)


def _tc(command: str, *, check: bool = True) -> None:
    subprocess.run(["tc", *command.split()], check=check, capture_output=True)


@contextmanager
def udp_rate_cap(port: int, kbit: int, *, queue_packets: int = 30) -> Iterator[None]:
    """Cap the UDP sent from local port `port` over loopback at `kbit` kbit/s (a queue of
    `queue_packets`, then drops: a narrow uplink), everything else unshaped."""
    if shutil.which("tc") is None:
        pytest.skip("tc is not installed (Debian package iproute2)")
    if os.geteuid() != 0:
        pytest.skip("a bandwidth cap is made with tc, which needs root")
    _tc("qdisc del dev lo root", check=False)
    # Unclassified packets (HTB's default class 0 does not exist) pass unshaped.
    _tc("qdisc add dev lo root handle 1: htb")
    try:
        _tc(f"class add dev lo parent 1: classid 1:20 htb rate {kbit}kbit ceil {kbit}kbit")
        _tc(f"qdisc add dev lo parent 1:20 handle 20: pfifo limit {queue_packets}")
        for family, protocol, prio in (("ip", "ip", 1), ("ip6", "ipv6", 2)):
            # A host candidate may be of either family.
            _tc(
                f"filter add dev lo parent 1: protocol {protocol} prio {prio} u32"
                f" match {family} protocol 17 0xff match {family} sport {port} 0xffff"
                " flowid 1:20"
            )
        yield
    finally:
        _tc("qdisc del dev lo root", check=False)
