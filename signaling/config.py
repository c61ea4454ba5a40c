"""Typed configuration: defaults → TOML file → LIVEASSIST_* environment → command-line flags.

Every layer is checked against the same dataclasses, so an unknown key or a wrong type stops
the server at start with a message that names the key, never later at first use.
"""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
import os
import re
import socket
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relay.cluster.registry import NODE_ID
from relay.interface import EVENT_LOOP_KINDS
from signaling.errors import ConfigError

ENV_PREFIX = "LIVEASSIST_"
CONFIG_FILE_ENV = "LIVEASSIST_CONFIG"
# LIVEASSIST_* variables that are not config keys: the file path, log level, a new password.
HOST_ENTRY = re.compile(r"\*|([a-z0-9_.-]+|\[[0-9a-f:.]+\])(:\d{1,5})?")
NON_CONFIG_ENV = frozenset({CONFIG_FILE_ENV, "LIVEASSIST_LOG_LEVEL", "LIVEASSIST_NEW_PASSWORD"})
# RFC 7064 (stun:, stuns:) and RFC 7065 (turn:, turns:, with an optional transport) URIs.
ICE_SERVER_URL = re.compile(
    r"(?P<scheme>stuns?|turns?):"
    r"([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(:(?P<port>\d{1,5}))?"
    r"(\?transport=(?P<transport>udp|tcp))?"
)


def is_ice_server_url(url: str) -> bool:
    """A stun:/stuns:/turn:/turns: URI a browser's RTCPeerConnection accepts."""
    match = ICE_SERVER_URL.fullmatch(url)
    if match is None or (match["transport"] and match["scheme"].startswith("stun")):
        return False
    return match["port"] is None or 0 < int(match["port"]) < 65536


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: str = "./data"
    # Origins (scheme://host[:port]) allowed to open Socket.IO connections and call the REST API
    # from a browser, besides the server's own address. Host sites embedding the widget go here.
    allowed_origins: list[str] = field(default_factory=list)
    # The address people use to reach this server (behind a proxy); printed at start.
    # Same-origin checks use the request's own Host, so a proxy must pass it through.
    public_url: str = ""
    # Host header values accepted besides this server's own (host:port, localhost and
    # 127.0.0.1 at the port, public_url's host): name or name:port, "*" for any (DNS rebinding).
    allowed_hosts: list[str] = field(default_factory=list)
    # On SIGTERM, answer /healthz 503 "draining" for this long while still serving, so a load
    # balancer stops sending new connections before the sockets are closed (0: close at once).
    drain_seconds: float = 0.0
    # redis://[:password@]host:port/db (or rediss://, unix://): the relay nodes registered there
    # carry the calls (relay.embedded adds this machine's workers as one). Empty: no Redis.
    redis_url: str = ""
    # The serving process's event loop: "uvloop" (less CPU per chat message) or "asyncio".
    event_loop: str = "uvloop"

    def __post_init__(self) -> None:
        if self.event_loop not in EVENT_LOOP_KINDS:
            raise ConfigError('server.event_loop must be "uvloop" or "asyncio"')
        if not 0 < self.port < 65536:
            raise ConfigError(f"server.port must be 1..65535, got {self.port}")
        if not 0 <= self.drain_seconds <= 3600:
            raise ConfigError("server.drain_seconds must be between 0 and 3600")
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("server.redis_url must start with redis://, rediss:// or unix://")
        for name in self.allowed_hosts:
            if not HOST_ENTRY.fullmatch(name.lower()):
                raise ConfigError(
                    f"server.allowed_hosts entry {name!r} must look like host, host:port or *"
                )
        for origin in self.allowed_origins:
            if not origin.startswith(("http://", "https://")) or origin.endswith("/"):
                raise ConfigError(
                    f"server.allowed_origins entry {origin!r} must look like https://host[:port]"
                )

    @property
    def own_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"


@dataclass
class DatabaseConfig:
    # Empty means the embedded default: SQLite (WAL) at <data_dir>/liveassist.db.
    url: str = ""
    echo: bool = False


