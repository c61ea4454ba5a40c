"""Rubrics over REST: admins define what calls are scored on, per group and an organisation
default; QA reviewers read them. An edit of the name or criteria is a new version; reviews
keep the version they were scored against."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from signaling.auth import access
from signaling.http import schemas, services
from signaling.http.api import ID, ApiRequest, api
from signaling.reviews.criteria import CRITERIA_FIELD, criteria_from_wire
from signaling.reviews.rubrics import rubric_detail
from signaling.reviews.views import rubric_view
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
        return await rubric_detail(conn, rubric, rt.names)


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
    return await services.rubrics(call.runtime).create(
        call.actor, name=req.name, criteria=criteria, group_id=req.group_id
    )


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
    return await services.rubrics(call.runtime).update(
        call.actor,
        call.path_id("rubric_id"),
        name=req.name,
        criteria=criteria,
        archived=req.archived,
        version=req.version,
    )
