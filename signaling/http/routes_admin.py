"""Directory and administration: users, groups, the audit log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from signaling.auth.passwords import PASSWORD_SCHEMA
from signaling.http import schemas, services
from signaling.http.api import ID, ApiRequest, api
from signaling.store import orgs as org_store
from signaling.store import users as user_store
from signaling.store.audit import list_audit
from signaling.types import EMAIL_PATTERN, Presence, Role, StaffRole
from signaling.wire import limit

STAFF = (Role.AGENT, Role.QA, Role.ADMIN)
SKILLS = {**limit(max_len=64, min_len=1, pattern=r"[\w.-]+"), "max_items": 50}
LANGS = {**limit(max_len=16, pattern=r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?"), "max_items": 20}


@dataclass(frozen=True)
class UserCreate:
    email: str = field(metadata=limit(max_len=254, pattern=EMAIL_PATTERN))
    name: str = field(metadata=limit(max_len=200, min_len=1))
    role: StaffRole
    password: str = field(metadata={**limit(max_len=1024), "schema": PASSWORD_SCHEMA})
    skills: list[str] = field(default_factory=list, metadata=SKILLS)
    languages: list[str] = field(default_factory=lambda: ["en"], metadata=LANGS)
    max_chats: int = field(default=3, metadata=limit(min=1, max=50))
    group_ids: list[int] = field(default_factory=list, metadata={**ID, "max_items": 50})


@dataclass(frozen=True)
class UserUpdate:
    name: str | None = field(default=None, metadata=limit(max_len=200, min_len=1))
    skills: list[str] | None = field(default=None, metadata=SKILLS)
    languages: list[str] | None = field(default=None, metadata=LANGS)
    max_chats: int | None = field(default=None, metadata=limit(min=1, max=50))
    active: bool | None = None
    role: StaffRole | None = None


@dataclass(frozen=True)
class AuditQuery:
    action: str | None = field(default=None, metadata=limit(max_len=64))
    page: int = field(default=1, metadata=limit(min=1, max=100_000))
    per_page: int = field(default=100, metadata=limit(min=1, max=500))


@api.route(
    "GET",
    "/api/directory",
    summary="Agents (with live presence) and groups, for transfers",
    roles=STAFF,
    tag="admin",
    response=schemas.DIRECTORY,
)
async def directory(call: ApiRequest) -> dict[str, Any]:
    rt = call.runtime
    async with rt.db.read() as conn:
        users = await user_store.list_users(conn, call.me.org_id, role=Role.AGENT.value)
        groups = await org_store.list_groups(conn, call.me.org_id)
        members = await org_store.members_of(conn, call.me.org_id)
    agents = []
    live_agents = await rt.live_agents(call.me.org_id)
    for user in users:
        live = live_agents.get(user["id"])
        agents.append(
            {
                "id": user["id"],
                "name": user["name"],
                "skills": user["skills"],
                "languages": user["languages"],
                "group_ids": members.get(user["id"], []),
                "status": live["status"] if live else Presence.OFFLINE.value,
                "load": live["load"] if live else 0,
                "max_chats": user["max_chats"],
                "active": user["active"],
            }
        )
    return {"agents": agents, "groups": groups}


@api.route(
    "GET",
    "/api/users",
    summary="All staff accounts",
    roles=(Role.ADMIN,),
    tag="admin",
    response=schemas.items("User"),
)
async def list_users(call: ApiRequest) -> dict[str, Any]:
    async with call.runtime.db.read() as conn:
        users = await user_store.list_users(conn, call.me.org_id)
    return {"items": [user_store.public_user(u) for u in users]}


@api.route(
    "POST",
    "/api/users",
    summary="Create a staff account",
    roles=(Role.ADMIN,),
    body=UserCreate,
    tag="admin",
    status=201,
    response=schemas.ref("User"),
    errors=(404, 409),
)
async def create_user(call: ApiRequest) -> dict[str, Any]:
    req: UserCreate = call.body
    user = await services.staff_accounts(call.runtime).create(
        call.actor,
        email=req.email,
        name=req.name,
        role=req.role,
        password=req.password,
        skills=req.skills,
        languages=req.languages,
        max_chats=req.max_chats,
        group_ids=req.group_ids,
    )
    return user_store.public_user(user)


@api.route(
    "PATCH",
    "/api/users/{user_id}",
    summary="Change a staff account; deactivating signs it out",
    roles=(Role.ADMIN,),
    body=UserUpdate,
    tag="admin",
    response=schemas.ref("User"),
    errors=(409,),
)
async def update_user(call: ApiRequest) -> dict[str, Any]:
    req: UserUpdate = call.body
    changes = {
        k: getattr(req, k)
        for k in ("name", "skills", "languages", "max_chats", "active", "role")
        if getattr(req, k) is not None
    }
    if req.role is not None:
        changes["role"] = req.role.value
    accounts = services.staff_accounts(call.runtime)
    updated = await accounts.update(call.actor, call.path_id("user_id"), changes)
    return user_store.public_user(updated)


@api.route(
    "GET",
    "/api/groups",
    summary="Groups and the topic each serves",
    roles=STAFF,
    tag="admin",
    response=schemas.items("Group"),
)
async def list_groups(call: ApiRequest) -> dict[str, Any]:
    async with call.runtime.db.read() as conn:
        return {"items": await org_store.list_groups(conn, call.me.org_id)}


@api.route(
    "GET",
    "/api/audit",
    summary="Audit log, newest first",
    roles=(Role.ADMIN,),
    query=AuditQuery,
    tag="admin",
    response=schemas.AUDIT_PAGE,
)
async def audit_log(call: ApiRequest) -> dict[str, Any]:
    q: AuditQuery = call.query
    async with call.runtime.db.read() as conn:
        items = await list_audit(
            conn,
            call.me.org_id,
            action=q.action,
            limit=q.per_page,
            offset=(q.page - 1) * q.per_page,
        )
    return {"items": items, "page": q.page, "per_page": q.per_page}
