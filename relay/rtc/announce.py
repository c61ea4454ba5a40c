"""The relay's public address in its answers, for a relay behind a 1:1 NAT (relay.public_ip).

A cloud VM knows only its private address (10.0.0.5) while the world reaches it at a public
or elastic one (203.0.113.7) that maps every port to the same port of the private one. aioice
gathers host candidates from the machine's interfaces only, so without help a client outside
sees addresses it cannot reach. After each host candidate of the same address family this
adds a server-reflexive candidate: the public address, the same port, the host candidate as
its base (what a STUN server would have told the relay, without asking one). The host
candidates stay, so clients inside the private network still connect directly.
"""

from __future__ import annotations

import ipaddress

from aioice.candidate import Candidate, candidate_foundation, candidate_priority

PREFIX = "a=candidate:"


def announce_address(sdp: str, address: str) -> str:
    """`sdp` with a candidate for `address` after each host candidate of its family."""
    if not address:
        return sdp
    family = ipaddress.ip_address(address).version
    newline = "\r\n" if "\r\n" in sdp else "\n"
    lines: list[str] = []
    for line in sdp.splitlines():
        lines.append(line)
        if not line.startswith(PREFIX):
            continue
        host = Candidate.from_sdp(line[len(PREFIX) :])
        if host.type != "host" or _family(host.host) != family:
            continue
        public = Candidate(
            foundation=candidate_foundation("srflx", host.transport, host.host),
            component=host.component,
            transport=host.transport,
            priority=candidate_priority(host.component, "srflx"),
            host=address,
            port=host.port,
            type="srflx",
            related_address=host.host,
            related_port=host.port,
            tcptype=host.tcptype,
        )
        lines.append(PREFIX + public.to_sdp())
    return newline.join(lines) + (newline if sdp.endswith(("\n", "\r\n")) else "")


def _family(host: str) -> int | None:
    try:
        return ipaddress.ip_address(host).version
    except ValueError:  # an mDNS name
        return None
