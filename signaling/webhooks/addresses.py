"""Where webhooks may go (SSRF): http(s) URLs whose host the configuration allows, never to
link-local or cloud metadata addresses, loopback and private addresses only when the
configuration says so. Checked when an endpoint is saved (the URL, and the addresses its
name resolves to now) and again at every delivery on the addresses actually connected to
(GuardedResolver), so a name that later resolves elsewhere (DNS rebinding) is refused."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from signaling.config import WebhooksConfig
from signaling.errors import InvalidPayload, UrlNotAllowed

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

NEVER = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches the local host on Linux
        "169.254.0.0/16",  # IPv4 link-local, 169.254.169.254: AWS/GCP/Azure/OCI metadata
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "168.63.129.16/32",  # Azure's host agent (wireserver)
        "192.0.0.0/24",  # IETF protocol assignments (192.0.0.192: Oracle's old metadata)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and 255.255.255.255
        "::/128",  # unspecified
        "fe80::/10",  # IPv6 link-local
        "fd00:ec2::254/128",  # AWS metadata over IPv6
        "ff00::/8",  # multicast
    )
)
METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
PRIVATE = tuple(
    ipaddress.ip_network(net)
    for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
LOOPBACK = tuple(ipaddress.ip_network(net) for net in ("127.0.0.0/8", "::1/128"))


# What a webhook URL looks like (the REST body's schema says the same): http or https, a host
# name, IPv4 or [IPv6] address, an optional port, no user name or password, printable ASCII.
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
URL_PATTERN = (
    rf"https?://({_LABEL}(\.{_LABEL})*\.?|\[[0-9A-Fa-f:.]{{2,45}}\])(:{_PORT})?"
    r"([/?#][\x21-\x7e]*)?"
)


_URL = re.compile(URL_PATTERN)


def _malformed(raw: str) -> str:
    scheme, sep, rest = raw.partition("://")
    if not sep or scheme not in ("http", "https"):
        shown = scheme.split(":")[0][:20] if sep or ":" in raw else "none"
        return f"only http:// and https:// URLs are allowed (the scheme is {shown or 'none'})"
    if "@" in rest.split("/")[0].split("?")[0].split("#")[0]:
        return "user names and passwords in the URL are not allowed; use the secret"
    return (
        "not a usable http(s) URL: it needs a host name or address, an optional port "
        "(0-65535) and a path of printable ASCII characters (encode spaces and other "
        "characters as %XX)"
    )


class UrlMalformed(InvalidPayload):
    """400: not a URL webhooks can use at all (scheme, credentials, no host)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, details={"field": "url"})


class UrlRefused(UrlNotAllowed):
    """403 url_not_allowed: a well-formed URL whose destination is not allowed; says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message, details={"field": "url"})


class AddressRefused(OSError):
    """At delivery: the host resolved to an address webhooks may not reach."""


def _plain(address: Address) -> Address:
    """::ffff:169.254.169.254 is 169.254.169.254."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class AddressPolicy:
    def __init__(self, config: WebhooksConfig) -> None:
        self.config = config
        self._names: list[str] = []
        self._networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in config.allowed_hosts:
            try:
                self._networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self._names.append(entry.lower().rstrip("."))

    @property
    def any_allowed(self) -> bool:
        return bool(self.config.allowed_hosts)

    def address_refusal(self, raw: Address) -> str | None:
        """Why this address may not be reached, or None."""
        address = _plain(raw)
        if any(address in net for net in NEVER):
            kind = "link-local or cloud metadata" if address.is_link_local else "reserved"
            if str(address) in ("169.254.169.254", "100.100.100.200", "fd00:ec2::254"):
                kind = "cloud metadata"
            return f"{address} is a {kind} address; webhooks never go there"
        if any(address in net for net in LOOPBACK):
            if not self.config.allow_loopback:
                return (
                    f"{address} is a loopback address (this machine); allowed only with "
                    "webhooks.allow_loopback = true"
                )
        elif any(address in net for net in PRIVATE) and not self.config.allow_private:
            return (
                f"{address} is a private address; allowed only with webhooks.allow_private = true"
            )
        return None

    def _host_listed(self, host: str, address: Address | None) -> bool:
        for name in self._names:
            if name == "*" or name == host or (name.startswith("*.") and host.endswith(name[1:])):
                return True
        return address is not None and any(_plain(address) in net for net in self._networks)

    def check_url(self, raw: str) -> URL:
        """The URL, or UrlMalformed / UrlRefused saying why not (no network I/O)."""
        if not _URL.fullmatch(raw):
            raise UrlMalformed(_malformed(raw))
        try:
            url = URL(raw)
        except (ValueError, TypeError):
            raise UrlMalformed("the URL could not be parsed") from None
        if not url.host:  # pragma: no cover - the pattern needs one
            raise UrlMalformed("the URL has no host")
        host = url.host.lower().rstrip(".")
        if host in METADATA_NAMES:
            raise UrlRefused(f"{host} is a cloud metadata service; webhooks never go there")
        try:
            address: Address | None = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            address = None
        if address is not None:
            reason = self.address_refusal(address)
            if reason:
                raise UrlRefused(reason)
        if not self.any_allowed:
            raise UrlRefused(
                "no webhook hosts are allowed on this server: its administrator must list them "
                "in the configuration (webhooks.allowed_hosts)"
            )
        if not self._host_listed(host, address):
            raise UrlRefused(
                f"the host {host} is not allowed by the configuration (webhooks.allowed_hosts: "
                f"{', '.join(self.config.allowed_hosts)})"
            )
        return url

    async def check_resolved(self, url: URL) -> None:
        """Refuse a name that resolves to an address webhooks may not reach now. A name that
        does not resolve (yet) is accepted: deliveries check again, and retry."""
        host = url.host or ""
        try:
            ipaddress.ip_address(host.strip("[]"))
            return  # a literal: check_url judged it
        except ValueError:
            pass
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                host, url.port or 443, type=socket.SOCK_STREAM
            )
        except OSError:
            return
        for *_rest, sockaddr in found:
            reason = self.address_refusal(ipaddress.ip_address(str(sockaddr[0]).split("%")[0]))
            if reason:
                raise UrlRefused(f"{host} resolves to {reason}")


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing a name any of whose addresses the policy forbids."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        for entry in found:
            reason = self._policy.address_refusal(ipaddress.ip_address(entry["host"]))
            if reason:
                raise AddressRefused(f"{host} resolves to {reason}")
        return found

    async def close(self) -> None:
        await self._inner.close()


def describe(error: BaseException) -> str:
    """An error as one line for the delivery's last_error."""
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:500] if text else type(error).__name__
