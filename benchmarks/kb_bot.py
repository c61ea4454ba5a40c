"""The first-response bot's ranking on the labelled set (tests/fixtures/kb): top-3 accuracy
per language and search latency, through the real store (SQLite file) and index.

    .venv/bin/python -m benchmarks.kb_bot [--rounds 20]

Latency is one bot search as the bot makes it (the revision check against the database,
segmentation, BM25 over the organisation's articles), index warm; the index build is timed
apart (it runs in a worker thread when an article changes)."""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path
from time import perf_counter

from benchmarks.stats import summarize
from signaling.db.database import Database
from signaling.db.migrate import upgrade
from signaling.kb.index import KbIndex
from signaling.store import orgs as org_store
from tests.kb_labelled import evaluate, seed


async def run(rounds: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite+aiosqlite:///{Path(folder) / 'kb.db'}")
        try:
            await upgrade(db)
            async with db.write() as conn:
                org = await org_store.create_org(conn, slug="bench", name="Bench")
            slugs = await seed(db, org["id"])
            index = KbIndex(db)
            began = perf_counter()
            first = await evaluate(index, org["id"], slugs)  # builds the index on its way
            cold = perf_counter() - began
            samples: list[float] = []
            for _ in range(rounds):
                samples.extend((await evaluate(index, org["id"], slugs)).seconds)
        finally:
            await db.close()
    latency = summarize([s * 1000 for s in samples]).to_json()
    return {
        "articles": len(slugs),
        "questions": first.asked,
        "top3_accuracy": {lang: round(first.accuracy(lang), 4) for lang in first.asked},
        "top1_accuracy": {
            lang: round(first.top1[lang] / first.asked[lang], 4) for lang in first.asked
        },
        "misses": first.misses,
        "first_pass_with_build_s": round(cold, 3),
        "search_latency_ms": latency,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.rounds)), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
