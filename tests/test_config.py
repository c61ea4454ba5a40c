"""The typed config: layers in order, unknown keys and bad values refused by name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from signaling.config import load_config
from signaling.errors import ConfigError


def test_defaults_need_no_configuration() -> None:
    config = load_config(environ={})
    assert config.server.port == 8080 and config.server.host == "127.0.0.1"
    assert config.database_url.startswith("sqlite+aiosqlite:///") and config.database_url.endswith(
        "liveassist.db"
    )
    assert config.auth.password_memory_kib == 65536  # Argon2id, RFC 9106 second option


def test_layers_file_then_environment_then_flags(tmp_path: Path) -> None:
    file = tmp_path / "la.toml"
    file.write_text('[server]\nport = 9000\nhost = "0.0.0.0"\n[limits]\nevent_burst = 7\n')
    config = load_config(
        file,
        environ={
            "LIVEASSIST_SERVER_PORT": "9100",
            "LIVEASSIST_DATABASE_URL": "postgresql://u:p@db/la",
            "LIVEASSIST_SERVER_ALLOWED_ORIGINS": "https://a.example, https://b.example",
        },
        overrides={"server": {"port": 9200}},
    )
    assert config.server.port == 9200 and config.server.host == "0.0.0.0"
    assert config.limits.event_burst == 7
    assert config.database_url == "postgresql+asyncpg://u:p@db/la"
    assert config.server.allowed_origins == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[server]\nprot = 1\n", "unknown key(s) in [server]"),
        ("[sever]\nport = 1\n", "unknown config section(s)"),
        ("[server]\nport = 'eighty'\n", "server.port"),
        ("[server]\nport = 70000\n", "server.port must be 1..65535"),
        ("[server]\nevent_loop = 'trio'\n", 'server.event_loop must be "uvloop" or "asyncio"'),
        ("[server]\nallowed_origins = ['shop.example/']\n", "allowed_origins"),
        ("[auth]\npassword_memory_kib = 1024\n", "at least 8192"),
        ("[calls]\nice_servers = ['turn.example.com:3478']\n", "calls.ice_servers entry"),
        ("[calls]\nice_servers = ['stun:a.example?transport=udp']\n", "calls.ice_servers entry"),
        ("[calls]\nice_servers = ['turn:a.example:70000']\n", "calls.ice_servers entry"),
        ("[calls]\nice_servers = ['turns:a.example']\n", "but turn.secret is empty"),
        ("[turn]\nsecret = '0123456789abcdef'\n", "lists no turn: or turns: URL"),
        ("[turn]\nsecret = 'short'\n", "at least 16 characters"),
        ("[turn]\nttl_seconds = 5\n", "turn.ttl_seconds"),
        ("[relay]\npublic_ip = 'elastic.example.com'\n", "relay.public_ip must be"),
        ("[relay]\npublic_ip = '127.0.0.1'\n", "relay.public_ip must be"),
        ("[relay]\npublic_ip = '0.0.0.0'\n", "relay.public_ip must be"),
        ("not toml at all [", "not valid TOML"),
    ],
)
def test_bad_files_are_refused_by_name(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "bad.toml"
    file.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(file, environ={})


def test_ice_servers_turn_and_public_ip_from_the_environment() -> None:
    config = load_config(
        environ={
            "LIVEASSIST_CALLS_ICE_SERVERS": "stun:turn.example.com:3478, "
            "turn:turn.example.com:3478?transport=udp,turns:[2001:db8::7]:5349?transport=tcp",
            "LIVEASSIST_TURN_SECRET": "shared-with-coturn-0123",
            "LIVEASSIST_TURN_TTL_SECONDS": "900",
            "LIVEASSIST_RELAY_PUBLIC_IP": "2001:db8::8",
        }
    )
    assert config.calls.ice_servers == [
        "stun:turn.example.com:3478",
        "turn:turn.example.com:3478?transport=udp",
        "turns:[2001:db8::7]:5349?transport=tcp",
    ]
    assert config.calls.turn_urls == config.calls.ice_servers[1:]
    assert (config.turn.secret, config.turn.ttl_seconds) == ("shared-with-coturn-0123", 900)
    assert config.relay.public_ip == "2001:db8::8"
    # STUN alone needs no secret.
    assert load_config(environ={"LIVEASSIST_CALLS_ICE_SERVERS": "stun:a.example"}).turn.secret == ""


def test_unknown_environment_variables_are_refused() -> None:
    with pytest.raises(ConfigError, match="LIVEASSIST_SERVER_PROT"):
        load_config(environ={"LIVEASSIST_SERVER_PROT": "1"})
    with pytest.raises(ConfigError, match="LIVEASSIST_NOPE"):
        load_config(environ={"LIVEASSIST_NOPE": "1"})
    with pytest.raises(ConfigError, match="must be true or false"):
        load_config(environ={"LIVEASSIST_DATABASE_ECHO": "maybe"})
    assert load_config(environ={"LIVEASSIST_LOG_LEVEL": "DEBUG"}).server.port == 8080


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.toml", environ={})