@dataclass
class AuthConfig:
    # Empty means: generate once and keep in <data_dir>/secret.key.
    secret_key: str = ""
    staff_token_ttl_seconds: int = 900
    staff_session_max_seconds: int = 12 * 3600
    guest_token_ttl_seconds: int = 24 * 3600
    # Argon2id cost; defaults follow RFC 9106's second recommended option.
    password_memory_kib: int = 65536
    password_time_cost: int = 3
    # A browser or app that signed in successfully gets a device token (a cookie, and in the
    # answer) that keeps it out of the sign-in limits meant for unknown devices this long.
    device_token_ttl_days: int = 90

    def __post_init__(self) -> None:
        if self.staff_token_ttl_seconds < 30:
            raise ConfigError("auth.staff_token_ttl_seconds must be at least 30")
        if self.password_memory_kib < 8192:
            raise ConfigError("auth.password_memory_kib must be at least 8192 (8 MiB)")
        if self.device_token_ttl_days < 1:
            raise ConfigError("auth.device_token_ttl_days must be at least 1")


@dataclass
class LimitsConfig:
    events_per_second: float = 20.0
    event_burst: int = 40
    ip_events_per_second: float = 200.0
    ip_event_burst: int = 400
    # Sign-in attempts from one address (known devices excepted), all accounts together.
    logins_per_minute_per_ip: int = 20
    # Chats a guest may open from one address (widget sessions): steady rate, then burst.
    ip_guest_sessions_per_second: float = 1.0
    ip_guest_session_burst: int = 30
    # New Socket.IO connections from one IP address per second, and the burst above that.
    ip_connects_per_second: float = 10.0
    ip_connect_burst: int = 60
    # Failed sign-ins to one account from one address or device before it must wait; each
    # further failure doubles the wait, from login_backoff_seconds up to the maximum.
    login_free_failures: int = 5
    login_backoff_seconds: float = 2.0
    login_backoff_max_seconds: float = 900.0
    # Failed sign-ins to one account per hour from unknown devices (all addresses together)
    # before only known devices may try it.
    login_unknown_failures_per_hour: int = 30
    max_event_bytes: int = 16384

    def __post_init__(self) -> None:
        if self.logins_per_minute_per_ip < 1 or self.login_unknown_failures_per_hour < 1:
            raise ConfigError(
                "limits.logins_per_minute_per_ip and limits.login_unknown_failures_per_hour "
                "must be at least 1"
            )
        if not 0 < self.login_backoff_seconds <= self.login_backoff_max_seconds:
            raise ConfigError(
                "limits.login_backoff_seconds must be positive and at most "
                "limits.login_backoff_max_seconds"
            )


@dataclass
class RoutingConfig:
    # Used for the customer's expected wait until enough chats have ended to measure it.
    default_handle_seconds: int = 300
    # How long an agent may be disconnected (page reload, network blip) before their chats requeue.
    agent_offline_grace_seconds: int = 30


@dataclass
class AttachmentsConfig:
    max_image_bytes: int = 10 * 1024 * 1024
    max_video_bytes: int = 50 * 1024 * 1024


@dataclass
class ContextHookConfig:
    # Optional CRM/order lookup: GET <url>?customer_id=..&external_id=..&email=..
    url: str = ""
    timeout_seconds: float = 2.0
    cache_seconds: float = 60.0


@dataclass
class RelayConfig:
    # Relay worker processes for calls; 0 means one per core.
    workers: int = 0
    # Participants (peer connections) one worker takes before calls go elsewhere.
    worker_capacity: int = 100
    # Start the workers with the server (false: at the first call; chat-only setups, tests).
    preload: bool = True
    # The workers' event loop: "uvloop" (less CPU per forwarded packet) or "asyncio".
    event_loop: str = "uvloop"
    # With server.redis_url: also run this machine's workers as a relay node (false: calls go
    # only to nodes started with `liveassist relay`).
    embedded: bool = True
    # This machine's relay node name in Redis (default: the host name); unique per node.
    node_id: str = ""
    # How often a relay node says it is alive; it counts as gone after 4 missed beats.
    heartbeat_seconds: float = 0.5
    # Draining a relay node (SIGTERM, `liveassist relay drain`): how long its calls may go on
    # before they are moved to another node.
    drain_seconds: float = 120.0
    # The address clients reach this relay at when it sits behind a 1:1 NAT (a cloud VM's
    # public or elastic IP): announced in its answers beside its own addresses. Empty: none.
    public_ip: str = ""

    @property
    def node_name(self) -> str:
        """This machine's relay node id in Redis: node_id, else the host name."""
        return self.node_id or socket.gethostname()

    def __post_init__(self) -> None:
        if self.node_id and not NODE_ID.fullmatch(self.node_id):
            raise ConfigError("relay.node_id must be 1-64 characters of [A-Za-z0-9_.-]")
        if not 0.05 <= self.heartbeat_seconds <= 10:
            raise ConfigError("relay.heartbeat_seconds must be between 0.05 and 10")
        if self.drain_seconds < 0:
            raise ConfigError("relay.drain_seconds must not be negative")
        if self.workers < 0:
            raise ConfigError("relay.workers must be 0 (one per core) or more")
        if self.worker_capacity < 2:
            raise ConfigError("relay.worker_capacity must be at least 2 (one call)")
        if self.event_loop not in EVENT_LOOP_KINDS:
            raise ConfigError('relay.event_loop must be "uvloop" or "asyncio"')
        if self.public_ip:
            try:
                address = ipaddress.ip_address(self.public_ip)
            except ValueError:
                address = None
            if address is None or (
                address.is_unspecified or address.is_loopback or address.is_multicast
            ):
                raise ConfigError(
                    f"relay.public_ip must be the IPv4 or IPv6 address clients reach the relay "
                    f"at (not loopback, multicast or unspecified), got {self.public_ip!r}"
                )


