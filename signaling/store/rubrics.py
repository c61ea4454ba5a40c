"""Rubrics and their versions. A rubric's criteria are never changed in place: an edit writes
a new version and moves the rubric's `version` to it, so reviews keep what they were scored
against."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.db.schema import rubric_versions, rubrics, utcnow
from signaling.store import Record, record, records


async def create_rubric(
    conn: AsyncConnection,
    *,
    org_id: int,
    group_id: int | None,
    name: str,
    criteria: list[dict[str, Any]],
    created_by: int,
) -> Record:
    now = utcnow()
    result = await conn.execute(
        insert(rubrics)
        .values(
            org_id=org_id,
            group_id=group_id,
            name=name,
            version=1,
            archived=False,
            created_at=now,
            updated_at=now,
        )
        .returning(*rubrics.c)
    )
    created = record(result.first())
    assert created is not None
    await _add_version(conn, created["id"], 1, name, criteria, created_by)
    return created


async def _add_version(
    conn: AsyncConnection,
    rubric_id: int,
    version: int,
    name: str,
    criteria: list[dict[str, Any]],
    created_by: int,
) -> None:
    await conn.execute(
        insert(rubric_versions).values(
            rubric_id=rubric_id,
            version=version,
            name=name,
            criteria=criteria,
            created_by=created_by,
        )
    )


async def rubric_by_id(conn: AsyncConnection, rubric_id: int) -> Record | None:
    return record((await conn.execute(select(rubrics).where(rubrics.c.id == rubric_id))).first())


async def list_rubrics(
    conn: AsyncConnection, org_id: int, *, include_archived: bool, group_id: int | None
) -> list[Record]:
    query = select(rubrics).where(rubrics.c.org_id == org_id)
    if not include_archived:
        query = query.where(rubrics.c.archived.is_(False))
    if group_id is not None:
        query = query.where(rubrics.c.group_id == group_id)
    return records(await conn.execute(query.order_by(rubrics.c.id)))


async def active_rubric_of_scope(
    conn: AsyncConnection, org_id: int, group_id: int | None
) -> Record | None:
    """The active rubric of exactly this scope: a group, or (None) the organisation default."""
    where = rubrics.c.group_id.is_(None) if group_id is None else rubrics.c.group_id == group_id
    rows = await conn.execute(
        select(rubrics).where(rubrics.c.org_id == org_id, rubrics.c.archived.is_(False), where)
    )
    return record(rows.first())


async def rubric_for_group(
    conn: AsyncConnection, org_id: int, group_id: int | None
) -> Record | None:
    """The rubric that scores calls of a chat in `group_id`: the group's own, else the
    organisation's default, else none."""
    if group_id is not None:
        own = await active_rubric_of_scope(conn, org_id, group_id)
        if own is not None:
            return own
    return await active_rubric_of_scope(conn, org_id, None)


async def update_rubric(
    conn: AsyncConnection,
    rubric: Record,
    *,
    name: str | None,
    criteria: list[dict[str, Any]] | None,
    archived: bool | None,
    actor_id: int,
) -> Record | None:
    """Rename, archive or restore in place; a new name or new criteria write a new version.
    None when the rubric is no longer at the version `rubric` was read at (another edit came
    first, even one committing meanwhile on PostgreSQL)."""
    current = await version_of(conn, rubric["id"], rubric["version"])
    assert current is not None
    values: dict[str, Any] = {"updated_at": utcnow()}
    if archived is not None:
        values["archived"] = archived
    new_name = name if name is not None else rubric["name"]
    new_criteria = criteria if criteria is not None else current["criteria"]
    changed = new_name != rubric["name"] or new_criteria != current["criteria"]
    if changed:
        values["version"] = rubric["version"] + 1
        values["name"] = new_name
    result = await conn.execute(
        update(rubrics)
        .where(rubrics.c.id == rubric["id"], rubrics.c.version == rubric["version"])
        .values(**values)
        .returning(*rubrics.c)
    )
    updated = record(result.first())
    if updated is not None and changed:
        await _add_version(conn, rubric["id"], values["version"], new_name, new_criteria, actor_id)
    return updated


async def version_of(conn: AsyncConnection, rubric_id: int, version: int) -> Record | None:
    rows = await conn.execute(
        select(rubric_versions).where(
            rubric_versions.c.rubric_id == rubric_id, rubric_versions.c.version == version
        )
    )
    return record(rows.first())


async def version_by_id(conn: AsyncConnection, version_id: int) -> Record | None:
    rows = await conn.execute(select(rubric_versions).where(rubric_versions.c.id == version_id))
    return record(rows.first())


async def versions_of(conn: AsyncConnection, rubric_id: int) -> list[Record]:
    rows = await conn.execute(
        select(rubric_versions)
        .where(rubric_versions.c.rubric_id == rubric_id)
        .order_by(rubric_versions.c.version.desc())
    )
    return records(rows)


async def current_versions(conn: AsyncConnection, rubric_ids: list[int]) -> dict[int, Record]:
    """rubric id → its current version (criteria included), for a list of rubrics."""
    if not rubric_ids:
        return {}
    rows = await conn.execute(
        select(rubric_versions)
        .join(rubrics, rubrics.c.id == rubric_versions.c.rubric_id)
        .where(rubrics.c.id.in_(rubric_ids), rubric_versions.c.version == rubrics.c.version)
    )
    return {row["rubric_id"]: row for row in records(rows)}


async def versions_by_ids(conn: AsyncConnection, version_ids: list[int]) -> dict[int, Record]:
    if not version_ids:
        return {}
    rows = await conn.execute(select(rubric_versions).where(rubric_versions.c.id.in_(version_ids)))
    return {row["id"]: row for row in records(rows)}
