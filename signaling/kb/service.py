"""What admins do with the knowledge base: write, change, publish and delete articles and
macros, and switch the bot on or off. Each change is audited in its own transaction; an
article change raises the organisation's kb_revision there too, so every process's search
index is rebuilt before its next search (signaling/kb/index.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from signaling.auth.actor import Actor
from signaling.db.database import Database
from signaling.errors import NotFound
from signaling.kb.macros import check_placeholders
from signaling.kb.markdown import render
from signaling.store import Record
from signaling.store import kb as store
from signaling.types import KbLanguage


def article_view(row: Record, *, with_source: bool) -> dict[str, Any]:
    """`with_source`: the Markdown as written (staff); customers get the rendered HTML only."""
    view = {
        "id": row["id"],
        "title": row["title"],
        "html": row["body_html"],
        "language": row["language"],
        "topic": row["topic"],
        "tags": list(row["tags"]),
        "published": row["published"],
        "updated_at": row["updated_at"],
    }
    if with_source:
        view["body"] = row["body"]
        view["created_at"] = row["created_at"]
    return view


def macro_view(row: Record) -> dict[str, Any]:
    keys = ("id", "title", "body", "language", "created_at", "updated_at")
    return {key: row[key] for key in keys}


def _tags(tags: list[str]) -> list[str]:
    """Trimmed, lowercased, without repeats, in the order given."""
    seen: dict[str, None] = {}
    for tag in tags:
        seen.setdefault(tag.strip().lower(), None)
    return [tag for tag in seen if tag]


@dataclass(frozen=True)
class ArticleFields:
    title: str | None = None
    body: str | None = None
    language: KbLanguage | None = None
    topic: str | None = None
    clear_topic: bool = False
    tags: list[str] | None = None
    published: bool | None = None

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if self.title is not None:
            values["title"] = self.title.strip()
        if self.body is not None:
            values["body"] = self.body
            values["body_html"] = render(self.body)
        if self.language is not None:
            values["language"] = self.language.value
        if self.topic is not None or self.clear_topic:
            values["topic"] = (self.topic or "").strip() or None
        if self.tags is not None:
            values["tags"] = _tags(self.tags)
        if self.published is not None:
            values["published"] = self.published
        return values


class KnowledgeBase:
    def __init__(self, db: Database) -> None:
        self._db = db

    # ---- articles -------------------------------------------------------------------------
    async def _own_article(self, actor: Actor, conn: AsyncConnection, article_id: int) -> Record:
        row = await store.article_by_id(conn, article_id)
        if row is None or row["org_id"] != actor.principal.org_id:
            raise NotFound(f"no article {article_id}")
        return row

    async def create_article(self, actor: Actor, fields: ArticleFields) -> Record:
        me = actor.principal
        values = fields.values()
        values.setdefault("tags", [])
        values.setdefault("published", False)
        values.setdefault("topic", None)
        async with self._db.write() as conn:
            row = await store.create_article(
                conn, org_id=me.org_id, created_by=me.subject_id, updated_by=me.subject_id, **values
            )
            await store.bump_revision(conn, me.org_id)
            await actor.audit(
                conn,
                "kb.article.create",
                target_type="kb_article",
                target_id=row["id"],
                detail={"title": row["title"], "published": row["published"]},
            )
        return row

    async def update_article(self, actor: Actor, article_id: int, fields: ArticleFields) -> Record:
        values = fields.values()
        async with self._db.write() as conn:
            before = await self._own_article(actor, conn, article_id)
            real = {k: v for k, v in values.items() if before[k] != v}
            if not real:
                return before
            real["updated_by"] = actor.principal.subject_id
            row = await store.update_article(conn, article_id, real)
            await store.bump_revision(conn, actor.principal.org_id)
            changed = sorted(k for k in real if k not in ("body_html", "updated_by"))
            detail: dict[str, Any] = {"fields": changed}
            if "published" in real:
                detail["published"] = real["published"]
            await actor.audit(
                conn, "kb.article.update", target_type="kb_article", target_id=article_id,
                detail=detail,
            )  # fmt: skip
        return row

    async def delete_article(self, actor: Actor, article_id: int) -> None:
        async with self._db.write() as conn:
            row = await self._own_article(actor, conn, article_id)
            await store.delete_article(conn, article_id)
            await store.bump_revision(conn, actor.principal.org_id)
            await actor.audit(
                conn, "kb.article.delete", target_type="kb_article", target_id=article_id,
                detail={"title": row["title"]},
            )  # fmt: skip

    # ---- macros ---------------------------------------------------------------------------
    async def _own_macro(self, actor: Actor, conn: AsyncConnection, macro_id: int) -> Record:
        row = await store.macro_by_id(conn, macro_id)
        if row is None or row["org_id"] != actor.principal.org_id:
            raise NotFound(f"no macro {macro_id}")
        return row

    async def create_macro(
        self, actor: Actor, *, title: str, body: str, language: KbLanguage | None
    ) -> Record:
        check_placeholders(body)
        me = actor.principal
        async with self._db.write() as conn:
            row = await store.create_macro(
                conn,
                org_id=me.org_id,
                title=title.strip(),
                body=body,
                language=language.value if language else None,
                created_by=me.subject_id,
            )
            await actor.audit(
                conn, "kb.macro.create", target_type="kb_macro", target_id=row["id"],
                detail={"title": row["title"]},
            )  # fmt: skip
        return row

    async def update_macro(self, actor: Actor, macro_id: int, changes: dict[str, Any]) -> Record:
        if "body" in changes:
            check_placeholders(changes["body"])
        if "title" in changes:
            changes["title"] = changes["title"].strip()
        async with self._db.write() as conn:
            before = await self._own_macro(actor, conn, macro_id)
            real = {k: v for k, v in changes.items() if before[k] != v}
            if not real:
                return before
            row = await store.update_macro(conn, macro_id, real)
            await actor.audit(
                conn, "kb.macro.update", target_type="kb_macro", target_id=macro_id,
                detail={"fields": sorted(real)},
            )  # fmt: skip
        return row

    async def delete_macro(self, actor: Actor, macro_id: int) -> None:
        async with self._db.write() as conn:
            row = await self._own_macro(actor, conn, macro_id)
            await store.delete_macro(conn, macro_id)
            await actor.audit(
                conn, "kb.macro.delete", target_type="kb_macro", target_id=macro_id,
                detail={"title": row["title"]},
            )  # fmt: skip

    # ---- the bot --------------------------------------------------------------------------
    async def set_bot(self, actor: Actor, enabled: bool) -> bool:
        org_id = actor.principal.org_id
        async with self._db.write() as conn:
            if await store.bot_enabled(conn, org_id) != enabled:
                await store.set_bot_enabled(conn, org_id, enabled)
                await actor.audit(conn, "kb.bot", target_type="organisation", target_id=org_id,
                                  detail={"enabled": enabled})  # fmt: skip
        return enabled
