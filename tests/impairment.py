"""Loss on loopback for tests: iptables' `statistic` match drops a share of one socket's
outgoing UDP (this kernel has no netem). Root and iptables are needed (make test installs
iptables; CI runs as root); otherwise the test skips and says why."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


def _rule(port: int, probability: float, towards: bool) -> list[str]:
    return [
        "OUTPUT",
        "-p",
        "udp",
        "--dport" if towards else "--sport",
        str(port),
        "-m",
        "statistic",
        "--mode",
        "random",
        "--probability",
        f"{probability:.4f}",
        "-j",
        "DROP",
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
