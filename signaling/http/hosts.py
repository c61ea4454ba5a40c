"""Which Host headers name this server. A page on a DNS-rebinding domain (evil.example made
to resolve to 127.0.0.1) talks to us from its own origin, so the Origin check lets it through;
its Host header is still evil.example, and that is refused."""

from __future__ import annotations

from urllib.parse import urlsplit

from signaling.config import ServerConfig

ANY_PORT = None
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
UNSPECIFIED = ("0.0.0.0", "::", "[::]", "")  # listening everywhere names no host


def split_host(value: str) -> tuple[str, int | None]:
    """'Name:port' → ('name', port); IPv6 stays in brackets; a trailing dot is dropped."""
    value = value.strip().lower()
    name, port = value, None
    if value.startswith("["):
        end = value.find("]")
        name, rest = value[: end + 1], value[end + 1 :]
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
        elif rest:
            return "", None
    elif value.count(":") == 1:
        name, _, digits = value.partition(":")
        if not digits.isdigit():
            return "", None
        port = int(digits)
    return name.rstrip("."), port


class HostPolicy:
    def __init__(self, server: ServerConfig) -> None:
        self.any_host = "*" in server.allowed_hosts
        allowed: set[tuple[str, int | None]] = {(name, server.port) for name in LOOPBACK_NAMES}
        if server.host.lower() not in UNSPECIFIED:
            own = server.host.lower()
            allowed.add((f"[{own}]" if ":" in own else own, server.port))
        if server.public_url:
            public = urlsplit(server.public_url)
            if public.hostname:
                name = f"[{public.hostname}]" if ":" in public.hostname else public.hostname
                allowed.add((name, public.port or ANY_PORT))
        for entry in server.allowed_hosts:
            if entry != "*":
                allowed.add(split_host(entry))
        self.allowed = frozenset(allowed)

    def allows(self, host: str | None, default_port: int) -> bool:
        """`default_port`: what a Host without a port means (80 for http, 443 for https)."""
        if self.any_host:
            return True
        if not host:
            return False
        name, port = split_host(host)
        port = default_port if port is None else port
        return (name, port) in self.allowed or (name, ANY_PORT) in self.allowed
