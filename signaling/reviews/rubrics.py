"""Rubrics, what calls are scored on: admins create one per group and one organisation
default, rename them, change their criteria (a new version: reviews keep the version they
were scored against), archive and restore them. At most one active rubric per scope; every
change is audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.auth import access
from signaling.auth.actor import Actor
from signaling.db.database import Database
from signaling.errors import Conflict, NotFound
from signaling.reviews.scoring import Criteria
from signaling.reviews.views import rubric_view, version_view
from signaling.store import Record
from signaling.store import orgs as org_store
from signaling.store import rubrics as rubric_store
from signaling.transcript.views import NameBook


class RubricService:
    def __init__(self, db: Database, names: NameBook) -> None:
        self._db = db
        self._names = names

    async def create(
        self, actor: Actor, *, name: str, criteria: Criteria, group_id: int | None
    ) -> dict[str, Any]:
        """A rubric for one of the organisation's groups, or its default (group_id None);
        the rubric with its versions."""
        me = actor.principal
        async with self._db.write() as conn:
            if group_id is not None:
                group = await org_store.group_by_id(conn, group_id)
                if group is None or group["org_id"] != me.org_id:
                    raise NotFound("no such group")
            await _check_scope_free(conn, me.org_id, group_id)
            rubric = await rubric_store.create_rubric(
                conn,
                org_id=me.org_id,
                group_id=group_id,
                name=name.strip(),
                criteria=criteria,
                created_by=me.subject_id,
            )
            await actor.audit(
                conn,
                "rubric.create",
                target_type="rubric",
                target_id=rubric["id"],
                detail={"version": 1},
            )
            return await rubric_detail(conn, rubric, self._names)

    async def update(
        self,
        actor: Actor,
        rubric_id: int,
        *,
        name: str | None = None,
        criteria: Criteria | None = None,
        archived: bool | None = None,
        version: int | None = None,
    ) -> dict[str, Any]:
        """Rename, change the criteria, archive or restore (None: unchanged); `version` is
        the one the edit was made on, if the caller knows it. The rubric with its versions."""
        me = actor.principal
        async with self._db.write() as conn:
            rubric = access.check_view_rubric(me, await rubric_store.rubric_by_id(conn, rubric_id))
            if version is not None and version != rubric["version"]:
                raise Conflict(
                    f"the rubric is at version {rubric['version']} now, not {version}",
                    details={"version": rubric["version"]},
                )
            if archived is False and rubric["archived"]:
                await _check_scope_free(conn, me.org_id, rubric["group_id"])
            updated = await rubric_store.update_rubric(
                conn,
                rubric,
                name=name.strip() if name is not None else None,
                criteria=criteria,
                archived=archived,
                actor_id=me.subject_id,
            )
            if updated is None:
                raise Conflict("the rubric was changed meanwhile; load it again")
            detail = {"version": updated["version"], "archived": updated["archived"]}
            await actor.audit(
                conn, "rubric.update", target_type="rubric", target_id=updated["id"], detail=detail
            )
            return await rubric_detail(conn, updated, self._names)


async def rubric_detail(conn: AsyncConnection, rubric: Record, names: NameBook) -> dict[str, Any]:
    """The rubric with every version it had, newest first."""
    versions = await rubric_store.versions_of(conn, rubric["id"])
    return {
        **rubric_view(rubric, versions[0]),
        "versions": [await version_view(conn, v, names) for v in versions],
    }


async def _check_scope_free(conn: AsyncConnection, org_id: int, group_id: int | None) -> None:
    """One active rubric per group, and one organisation default."""
    taken = await rubric_store.active_rubric_of_scope(conn, org_id, group_id)
    if taken is not None:
        scope = "this group" if group_id is not None else "the organisation default"
        raise Conflict(
            f"{scope} already has an active rubric (#{taken['id']}); edit or archive it",
            details={"rubric_id": taken["id"]},
        )
