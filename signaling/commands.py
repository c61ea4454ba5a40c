"""What each `liveassist` subcommand does, apart from argument parsing."""

from __future__ import annotations

import argparse
import asyncio
from typing import cast

from aiohttp import web

from relay.event_loops import kind_of, loop_factory
from relay.interface import EventLoopKind
from signaling.auth.passwords import Passwords, password_problem
from signaling.collector import Collector
from signaling.config import Config
from signaling.db.database import Database
from signaling.db.migrate import current_revision, head_revision, upgrade
from signaling.errors import ConfigError
from signaling.seed import ACCOUNTS_FILE, DEMO_ORG
from signaling.store import orgs as org_store
from signaling.store import users as user_store
from signaling.types import Role

SHUTDOWN_SECONDS = 3.0
"""How long requests still running at shutdown may take to finish: connections that stay
open (Socket.IO) are closed before, by signaling/shutdown.py, so this bounds only HTTP."""


def run_app(app: web.Application, host: str, port: int, event_loop: EventLoopKind) -> None:
    web.run_app(
        app,
        host=host,
        port=port,
        loop=loop_factory(event_loop, "liveassist serve")(),
        print=None,
        access_log=None,
        shutdown_timeout=SHUTDOWN_SECONDS,
    )


def serve(config: Config, *, demo: bool) -> int:
    from signaling.app import DemoAccounts, create_app
    from signaling.runtime import Runtime

    def announce(created: DemoAccounts | None) -> None:
        url = config.server.own_url
        print(f"LiveAssist is starting at {url}", flush=True)
        print(f"  customer demo page : {url}/demo")
        print(f"  agent console      : {url}/agent")
        print(f"  REST API (OpenAPI) : {url}/api/openapi.json")
        print(f"  health             : {url}/healthz")
        print(f"  data directory     : {config.data_path}")
        print(f"  event loop         : {kind_of(asyncio.get_running_loop())}")
        accounts = config.data_path / ACCOUNTS_FILE
        if created:
            print(f"Demo accounts created on this first run (kept in {accounts}, mode 600):")
            for role, email, password in created:
                print(f"  {role:<6} {email:<22} password: {password}")
        elif demo and accounts.exists():
            print(f"Demo accounts: see {accounts}")
        print("Press Ctrl+C to stop.", flush=True)

    runtime = Runtime.build(config)
    sio = runtime.sio
    collector = Collector(held=lambda: len(sio.eio.sockets), closed=lambda: sio.connections_closed)

    def started(created: DemoAccounts | None) -> None:
        announce(created)
        collector.start()  # after imports, the app, migrations and seeding: all long-lived

    async def stop_collector(app: web.Application) -> None:
        await collector.stop()

    app = create_app(runtime, demo=demo, on_started=started)
    app.on_cleanup.append(stop_collector)
    event_loop = cast(EventLoopKind, config.server.event_loop)  # checked by ServerConfig
    run_app(app, config.server.host, config.server.port, event_loop)
    return 0


async def add_user(config: Config, args: argparse.Namespace, password: str) -> int:
    problem = password_problem(password)
    if problem:
        raise ConfigError(problem)
    config.data_path.mkdir(parents=True, exist_ok=True)
    db = Database(config.database_url)
    try:
        await upgrade(db)
        passwords = Passwords(
            memory_kib=config.auth.password_memory_kib, time_cost=config.auth.password_time_cost
        )
        password_hash = await passwords.hash(password)
        async with db.write() as conn:
            org = await org_store.org_by_slug(conn, args.org)
            if org is None:
                org = await org_store.create_org(conn, slug=args.org, name=args.org)
                await org_store.create_group(conn, org_id=org["id"], name="General", topic=None)
            if await user_store.user_by_email(conn, args.email):
                raise ConfigError(f"a user with email {args.email} exists")
            split = [s.strip() for s in args.skills.split(",") if s.strip()]
            user = await user_store.create_user(
                conn,
                org_id=org["id"],
                email=args.email,
                name=args.name,
                role=Role(args.role),
                password_hash=password_hash,
                skills=split,
                languages=[s.strip() for s in args.languages.split(",") if s.strip()] or ["en"],
                max_chats=args.max_chats,
            )
            groups = {g["name"]: g for g in await org_store.list_groups(conn, org["id"])}
            for name in [g.strip() for g in args.groups.split(",") if g.strip()]:
                if name not in groups:
                    raise ConfigError(
                        f"no group named {name!r} in {args.org}; have: {', '.join(groups)}"
                    )
                await org_store.add_member(conn, group_id=groups[name]["id"], user_id=user["id"])
        print(f"created {args.role} {args.email} (id {user['id']}) in organisation {args.org}")
        return 0
    finally:
        await db.close()


async def db(config: Config, action: str) -> int:
    config.data_path.mkdir(parents=True, exist_ok=True)
    database = Database(config.database_url)
    try:
        if action == "upgrade":
            before = await current_revision(database)
            await upgrade(database)
            after = await current_revision(database)
            print(f"database schema: {before or 'empty'} -> {after} (head {head_revision()})")
        else:
            print(await current_revision(database) or "empty")
        return 0
    finally:
        await database.close()


async def org_secret(config: Config, slug: str) -> int:
    database = Database(config.database_url)
    try:
        async with database.read() as conn:
            org = await org_store.org_by_slug(conn, slug or DEMO_ORG)
        if org is None:
            raise ConfigError(f"no organisation {slug!r}")
        print(org["identity_secret"])
        return 0
    finally:
        await database.close()
