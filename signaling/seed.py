"""First run: a demo organisation with groups and one account per role, so `make run` gives
something to sign in to. Passwords are random, printed once and kept in a 0600 file."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from signaling.auth.passwords import Passwords
from signaling.db.database import Database
from signaling.db.locks import SEED_LOCK, hold_until_commit
from signaling.store import orgs as org_store
from signaling.store import users as user_store
from signaling.types import Role

DEMO_ORG = "demo"
ACCOUNTS_FILE = "demo-accounts.txt"

DEMO_USERS = [
    ("admin@demo.local", "Ada Admin", Role.ADMIN, [], ["en"], []),
    (
        "agent1@demo.local",
        "Alex Agent",
        Role.AGENT,
        ["billing", "technical"],
        ["en", "zh"],
        ["Billing", "Technical", "General"],
    ),
    (
        "agent2@demo.local",
        "Bo Agent",
        Role.AGENT,
        ["technical"],
        ["en", "zh"],
        ["Technical", "General"],
    ),
    ("qa@demo.local", "Quinn Reviewer", Role.QA, [], ["en"], []),
    ("supervisor@demo.local", "Sam Supervisor", Role.SUPERVISOR, [], ["en", "zh"], ["Billing"]),
]


def demo_password() -> str:
    """16 URL-safe characters, never starting with "-": people paste it after a command-line
    option (`liveassist loadtest --password …`), where a leading dash reads as an option."""
    while True:
        password = secrets.token_urlsafe(12)
        if not password.startswith("-"):
            return password


async def seed_demo(
    db: Database, passwords: Passwords, data_dir: Path
) -> list[tuple[str, str, str]] | None:
    """Create the demo organisation when the database has no users; None if it already had."""
    async with db.read() as conn:
        if await user_store.count_users(conn) > 0:
            return None
    created: list[tuple[str, str, str]] = []
    hashed = []
    for _ in DEMO_USERS:
        password = demo_password()
        hashed.append((password, await passwords.hash(password)))
    async with db.write() as conn:
        # Two processes starting together on an empty database: one seeds, the other finds
        # the users once it gets the lock and leaves the demo accounts alone.
        await hold_until_commit(conn, SEED_LOCK)
        if await user_store.count_users(conn) > 0:
            return None
        org = await org_store.create_org(conn, slug=DEMO_ORG, name="Demo Co")
        groups = {
            "General": await org_store.create_group(
                conn, org_id=org["id"], name="General", topic=None
            ),
            "Billing": await org_store.create_group(
                conn, org_id=org["id"], name="Billing", topic="billing"
            ),
            "Technical": await org_store.create_group(
                conn, org_id=org["id"], name="Technical", topic="technical"
            ),
        }
        for (email, name, role, skills, languages, group_names), (password, password_hash) in zip(
            DEMO_USERS, hashed, strict=True
        ):
            user = await user_store.create_user(
                conn,
                org_id=org["id"],
                email=email,
                name=name,
                role=role,
                password_hash=password_hash,
                skills=skills,
                languages=languages,
                max_chats=3,
            )
            for group_name in group_names:
                await org_store.add_member(
                    conn, group_id=groups[group_name]["id"], user_id=user["id"]
                )
            created.append((role.value, email, password))
    path = data_dir / ACCOUNTS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("# LiveAssist demo accounts (created on first run)\n")
        for role_name, email, password in created:
            handle.write(f"{role_name}\t{email}\t{password}\n")
        handle.write(f"# host-site identity secret of org '{DEMO_ORG}': {org['identity_secret']}\n")
    return created
