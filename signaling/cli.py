"""The `liveassist` command: serve, manage users, upgrade the database."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from typing import Any

from signaling.config import Config, load_config
from signaling.errors import ConfigError

DESCRIPTION = """LiveAssist: real-time chat, audio/video and screen-share support.

Configuration comes from built-in defaults, then an optional TOML file (--config or
LIVEASSIST_CONFIG), then LIVEASSIST_<SECTION>_<KEY> environment variables, then flags.
See liveassist.sample.toml for every key."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="liveassist",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config", help="TOML config file (default: $LIVEASSIST_CONFIG, else none)"
    )
    parser.add_argument(
        "--data-dir", help="where the SQLite database, secret key and attachments live"
    )
    parser.add_argument(
        "--database-url", help="postgresql://user:pass@host/db to use PostgreSQL instead of SQLite"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="upgrade the database and run the server (pages, REST, Socket.IO)",
        description="Upgrade the database schema, create demo accounts on first run, and serve.",
    )
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    serve.add_argument(
        "--workers", type=int, help="relay worker processes for calls (default: one per core)"
    )
    serve.add_argument(
        "--no-demo", action="store_true", help="do not create demo accounts on first run"
    )

    user = sub.add_parser("user", help="manage staff accounts").add_subparsers(
        dest="user_command", required=True, metavar="ACTION"
    )
    add = user.add_parser(
        "add",
        help="create an agent, QA reviewer or admin",
        description="Create a staff account. The password is asked for "
        "(or read from LIVEASSIST_NEW_PASSWORD).",
    )
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=["agent", "qa", "admin", "supervisor"])
    add.add_argument("--org", default="demo", help="organisation slug (created if missing)")
    add.add_argument(
        "--skills",
        default="",
        help="comma-separated topics the agent handles, e.g. billing,technical",
    )
    add.add_argument("--languages", default="en", help="comma-separated language codes, e.g. en,zh")
    add.add_argument("--max-chats", type=int, default=3, help="concurrent chats (agents)")
    add.add_argument("--groups", default="", help="comma-separated group names to join")

    db = sub.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True, metavar="ACTION"
    )
    db.add_parser("upgrade", help="apply pending schema migrations (safe to repeat)")
    db.add_parser("current", help="print the schema revision the database is at")

    org = sub.add_parser("org", help="organisations").add_subparsers(
        dest="org_command", required=True, metavar="ACTION"
    )
    secret = org.add_parser("secret", help="print the identity-signing secret a host site needs")
    secret.add_argument("slug")

    relay = sub.add_parser(
        "relay",
        help="run this machine's relay workers as a node of a Redis deployment, or drain one",
        description="Run relay worker processes that register in Redis (server.redis_url) and "
        "take calls from every signaling process; SIGTERM or Ctrl+C drains first (no new "
        "calls; running ones may end within relay.drain_seconds, then move to other nodes). "
        "`liveassist relay drain --node-id ID` drains a running node from anywhere.",
    )
    relay.add_argument("action", nargs="?", choices=["serve", "drain"], default="serve")
    relay.add_argument("--redis-url", help="redis://host:port/db (default: server.redis_url)")
    relay.add_argument("--node-id", help="this node's name (default: relay.node_id or hostname)")
    relay.add_argument("--workers", type=int, help="relay worker processes (default: one per core)")
    relay.add_argument(
        "--drain-seconds",
        type=float,
        help="how long calls may go on while draining before they move (relay.drain_seconds)",
    )

    loadtest = sub.add_parser(
        "loadtest",
        help="simulate whole support journeys against a server and report (see --help)",
        add_help=False,
    )
    loadtest.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _config(args: argparse.Namespace) -> Config:
    overrides: dict[str, dict[str, Any]] = {"server": {}, "database": {}, "relay": {}}
    if args.data_dir:
        overrides["server"]["data_dir"] = args.data_dir
    if args.database_url:
        overrides["database"]["url"] = args.database_url
    if getattr(args, "host", None):
        overrides["server"]["host"] = args.host
    if getattr(args, "port", None):
        overrides["server"]["port"] = args.port
    if getattr(args, "workers", None) is not None:
        overrides["relay"]["workers"] = args.workers
    if getattr(args, "redis_url", None):
        overrides["server"]["redis_url"] = args.redis_url
    if getattr(args, "node_id", None):
        overrides["relay"]["node_id"] = args.node_id
    if getattr(args, "drain_seconds", None) is not None:
        overrides["relay"]["drain_seconds"] = args.drain_seconds
    return load_config(args.config, overrides={k: v for k, v in overrides.items() if v})


def main(argv: list[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else argv
    if raw[:1] == ["loadtest"]:  # its own options; it speaks to a server, it is not one
        from loadtest.cli import main as loadtest

        return loadtest(raw[1:])
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LIVEASSIST_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # aiosqlite logs every statement at DEBUG: that would drown (and slow) a debug run.
    if logging.getLogger().level < logging.INFO:
        logging.getLogger("aiosqlite").setLevel(logging.INFO)
    try:
        config = _config(args)
    except ConfigError as exc:
        print(f"liveassist: configuration error: {exc}", file=sys.stderr)
        return 2
    from signaling import commands

    try:
        if args.command == "serve":
            return commands.serve(config, demo=not args.no_demo)
        if args.command == "relay":
            from signaling import relay_node

            if args.action == "drain":
                return asyncio.run(relay_node.drain(config))
            return relay_node.serve(config)
        if args.command == "user":
            password = os.environ.get("LIVEASSIST_NEW_PASSWORD") or getpass.getpass("Password: ")
            return asyncio.run(commands.add_user(config, args, password))
        if args.command == "db":
            return asyncio.run(commands.db(config, args.db_command))
        if args.command == "org":
            return asyncio.run(commands.org_secret(config, args.slug))
    except ConfigError as exc:
        print(f"liveassist: {exc}", file=sys.stderr)
        return 2
    return 1  # pragma: no cover