@dataclass
class CallsConfig:
    # An unanswered call becomes a missed call after this long.
    ring_seconds: float = 30.0
    # A participant who dropped (network, page reload) may rejoin for this long.
    reconnect_seconds: float = 20.0
    # How often clients send call.stats (they are told in the protocol; the server checks).
    stats_interval_seconds: float = 5.0
    # Samples in a row at "poor" before a step down (video, screen only, audio, chat) is offered.
    poor_samples: int = 3
    # Apply the step down at once instead of offering it to the agent.
    auto_downgrade: bool = False
    # STUN and TURN servers handed to each participant of a call (call.ice_servers), e.g.
    # "stun:turn.example.com:3478", "turn:turn.example.com:3478?transport=udp". Empty: none
    # (clients reach the relay directly: loopback, LAN, or relay.public_ip).
    ice_servers: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.ring_seconds <= 0 or self.reconnect_seconds <= 0:
            raise ConfigError("calls.ring_seconds and calls.reconnect_seconds must be positive")
        if self.poor_samples < 1:
            raise ConfigError("calls.poor_samples must be at least 1")
        for url in self.ice_servers:
            if not is_ice_server_url(url):
                raise ConfigError(
                    f"calls.ice_servers entry {url!r} must look like stun:host[:port], "
                    "stuns:host[:port], turn:host[:port][?transport=udp|tcp] or turns:…"
                )

    @property
    def turn_urls(self) -> list[str]:
        """The turn: and turns: entries (they need credentials: turn.secret)."""
        return [url for url in self.ice_servers if url.startswith(("turn:", "turns:"))]


@dataclass
class TurnConfig:
    # coturn's static-auth-secret (with use-auth-secret): each call participant is handed
    # TURN credentials signed with it (TURN REST API). Empty: no TURN credentials.
    secret: str = ""
    # How long handed-out TURN credentials may open a TURN allocation; an allocation made in
    # time lasts the whole call. Short: a leaked credential is soon useless.
    ttl_seconds: int = 3600

    def __post_init__(self) -> None:
        if self.secret and len(self.secret) < 16:
            raise ConfigError("turn.secret must be at least 16 characters (or empty)")
        if not 60 <= self.ttl_seconds <= 7 * 86_400:
            raise ConfigError("turn.ttl_seconds must be between 60 and 604800 (7 days)")


@dataclass
class RecordingsConfig:
    # Where recordings are kept (raw capture, then the played files); empty: <data_dir>/recordings.
    dir: str = ""
    # Largest total size of recordings; past it the oldest finished recordings are deleted.
    # 0: no budget (retention and the disk's free space still apply).
    budget_bytes: int = 0
    # Recordings older than this many days are deleted (each deletion is in the audit log).
    retention_days: int = 90
    # New recordings are refused (marked failed) when the disk has less free than this.
    min_free_bytes: int = 512 * 1024 * 1024
    # A base64 key of 32 bytes turns on encryption at rest (AES-256-GCM in chunks) of the
    # recordings' files; empty: off. Keep the key: without it the recordings are unreadable.
    encryption_key: str = ""
    # How long a playback/download link stays valid.
    link_seconds: int = 300

    def __post_init__(self) -> None:
        if self.budget_bytes < 0 or self.min_free_bytes < 0:
            raise ConfigError("recordings.budget_bytes and min_free_bytes must not be negative")
        if self.retention_days < 1:
            raise ConfigError("recordings.retention_days must be at least 1")
        if not 10 <= self.link_seconds <= 86_400:
            raise ConfigError("recordings.link_seconds must be between 10 and 86400")
        if self.encryption_key:
            try:
                key = base64.b64decode(self.encryption_key, validate=True)
            except ValueError:
                key = b""
            if len(key) != 32:
                raise ConfigError(
                    "recordings.encryption_key must be 32 bytes in base64 "
                    "(make one with: openssl rand -base64 32)"
                )


