"""BM25 search over an organisation's articles (bm25s), one index per language.

Each signaling process keeps the indexes it has built, stamped with the organisation's
`kb_revision`, which every article change raises in its own transaction: a search first reads
that number (one small query), and an index built at an older revision is built again — so
a change made through any process is seen by the next search everywhere. Building (Markdown
to text, segmentation, the sparse matrix) runs in a worker thread, never on the event loop;
searches that arrive meanwhile wait for the same build. Drafts are indexed too and filtered
out at query time for everyone but admins."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import bm25s
import numpy as np

from signaling.db.database import Database
from signaling.kb.markdown import plain_text
from signaling.kb.tokens import surface_words, tokens
from signaling.store import Record
from signaling.store import kb as kb_store

EXCERPT_CHARS = 180
TITLE_WEIGHT = 2  # title and tags words count as if written this many times


@dataclass(frozen=True)
class Hit:
    article_id: int
    title: str
    excerpt: str
    score: float
    language: str
    topic: str | None
    tags: list[str]
    published: bool

    def view(self) -> dict[str, Any]:
        return {
            "id": self.article_id,
            "title": self.title,
            "excerpt": self.excerpt,
            "score": round(self.score, 4),
            "language": self.language,
            "topic": self.topic,
            "tags": list(self.tags),
            "published": self.published,
        }


@dataclass
class LanguageIndex:
    articles: list[Record]
    texts: list[str]
    model: bm25s.BM25 | None

    @classmethod
    def build(cls, rows: list[Record]) -> LanguageIndex:
        texts = [plain_text(row["body"]) for row in rows]
        corpus = []
        for row, text in zip(rows, texts, strict=True):
            heading = " ".join([row["title"], *row["tags"]])
            corpus.append(tokens(heading) * TITLE_WEIGHT + tokens(text))
        model = None
        if any(corpus):
            model = bm25s.BM25()
            model.index(corpus, show_progress=False)
        return cls(rows, texts, model)

    def scores(self, query: list[str]) -> np.ndarray[Any, np.dtype[np.float64]]:
        if self.model is None:
            return np.zeros(len(self.articles))
        known = [word for word in query if word in self.model.vocab_dict]
        if not known:
            return np.zeros(len(self.articles))
        return np.asarray(self.model.get_scores(known), dtype=np.float64)


@dataclass
class OrgIndex:
    revision: int
    languages: dict[str, LanguageIndex] = field(default_factory=dict)

    @classmethod
    def build(cls, revision: int, rows: list[Record]) -> OrgIndex:
        by_language: dict[str, list[Record]] = {}
        for row in rows:
            by_language.setdefault(row["language"], []).append(row)
        return cls(revision, {lang: LanguageIndex.build(rs) for lang, rs in by_language.items()})


def excerpt(text: str, question: str) -> str:
    """About EXCERPT_CHARS of `text` around the first word of the question it contains."""
    lowered = text.lower()
    places = [lowered.find(word) for word in surface_words(question)]
    found = [place for place in places if place >= 0]
    start = max(0, min(found) - 60) if found else 0
    if start:
        space = text.find(" ", start, start + 20)
        start = space + 1 if space >= 0 else start
    piece = text[start : start + EXCERPT_CHARS].strip()
    return ("…" if start else "") + piece + ("…" if start + EXCERPT_CHARS < len(text) else "")


class KbIndex:
    """Lifecycle: usable at once; holds one OrgIndex per organisation searched."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._built: dict[int, OrgIndex] = {}
        self._building: dict[tuple[int, int], asyncio.Future[OrgIndex]] = {}
        self.builds = 0
        """Indexes built so far (tests read it)."""

    async def _current(self, org_id: int) -> OrgIndex:
        async with self._db.read() as conn:
            revision = await kb_store.kb_revision(conn, org_id)
        built = self._built.get(org_id)
        if built is not None and built.revision == revision:
            return built
        key = (org_id, revision)
        pending = self._building.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._build(org_id, revision))
            self._building[key] = pending
            pending.add_done_callback(lambda _f: self._building.pop(key, None))
        return await asyncio.shield(pending)

    async def _build(self, org_id: int, revision: int) -> OrgIndex:
        async with self._db.read() as conn:
            rows = await kb_store.articles_for_index(conn, org_id)
        index = await asyncio.to_thread(OrgIndex.build, revision, rows)
        self.builds += 1
        current = self._built.get(org_id)
        if current is None or current.revision <= revision:
            self._built[org_id] = index
        return index

    async def search(
        self,
        org_id: int,
        question: str,
        *,
        language: str | None = None,
        published_only: bool = True,
        limit: int = 10,
        min_score: float = 0.0,
    ) -> list[Hit]:
        """Best first; only articles with a score above `min_score` (0: any word matched)."""
        query = tokens(question)
        if not query:
            return []
        index = await self._current(org_id)
        hits: list[Hit] = []
        for lang, part in index.languages.items():
            if language is not None and lang != language:
                continue
            scores = part.scores(query)
            for position in np.argsort(-scores, kind="stable"):
                score = float(scores[position])
                if score <= min_score:
                    break
                row = part.articles[position]
                if published_only and not row["published"]:
                    continue
                hits.append(
                    Hit(
                        row["id"],
                        row["title"],
                        excerpt(part.texts[position], question),
                        score,
                        row["language"],
                        row["topic"],
                        list(row["tags"]),
                        bool(row["published"]),
                    )
                )
                if len(hits) >= limit * 2:
                    break
        hits.sort(key=lambda hit: -hit.score)
        return hits[:limit]
