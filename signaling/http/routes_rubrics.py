"""Rubrics over REST: admins define what calls are scored on, per group and an organisation
default; QA reviewers read them. An edit of the name or criteria is a new version; reviews
keep the version they were scored against."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.auth import access
from signaling.auth.tokens import Principal
from signaling.errors import Conflict, NotFound
from signaling.http import schemas
from signaling.http.api import ID, ApiRequest, api
from signaling.reviews.criteria import CRITERIA_FIELD, criteria_from_wire
from signaling.reviews.views import rubric_view, version_view
from signaling.store import Record
from signaling.store import orgs as org_store
from signaling.store import rubrics as rubric_store
from signaling.types import Role
from signaling.wire import limit

READERS = (Role.QA, Role.ADMIN)
NAME = limit(max_len=200, min_len=1)


@dataclass(frozen=True)
class RubricListQuery:
    group_id: int | None = field(default=None, metadata=ID)
    include_archived: bool = False


@dataclass(frozen=True)
class RubricCreate:
    name: str = field(metadata=NAME)
    criteria: list[dict[str, Any]] = field(metadata=CRITERIA_FIELD)
    group_id: int | None = field(default=None, metadata=ID)  # None: the organisation default


@dataclass(frozen=True)
class RubricUpdate:
    name: str | None = field(default=None, metadata=NAME)
    criteria: list[dict[str, Any]] | None = field(default=None, metadata=CRITERIA_FIELD)
    archived: bool | None = None
    version: int | None = field(default=None, metadata=ID)  # the version edited (stale: 409)


@api.route(
    "GET",
    "/api/rubrics",
    summary="The organisation's rubrics with their current criteria",
    roles=READERS,
    query=RubricListQuery,
    tag="qa",
    response=schemas.items("Rubric"),
)
async def list_rubrics(call: ApiRequest) -> dict[str, Any]:
    q: RubricListQuery = call.query
    async with call.runtime.db.read() as conn:
        rows = await rubric_store.list_rubrics(
            conn, call.me.org_id, include_archived=q.include_archived, group_id=q.group_id
        )
        current = await rubric_store.current_versions(conn, [r["id"] for r in rows])
    return {"items": [rubric_view(row, current[row["id"]]) for row in rows]}


@api.route(
    "GET",
    "/api/rubrics/{rubric_id}",
    summary="One rubric with every version it had, newest first",
    roles=READERS,
    tag="qa",
    response=schemas.RUBRIC_DETAIL,
)
async def get_rubric(call: ApiRequest) -> dict[str, Any]:
    rt = call.runtime
    async with rt.db.read() as conn:
        rubric = access.check_view_rubric(
            call.me, await rubric_store.rubric_by_id(conn, call.path_id("rubric_id"))
        )
        return await _detail(conn, call, rubric)


@api.route(
    "POST",
    "/api/rubrics",
    summary="Create a rubric for a group, or the organisation's default (group_id null)",
    roles=(Role.ADMIN,),
    body=RubricCreate,
    tag="qa",
    status=201,
    response=schemas.RUBRIC_DETAIL,
    errors=(404, 409),
)
async def create_rubric(call: ApiRequest) -> dict[str, Any]:
    req: RubricCreate = call.body
    criteria = criteria_from_wire(req.criteria)
    async with call.runtime.db.write() as conn:
        if req.group_id is not None:
            group = await org_store.group_by_id(conn, req.group_id)
            if group is None or group["org_id"] != call.me.org_id:
                raise NotFound("no such group")
        await _check_scope_free(conn, call.me, req.group_id)
        rubric = await rubric_store.create_rubric(
            conn,
            org_id=call.me.org_id,
            group_id=req.group_id,
            name=req.name.strip(),
            criteria=criteria,
            created_by=call.me.subject_id,
        )
        await call.audit(
            conn,
            "rubric.create",
            target_type="rubric",
            target_id=rubric["id"],
            detail={"version": 1},
        )
        return await _detail(conn, call, rubric)


@api.route(
    "PATCH",
    "/api/rubrics/{rubric_id}",
    summary="Rename, change the criteria (a new version), archive or restore a rubric",
    roles=(Role.ADMIN,),
    body=RubricUpdate,
    tag="qa",
    response=schemas.RUBRIC_DETAIL,
    errors=(409,),
)
async def update_rubric(call: ApiRequest) -> dict[str, Any]:
    req: RubricUpdate = call.body
    criteria = criteria_from_wire(req.criteria) if req.criteria is not None else None
    async with call.runtime.db.write() as conn:
        rubric = access.check_view_rubric(
            call.me, await rubric_store.rubric_by_id(conn, call.path_id("rubric_id"))
        )
        if req.version is not None and req.version != rubric["version"]:
            raise Conflict(
                f"the rubric is at version {rubric['version']} now, not {req.version}",
                details={"version": rubric["version"]},
            )
        if req.archived is False and rubric["archived"]:
            await _check_scope_free(conn, call.me, rubric["group_id"])
        updated = await rubric_store.update_rubric(
            conn,
            rubric,
            name=req.name.strip() if req.name is not None else None,
            criteria=criteria,
            archived=req.archived,
            actor_id=call.me.subject_id,
        )
        if updated is None:
            raise Conflict("the rubric was changed meanwhile; load it again")
        detail = {"version": updated["version"], "archived": updated["archived"]}
        await call.audit(
            conn, "rubric.update", target_type="rubric", target_id=updated["id"], detail=detail
        )
        return await _detail(conn, call, updated)


async def _check_scope_free(conn: AsyncConnection, me: Principal, group_id: int | None) -> None:
    """One active rubric per group, and one organisation default."""
    taken = await rubric_store.active_rubric_of_scope(conn, me.org_id, group_id)
    if taken is not None:
        scope = "this group" if group_id is not None else "the organisation default"
        raise Conflict(
            f"{scope} already has an active rubric (#{taken['id']}); edit or archive it",
            details={"rubric_id": taken["id"]},
        )


async def _detail(conn: AsyncConnection, call: ApiRequest, rubric: Record) -> dict[str, Any]:
    versions = await rubric_store.versions_of(conn, rubric["id"])
    names = call.runtime.names
    return {
        **rubric_view(rubric, versions[0]),
        "versions": [await version_view(conn, v, names) for v in versions],
    }