@dataclass
class MetricsConfig:
    # GET /metrics (Prometheus text): counters and gauges of signaling and every relay worker.
    enabled: bool = True
    # Empty: only clients on this machine (loopback addresses) may read it. Set: any address
    # may, with "Authorization: Bearer <token>" (loopback clients too). At least 16 characters.
    token: str = ""

    def __post_init__(self) -> None:
        if self.token and len(self.token) < 16:
            raise ConfigError("metrics.token must be at least 16 characters (or empty)")


WEBHOOK_HOST_ENTRY = re.compile(r"(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*|\*")


@dataclass
class WebhooksConfig:
    # Hosts webhook endpoints may point at: names ("crm.example.com"), "*.example.com" for a
    # domain's hosts, IP addresses or networks ("203.0.113.7", "10.1.0.0/16"), or "*" for any
    # host. Empty (the default): no endpoint can be added and nothing is ever sent anywhere.
    allowed_hosts: list[str] = field(default_factory=list)
    # Loopback addresses (127.0.0.0/8, ::1) only when true (a receiver on this machine).
    allow_loopback: bool = False
    # Private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) only when true.
    # Link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10, ...) never.
    allow_private: bool = False
    # One attempt: connect, send and read the status within this long.
    timeout_seconds: float = 10.0
    # A delivery is retried (exponential backoff with jitter) for this long after its event,
    # then dead-lettered: admins see it in the console and may send it again.
    max_age_seconds: float = 24 * 3600.0
    # The first retry waits about this long, doubling with every failure up to retry_max_seconds.
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 3600.0
    # How often each signaling process looks for deliveries that are due.
    poll_seconds: float = 1.0
    # Deliveries one process sends at once (to different endpoints or chats).
    concurrency: int = 8
    # Delivered events stay listed (GET /api/webhooks/deliveries) this many days, then go.
    keep_delivered_days: float = 7.0

    def __post_init__(self) -> None:
        for entry in self.allowed_hosts:
            if not (WEBHOOK_HOST_ENTRY.fullmatch(entry.lower()) or _is_network(entry)):
                raise ConfigError(
                    f"webhooks.allowed_hosts entry {entry!r} must be a host name, *.domain, "
                    "an IP address or network (10.0.0.0/8), or *"
                )
        if not 0.5 <= self.timeout_seconds <= 120:
            raise ConfigError("webhooks.timeout_seconds must be between 0.5 and 120")
        if not 1 <= self.max_age_seconds <= 30 * 86400:
            raise ConfigError("webhooks.max_age_seconds must be between 1 and 2592000 (30 days)")
        if not 0.05 <= self.retry_base_seconds <= self.retry_max_seconds <= 86400:
            raise ConfigError(
                "webhooks.retry_base_seconds must be at least 0.05 and at most "
                "webhooks.retry_max_seconds (at most 86400)"
            )
        if not 0.05 <= self.poll_seconds <= 60:
            raise ConfigError("webhooks.poll_seconds must be between 0.05 and 60")
        if not 1 <= self.concurrency <= 100:
            raise ConfigError("webhooks.concurrency must be between 1 and 100")
        if not 0 <= self.keep_delivered_days <= 3650:
            raise ConfigError("webhooks.keep_delivered_days must be between 0 and 3650")


