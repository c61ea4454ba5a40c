"""Staff accounts (agents, QA reviewers, admins) and their revocable sign-in sessions."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.db.schema import auth_sessions, users, utcnow
from signaling.store import Record, record, records
from signaling.types import Role

PUBLIC_USER_FIELDS = (
    "id",
    "org_id",
    "email",
    "name",
    "role",
    "skills",
    "languages",
    "max_chats",
    "active",
    "created_at",
)


def public_user(user: Record) -> Record:
    return {key: user[key] for key in PUBLIC_USER_FIELDS}


async def create_user(
    conn: AsyncConnection,
    *,
    org_id: int,
    email: str,
    name: str,
    role: Role,
    password_hash: str,
    skills: list[str] | None = None,
    languages: list[str] | None = None,
    max_chats: int = 3,
) -> Record:
    result = await conn.execute(
        insert(users)
        .values(
            org_id=org_id,
            email=email.strip().lower(),
            name=name,
            role=role.value,
            password_hash=password_hash,
            skills=skills or [],
            languages=languages or ["en"],
            max_chats=max_chats,
            active=True,
        )
        .returning(*users.c)
    )
    created = record(result.first())
    assert created is not None
    return created


async def user_by_email(conn: AsyncConnection, email: str) -> Record | None:
    return record(
        (await conn.execute(select(users).where(users.c.email == email.strip().lower()))).first()
    )


async def user_by_id(conn: AsyncConnection, user_id: int) -> Record | None:
    return record((await conn.execute(select(users).where(users.c.id == user_id))).first())


def user_name_sync(conn: Connection, user_id: int) -> str | None:
    """A staff member's display name, inside Database.write_in_thread."""
    name = conn.execute(select(users.c.name).where(users.c.id == user_id)).scalar()
    return None if name is None else str(name)


async def list_users(conn: AsyncConnection, org_id: int, role: str | None = None) -> list[Record]:
    query = select(users).where(users.c.org_id == org_id).order_by(users.c.id)
    if role:
        query = query.where(users.c.role == role)
    return records(await conn.execute(query))


async def update_user(conn: AsyncConnection, user_id: int, changes: dict[str, Any]) -> None:
    if changes:
        await conn.execute(update(users).where(users.c.id == user_id).values(**changes))


async def active_admin_ids(conn: AsyncConnection, org_id: int) -> list[int]:
    """The organisation's active admins, their rows locked until the transaction ends on
    PostgreSQL, so two admins demoting each other at once cannot both pass the last-admin
    check (SQLite runs one writer at a time already)."""
    query = select(users.c.id).where(
        users.c.org_id == org_id, users.c.role == Role.ADMIN.value, users.c.active.is_(True)
    )
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    return [int(row[0]) for row in await conn.execute(query.order_by(users.c.id))]


async def count_users(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(users))).scalar_one())


async def open_session(
    conn: AsyncConnection, *, user_id: int, max_seconds: int, ip: str | None
) -> Record:
    now = utcnow()
    result = await conn.execute(
        insert(auth_sessions)
        .values(
            id=secrets.token_hex(16),
            user_id=user_id,
            created_at=now,
            expires_at=now + timedelta(seconds=max_seconds),
            ip=ip,
        )
        .returning(*auth_sessions.c)
    )
    created = record(result.first())
    assert created is not None
    return created


async def session_by_id(conn: AsyncConnection, session_id: str) -> Record | None:
    return record(
        (await conn.execute(select(auth_sessions).where(auth_sessions.c.id == session_id))).first()
    )


async def revoke_session(conn: AsyncConnection, session_id: str) -> None:
    await conn.execute(
        update(auth_sessions)
        .where(auth_sessions.c.id == session_id, auth_sessions.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def revoke_user_sessions(conn: AsyncConnection, user_id: int) -> None:
    await conn.execute(
        update(auth_sessions)
        .where(auth_sessions.c.user_id == user_id, auth_sessions.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def session_usable(session: Record | None, now: datetime) -> str | None:
    """Why a sign-in session can no longer be used, or None when it can."""
    if session is None:
        return "unknown session"
    if session["revoked_at"] is not None:
        return "signed out"
    if session["expires_at"] <= now:
        return "session expired; sign in again"
    return None
