"""The knowledge base's labelled set (tests/fixtures/kb): 16 articles per language, 22
questions per language naming the article that answers them, and 4 off-topic ones per
language (two sharing words with the articles) that the bot must leave alone. Seeded
through the real store and ranked through the real index; used by tests/test_kb.py (a
floor) and benchmarks/kb_bot.py (the figures)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any

from signaling.db.database import Database
from signaling.kb.bot import MIN_SCORE, SUGGESTIONS, kb_language
from signaling.kb.index import KbIndex
from signaling.kb.markdown import render
from signaling.store import kb as kb_store

FIXTURES = Path(__file__).parent / "fixtures" / "kb"


def articles() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads((FIXTURES / "articles.json").read_text())
    return loaded


def questions() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads((FIXTURES / "questions.json").read_text())
    return loaded


async def seed(db: Database, org_id: int) -> dict[int, str]:
    """Every article, published; their ids → slugs."""
    slugs: dict[int, str] = {}
    async with db.write() as conn:
        for article in articles():
            row = await kb_store.create_article(
                conn,
                org_id=org_id,
                title=article["title"],
                body=article["body"],
                body_html=render(article["body"]),
                language=article["language"],
                topic=article["topic"],
                tags=article["tags"],
                published=True,
            )
            slugs[row["id"]] = article["slug"]
        await kb_store.bump_revision(conn, org_id)
    return slugs


@dataclass
class Scores:
    """Per language: answerable questions asked, those whose article is in the top 3 (and
    first); off-topic questions asked, those the bot left alone (nothing over its threshold);
    each search's seconds."""

    asked: dict[str, int] = field(default_factory=dict)
    top3: dict[str, int] = field(default_factory=dict)
    top1: dict[str, int] = field(default_factory=dict)
    off_topic: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def accuracy(self, language: str) -> float:
        """Top-3 accuracy over the answerable questions."""
        return self.top3[language] / self.asked[language]

    def refusal(self, language: str) -> float:
        return self.refused[language] / self.off_topic[language]


def _count(counts: dict[str, int], key: str, by: int = 1) -> None:
    counts[key] = counts.get(key, 0) + by


async def evaluate(index: KbIndex, org_id: int, slugs: dict[int, str]) -> Scores:
    """Ask every question as the bot does (its threshold, three suggestions)."""
    scores = Scores()
    for item in questions():
        lang = item["language"]
        began = perf_counter()
        hits = await index.search(
            org_id, item["q"], language=kb_language(lang), limit=SUGGESTIONS, min_score=MIN_SCORE
        )
        scores.seconds.append(perf_counter() - began)
        found = [slugs[hit.article_id] for hit in hits]
        expected = item["expected"]
        if expected is None:
            _count(scores.off_topic, lang)
            _count(scores.refused, lang, int(not found))
            right = not found
        else:
            _count(scores.asked, lang)
            right = expected in found
            _count(scores.top3, lang, int(right))
            _count(scores.top1, lang, int(bool(found) and found[0] == expected))
        if not right:
            scores.misses.append(f"{lang}: {item['q']!r} → {found} (wanted {expected})")
    return scores