def _is_network(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


@dataclass
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    attachments: AttachmentsConfig = field(default_factory=AttachmentsConfig)
    context_hook: ContextHookConfig = field(default_factory=ContextHookConfig)
    relay: RelayConfig = field(default_factory=RelayConfig)
    calls: CallsConfig = field(default_factory=CallsConfig)
    recordings: RecordingsConfig = field(default_factory=RecordingsConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    turn: TurnConfig = field(default_factory=TurnConfig)
    webhooks: WebhooksConfig = field(default_factory=WebhooksConfig)

    def __post_init__(self) -> None:
        turn_urls = self.calls.turn_urls
        if turn_urls and not self.turn.secret:
            raise ConfigError(
                f"calls.ice_servers lists TURN servers ({', '.join(turn_urls)}) but turn.secret "
                "is empty: set it to the TURN server's static-auth-secret"
            )
        if self.turn.secret and not turn_urls:
            raise ConfigError(
                "turn.secret is set but calls.ice_servers lists no turn: or turns: URL to use it"
            )

    @property
    def data_path(self) -> Path:
        return Path(self.server.data_dir).expanduser().resolve()

    @property
    def recordings_path(self) -> Path:
        return (
            Path(self.recordings.dir).expanduser().resolve()
            if self.recordings.dir
            else (self.data_path / "recordings")
        )

    @property
    def database_url(self) -> str:
        """SQLAlchemy async URL; plain postgresql:// URLs are mapped onto asyncpg."""
        url = self.database.url
        if not url:
            return f"sqlite+aiosqlite:///{self.data_path / 'liveassist.db'}"
        for plain in ("postgresql://", "postgres://"):
            if url.startswith(plain):
                return "postgresql+asyncpg://" + url[len(plain) :]
        if url.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
        return url


def _sections() -> dict[str, type[Any]]:
    hints = typing.get_type_hints(Config)
    return {f.name: hints[f.name] for f in dataclasses.fields(Config)}


def _coerce(value: Any, kind: Any, where: str) -> Any:
    """Convert a file/env/flag value to the declared type, or explain what was expected."""
    origin = typing.get_origin(kind)
    if origin is list:
        (item_kind,) = typing.get_args(kind)
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        return [_coerce(item, item_kind, where) for item in value]
    if origin in (types.UnionType, typing.Union):
        raise ConfigError(f"{where}: unsupported optional type")  # pragma: no cover
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {
            "1",
            "true",
            "yes",
            "on",
            "0",
            "false",
            "no",
            "off",
        }:
            return value.lower() in {"1", "true", "yes", "on"}
        raise ConfigError(f"{where} must be true or false, got {value!r}")
    if kind is int:
        if isinstance(value, bool):
            raise ConfigError(f"{where} must be an integer, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where} must be an integer, got {value!r}") from None
    if kind is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where} must be a number, got {value!r}") from None
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported type {kind!r}")  # pragma: no cover


def _merge(target: dict[str, dict[str, Any]], updates: Mapping[str, Any], source: str) -> None:
    sections = _sections()
    unknown_sections = sorted(set(updates) - set(sections))
    if unknown_sections:
        raise ConfigError(
            f"unknown config section(s) in {source}: {', '.join(unknown_sections)}; "
            f"known: {', '.join(sections)}"
        )
    for section_name, values in updates.items():
        if not isinstance(values, Mapping):
            raise ConfigError(f"[{section_name}] in {source} must be a table of keys")
        section_type = sections[section_name]
        hints = typing.get_type_hints(section_type)
        unknown = sorted(set(values) - set(hints))
        if unknown:
            raise ConfigError(
                f"unknown key(s) in [{section_name}] of {source}: {', '.join(unknown)}; "
                f"known: {', '.join(hints)}"
            )
        for key, raw in values.items():
            where = f"{section_name}.{key} ({source})"
            target.setdefault(section_name, {})[key] = _coerce(raw, hints[key], where)


def _env_updates(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Map LIVEASSIST_<SECTION>_<KEY> onto sections; unknown names are errors, not ignored."""
    sections = _sections()
    updates: dict[str, dict[str, Any]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in NON_CONFIG_ENV:
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        match = next(
            (s for s in sorted(sections, key=len, reverse=True) if rest.startswith(s + "_")), None
        )
        if match is None:
            raise ConfigError(
                f"unknown environment variable {name}: expected {ENV_PREFIX}<SECTION>_<KEY> with "
                f"SECTION one of {', '.join(s.upper() for s in sections)}"
            )
        key = rest[len(match) + 1 :]
        if key not in typing.get_type_hints(sections[match]):
            raise ConfigError(f"unknown environment variable {name}: [{match}] has no key {key!r}")
        updates.setdefault(match, {})[key] = value
    return updates


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Config:
    """Build the one Config: defaults, then the file, then the environment, then flags."""
    environ = os.environ if environ is None else environ
    layered: dict[str, dict[str, Any]] = {}
    file_path = path or environ.get(CONFIG_FILE_ENV)
    if file_path:
        try:
            with open(file_path, "rb") as handle:
                parsed = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {file_path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {file_path} is not valid TOML: {exc}") from None
        _merge(layered, parsed, str(file_path))
    _merge(layered, _env_updates(environ), "environment")
    if overrides:
        _merge(layered, overrides, "command line")
    try:
        built = {name: kind(**layered.get(name, {})) for name, kind in _sections().items()}
    except TypeError as exc:  # pragma: no cover - keys were checked above
        raise ConfigError(str(exc)) from None
    return Config(**built)
