"""The knowledge base over REST: articles (admins write them; agents and customers read and
search the published ones of their organisation), macros (admins write them, agents insert
them filled from the chat) and the bot's switch. docs/protocol.md §11."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from signaling.auth.access import check_view_article, check_write_chat_staff
from signaling.errors import NotFound
from signaling.http import schemas, services
from signaling.http.api import ApiRequest, api
from signaling.kb.macros import PLACEHOLDERS, fill
from signaling.kb.service import ArticleFields, article_view, macro_view
from signaling.store import chats as chat_store
from signaling.store import kb as kb_store
from signaling.store import orgs as org_store
from signaling.transcript.views import chat_view
from signaling.types import KbLanguage, Role
from signaling.wire import limit

ADMIN = (Role.ADMIN,)
STAFF = (Role.AGENT, Role.QA, Role.ADMIN)
EVERYONE = (Role.CUSTOMER, Role.AGENT, Role.QA, Role.ADMIN)
WRITERS = (Role.AGENT, Role.ADMIN)
TITLE = limit(max_len=200, min_len=1)
BODY_MAX = 16_000
BODY = limit(max_len=BODY_MAX, min_len=1)
# ASCII on purpose: the same class in Python and in the document's (ECMA) patterns.
TOPIC = limit(max_len=64, pattern=r"[A-Za-z0-9_.-]*")
TAGS = {**limit(max_len=40, min_len=1), "max_items": 20}
QUESTION = limit(max_len=500, min_len=1)
MACRO_TITLE = limit(max_len=100, min_len=1)
MACRO_BODY = limit(max_len=4000, min_len=1)


@dataclass(frozen=True)
class ArticleCreate:
    title: str = field(metadata=TITLE)
    body: str = field(metadata=BODY)
    language: KbLanguage
    topic: str = field(default="", metadata=TOPIC)  # "": any topic
    tags: list[str] = field(default_factory=list, metadata=TAGS)
    published: bool = False


@dataclass(frozen=True)
class ArticleUpdate:
    title: str | None = field(default=None, metadata=TITLE)
    body: str | None = field(default=None, metadata=BODY)
    language: KbLanguage | None = None
    topic: str | None = field(default=None, metadata=TOPIC)  # "": any topic
    tags: list[str] | None = field(default=None, metadata=TAGS)
    published: bool | None = None


@dataclass(frozen=True)
class ArticleQuery:
    language: KbLanguage | None = None
    topic: str | None = field(default=None, metadata=TOPIC)
    page: int = field(default=1, metadata=limit(min=1, max=100_000))
    per_page: int = field(default=50, metadata=limit(min=1, max=200))


@dataclass(frozen=True)
class SearchQuery:
    q: str = field(metadata=QUESTION)
    language: KbLanguage | None = None
    limit: int = field(default=5, metadata=limit(min=1, max=20))
    drafts: bool = False  # admins: drafts too


@dataclass(frozen=True)
class WidgetSearchQuery:
    org: str = field(metadata=limit(max_len=64, min_len=1))
    q: str = field(metadata=QUESTION)
    language: KbLanguage | None = None
    limit: int = field(default=5, metadata=limit(min=1, max=20))


@dataclass(frozen=True)
class WidgetArticleQuery:
    org: str = field(metadata=limit(max_len=64, min_len=1))


@dataclass(frozen=True)
class MacroCreate:
    title: str = field(metadata=MACRO_TITLE)
    body: str = field(metadata=MACRO_BODY)
    language: KbLanguage | None = None


@dataclass(frozen=True)
class MacroUpdate:
    title: str | None = field(default=None, metadata=MACRO_TITLE)
    body: str | None = field(default=None, metadata=MACRO_BODY)
    language: KbLanguage | None = None


@dataclass(frozen=True)
class MacroFill:
    chat_id: int = field(metadata=limit(min=1, max=2**31 - 1))


@dataclass(frozen=True)
class BotSettings:
    enabled: bool


# ---- articles -----------------------------------------------------------------------------
@api.route(
    "GET",
    "/api/kb/articles",
    summary="Articles, newest change first (agents and QA: published ones; admins: drafts too)",
    roles=STAFF,
    query=ArticleQuery,
    tag="kb",
    response=schemas.page("KbArticle"),
)
async def list_articles(call: ApiRequest) -> dict[str, Any]:
    q: ArticleQuery = call.query
    async with call.runtime.db.read() as conn:
        rows, total = await kb_store.list_articles(
            conn,
            call.me.org_id,
            published_only=call.me.role is not Role.ADMIN,
            language=q.language.value if q.language else None,
            topic=q.topic or None,
            limit=q.per_page,
            offset=(q.page - 1) * q.per_page,
        )
    return {
        "items": [article_view(row, with_source=True) for row in rows],
        "page": q.page,
        "per_page": q.per_page,
        "total": total,
    }


@api.route(
    "POST",
    "/api/kb/articles",
    summary="Write an article (Markdown; a draft unless published is true)",
    roles=ADMIN,
    body=ArticleCreate,
    tag="kb",
    status=201,
    response=schemas.ref("KbArticle"),
)
async def create_article(call: ApiRequest) -> dict[str, Any]:
    req: ArticleCreate = call.body
    fields = ArticleFields(
        title=req.title,
        body=req.body,
        language=req.language,
        topic=req.topic,
        clear_topic=True,
        tags=req.tags,
        published=req.published,
    )
    row = await services.knowledge_base(call.runtime).create_article(call.actor, fields)
    return article_view(row, with_source=True)


@api.route(
    "GET",
    "/api/kb/articles/{article_id}",
    summary="One article (customers and agents: a published one of their organisation)",
    roles=EVERYONE,
    tag="kb",
    response=schemas.ref("KbArticle"),
)
async def get_article(call: ApiRequest) -> dict[str, Any]:
    article_id = call.path_id("article_id")
    async with call.runtime.db.read() as conn:
        row = await kb_store.article_by_id(conn, article_id)
    row = check_view_article(call.me, row, article_id)
    return article_view(row, with_source=call.me.role is not Role.CUSTOMER)


@api.route(
    "PATCH",
    "/api/kb/articles/{article_id}",
    summary='Change an article (topic "": any topic; published: publish or unpublish)',
    roles=ADMIN,
    body=ArticleUpdate,
    tag="kb",
    response=schemas.ref("KbArticle"),
)
async def update_article(call: ApiRequest) -> dict[str, Any]:
    req: ArticleUpdate = call.body
    fields = ArticleFields(
        title=req.title,
        body=req.body,
        language=req.language,
        topic=req.topic,
        clear_topic=req.topic == "",
        tags=req.tags,
        published=req.published,
    )
    service = services.knowledge_base(call.runtime)
    row = await service.update_article(call.actor, call.path_id("article_id"), fields)
    return article_view(row, with_source=True)


@api.route(
    "GET",
    "/api/kb/search",
    summary="Search the organisation's published articles (BM25; English and Chinese)",
    roles=EVERYONE,
    query=SearchQuery,
    tag="kb",
    response=schemas.KB_SEARCH,
)
async def search(call: ApiRequest) -> dict[str, Any]:
    q: SearchQuery = call.query
    hits = await call.runtime.kb_index.search(
        call.me.org_id,
        q.q,
        language=q.language.value if q.language else None,
        published_only=not (q.drafts and call.me.role is Role.ADMIN),
        limit=q.limit,
    )
    return {"items": [hit.view() for hit in hits]}


# ---- the widget before a chat (no token yet) ------------------------------------------------
@api.route(
    "GET",
    "/api/widget/kb/search",
    summary="Search an organisation's published articles from its widget, before a chat",
    roles=None,
    query=WidgetSearchQuery,
    tag="widget",
    response=schemas.KB_SEARCH,
    errors=(404, 429),
)
async def widget_search(call: ApiRequest) -> dict[str, Any]:
    q: WidgetSearchQuery = call.query
    call.runtime.limits.per_ip.hit(call.ip)
    org = await _org(call, q.org)
    hits = await call.runtime.kb_index.search(
        org, q.q, language=q.language.value if q.language else None, limit=q.limit
    )
    return {"items": [hit.view() for hit in hits]}


@api.route(
    "GET",
    "/api/widget/kb/articles/{article_id}",
    summary="One published article of an organisation, for its widget",
    roles=None,
    query=WidgetArticleQuery,
    tag="widget",
    response=schemas.ref("KbArticle"),
    errors=(429,),
)
async def widget_article(call: ApiRequest) -> dict[str, Any]:
    call.runtime.limits.per_ip.hit(call.ip)
    article_id = call.path_id("article_id")
    org = await _org(call, call.query.org)
    async with call.runtime.db.read() as conn:
        row = await kb_store.article_by_id(conn, article_id)
    if row is None or row["org_id"] != org or not row["published"]:
        raise NotFound(f"no article {article_id}")
    return article_view(row, with_source=False)


async def _org(call: ApiRequest, slug: str) -> int:
    async with call.runtime.db.read() as conn:
        org = await org_store.org_by_slug(conn, slug)
    if org is None:
        raise NotFound(f"no organisation {slug!r}")
    return int(org["id"])


# ---- macros -------------------------------------------------------------------------------
@api.route(
    "GET",
    "/api/kb/macros",
    summary="Canned replies, by title, and the placeholders they may use",
    roles=WRITERS,
    tag="kb",
    response=schemas.KB_MACROS,
)
async def list_macros(call: ApiRequest) -> dict[str, Any]:
    async with call.runtime.db.read() as conn:
        rows = await kb_store.list_macros(conn, call.me.org_id)
    return {"items": [macro_view(row) for row in rows], "placeholders": list(PLACEHOLDERS)}


@api.route(
    "POST",
    "/api/kb/macros",
    summary="Add a canned reply ({customer_name}, {agent_name}, {ticket_id}, {topic})",
    roles=ADMIN,
    body=MacroCreate,
    tag="kb",
    status=201,
    response=schemas.ref("KbMacro"),
    errors=(422,),
)
async def create_macro(call: ApiRequest) -> dict[str, Any]:
    req: MacroCreate = call.body
    row = await services.knowledge_base(call.runtime).create_macro(
        call.actor, title=req.title, body=req.body, language=req.language
    )
    return macro_view(row)


@api.route(
    "PATCH",
    "/api/kb/macros/{macro_id}",
    summary="Change a canned reply",
    roles=ADMIN,
    body=MacroUpdate,
    tag="kb",
    response=schemas.ref("KbMacro"),
    errors=(422,),
)
async def update_macro(call: ApiRequest) -> dict[str, Any]:
    req: MacroUpdate = call.body
    changes: dict[str, Any] = {}
    if req.title is not None:
        changes["title"] = req.title
    if req.body is not None:
        changes["body"] = req.body
    if req.language is not None:
        changes["language"] = req.language.value
    service = services.knowledge_base(call.runtime)
    return macro_view(await service.update_macro(call.actor, call.path_id("macro_id"), changes))


@api.route(
    "POST",
    "/api/kb/macros/{macro_id}/fill",
    summary="A canned reply with its placeholders filled from the agent's own chat",
    roles=(Role.AGENT,),
    body=MacroFill,
    tag="kb",
    response=schemas.KB_FILLED,
)
async def fill_macro(call: ApiRequest) -> dict[str, Any]:
    req: MacroFill = call.body
    macro_id = call.path_id("macro_id")
    rt = call.runtime
    async with rt.db.read() as conn:
        macro = await kb_store.macro_by_id(conn, macro_id)
        if macro is None or macro["org_id"] != call.me.org_id:
            raise NotFound(f"no macro {macro_id}")
        chat = await chat_store.chat_by_id(conn, req.chat_id)
        groups = await rt.chats.group_ids(conn, call.me)
        chat = check_write_chat_staff(call.me, chat, groups)
        view = await chat_view(conn, chat, rt.names)
        me = await rt.names.user(conn, call.me.subject_id)
    values = {
        "customer_name": view["customer_name"],
        "agent_name": me or "",
        "ticket_id": str(chat["ticket_id"]),
        "topic": chat["topic"],
    }
    return {"text": fill(macro["body"], values)}


# ---- the bot ------------------------------------------------------------------------------
async def _bot_view(call: ApiRequest) -> dict[str, Any]:
    async with call.runtime.db.read() as conn:
        enabled = await kb_store.bot_enabled(conn, call.me.org_id)
        published = await kb_store.published_count(conn, call.me.org_id)
    return {"enabled": enabled, "published_articles": published}


@api.route(
    "GET",
    "/api/kb/bot",
    summary="Whether the first-response bot answers new chats",
    roles=ADMIN,
    tag="kb",
    response=schemas.BOT_SETTINGS,
)
async def get_bot(call: ApiRequest) -> dict[str, Any]:
    return await _bot_view(call)


@api.route(
    "PATCH",
    "/api/kb/bot",
    summary="Switch the first-response bot on or off (chats already started are not changed)",
    roles=ADMIN,
    body=BotSettings,
    tag="kb",
    response=schemas.BOT_SETTINGS,
)
async def set_bot(call: ApiRequest) -> dict[str, Any]:
    req: BotSettings = call.body
    await services.knowledge_base(call.runtime).set_bot(call.actor, req.enabled)
    return await _bot_view(call)


# ---- deleting (declared last: the route matrix test walks routes in this order) -----------
@api.route(
    "DELETE",
    "/api/kb/articles/{article_id}",
    summary="Delete an article (the bot's past answers keep its title and excerpt)",
    roles=ADMIN,
    tag="kb",
    response=schemas.KB_DELETED,
)
async def delete_article(call: ApiRequest) -> dict[str, Any]:
    await services.knowledge_base(call.runtime).delete_article(
        call.actor, call.path_id("article_id")
    )
    return {"deleted": True}


@api.route(
    "DELETE",
    "/api/kb/macros/{macro_id}",
    summary="Delete a canned reply",
    roles=ADMIN,
    tag="kb",
    response=schemas.KB_DELETED,
)
async def delete_macro(call: ApiRequest) -> dict[str, Any]:
    await services.knowledge_base(call.runtime).delete_macro(call.actor, call.path_id("macro_id"))
    return {"deleted": True}
