"""Creating and changing staff accounts (admins only). A change that takes rights away
(deactivated, another role) signs the account out everywhere, and the last active admin of
an organisation keeps the role: nobody could administer it otherwise."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.auth.actor import Actor
from signaling.auth.passwords import Passwords, password_problem
from signaling.db.database import Database
from signaling.errors import Conflict, InvalidPayload, NotFound
from signaling.store import Record
from signaling.store import orgs as org_store
from signaling.store import users as user_store
from signaling.types import Role, StaffRole


class StaffAccounts:
    def __init__(
        self,
        db: Database,
        passwords: Passwords,
        refresh_agent: Callable[[int], Awaitable[None]],
    ) -> None:
        self._db = db
        self._passwords = passwords
        self._refresh_agent = refresh_agent
        """Tells routing an agent's profile changed (wherever the live state is held)."""

    async def create(
        self,
        actor: Actor,
        *,
        email: str,
        name: str,
        role: StaffRole,
        password: str,
        skills: Sequence[str],
        languages: Sequence[str],
        max_chats: int,
        group_ids: Sequence[int],
    ) -> Record:
        """A new account of the actor's organisation, member of `group_ids` (each must be
        one of the organisation's groups); the email must be free."""
        problem = password_problem(password)
        if problem:
            raise InvalidPayload(problem, details={"field": "password"})
        password_hash = await self._passwords.hash(password)
        org_id = actor.principal.org_id
        async with self._db.write() as conn:
            if await user_store.user_by_email(conn, email):
                raise Conflict("an account with this email exists")
            for group_id in group_ids:
                group = await org_store.group_by_id(conn, group_id)
                if group is None or group["org_id"] != org_id:
                    raise NotFound(f"no group {group_id}")
            user = await user_store.create_user(
                conn,
                org_id=org_id,
                email=email,
                name=name,
                role=Role(role.value),
                password_hash=password_hash,
                skills=list(skills),
                languages=list(languages),
                max_chats=max_chats,
            )
            for group_id in sorted(set(group_ids)):
                await org_store.add_member(conn, group_id=group_id, user_id=user["id"])
            await actor.audit(
                conn,
                "user.create",
                target_type="user",
                target_id=user["id"],
                detail={"role": role.value},
            )
        return user

    async def update(self, actor: Actor, user_id: int, changes: dict[str, Any]) -> Record:
        """Apply `changes` (column: new value) to an account of the actor's organisation;
        routing learns the new profile at once."""
        async with self._db.write() as conn:
            user = await user_store.user_by_id(conn, user_id)
            if user is None or user["org_id"] != actor.principal.org_id:
                raise NotFound("no such user")
            await _keep_an_admin(conn, user, changes)
            await user_store.update_user(conn, user["id"], changes)
            if changes.get("active") is False or changes.get("role", user["role"]) != user["role"]:
                await user_store.revoke_user_sessions(conn, user["id"])
            await actor.audit(
                conn,
                "user.update",
                target_type="user",
                target_id=user["id"],
                detail={"fields": sorted(changes)},
            )
            updated = await user_store.user_by_id(conn, user["id"])
        await self._refresh_agent(user["id"])
        assert updated is not None
        return updated


async def _keep_an_admin(conn: AsyncConnection, user: Record, changes: dict[str, Any]) -> None:
    """Nobody could administer an organisation whose last active admin was deactivated or
    demoted (their own click included), so that change is refused."""
    leaves = (
        changes.get("active") is False or changes.get("role", Role.ADMIN.value) != Role.ADMIN.value
    )
    if user["role"] != Role.ADMIN.value or not user["active"] or not leaves:
        return
    others = [i for i in await user_store.active_admin_ids(conn, user["org_id"]) if i != user["id"]]
    if not others:
        raise Conflict(
            f"{user['email']} is the last active admin of the organisation; "
            "make another account admin first"
        )
