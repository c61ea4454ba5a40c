"""The knowledge base's labelled set (tests/fixtures/kb): 16 articles and 24 questions per
language, each question naming the article that answers it (or none: off-topic questions
the bot must not answer). Seeded through the real store and ranked through the real index;
used by tests/test_kb_search.py (a floor) and benchmarks/kb_bot.py (the figures)."""

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
    """Per language: questions asked, those whose article is in the top 3 (an off-topic one
    counts when nothing scores over the bot's threshold), and each search's seconds."""

    asked: dict[str, int] = field(default_factory=dict)
    top3: dict[str, int] = field(default_factory=dict)
    top1: dict[str, int] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def accuracy(self, language: str) -> float:
        return self.top3[language] / self.asked[language]


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
        right = not found if expected is None else expected in found
        scores.asked[lang] = scores.asked.get(lang, 0) + 1
        scores.top3[lang] = scores.top3.get(lang, 0) + int(right)
        first = (not found) if expected is None else bool(found) and found[0] == expected
        scores.top1[lang] = scores.top1.get(lang, 0) + int(first)
        if not right:
            scores.misses.append(f"{lang}: {item['q']!r} → {found} (wanted {expected})")
    return scores
