"""The first-response bot on the labelled set (tests/fixtures/kb): top-3 accuracy per language,
how often it leaves off-topic questions alone, the latency of one search, and the latency of
the bot's whole answer through a real server.

    .venv/bin/python -m benchmarks.kb_bot [--rounds 20]

- Ranking and search latency: through the real store (a SQLite file) and index, as the bot
  searches (its threshold, three suggestions): the revision check against the database,
  segmentation, BM25 over the organisation's articles; index warm. The first pass includes
  building the index (in a worker thread, as after an article change).
- Answer latency: a real server (SQLite, loopback), the bot on; for each question a widget
  session and socket, then the time from sending the question to receiving the bot's message
  (or, with no good answer, the chat queued), as the customer's socket sees it."""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path
from time import perf_counter
from typing import Any

from benchmarks.stats import summarize
from loadtest.clients import Customer, Staff
from signaling.db.database import Database
from signaling.db.migrate import upgrade
from signaling.kb.index import KbIndex
from signaling.store import orgs as org_store
from tests.conftest import start_server
from tests.kb_labelled import evaluate, questions, seed


async def ranking(rounds: int) -> dict[str, Any]:
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
    langs = sorted(first.asked)
    return {
        "articles": len(slugs),
        "answerable_questions": first.asked,
        "top3_accuracy": {lang: round(first.accuracy(lang), 4) for lang in langs},
        "top1_accuracy": {lang: round(first.top1[lang] / first.asked[lang], 4) for lang in langs},
        "off_topic_questions": first.off_topic,
        "off_topic_left_alone": {lang: round(first.refusal(lang), 4) for lang in langs},
        "misses": first.misses,
        "first_pass_with_index_build_s": round(cold, 3),
        "search_latency_ms": summarize([s * 1000 for s in samples]).to_json(),
    }


async def answers() -> dict[str, Any]:
    limits = {"ip_guest_sessions_per_second": 1000.0, "ip_guest_session_burst": 100_000}
    with tempfile.TemporaryDirectory() as folder:
        server, runner = await start_server(Path(folder) / "data", limits=limits)
        try:
            await seed(server.runtime.db, 1)
            admin = Staff(server.url)
            await admin.sign_in("admin@demo.local", server.passwords["admin@demo.local"])
            await admin.rest("PATCH", "/api/kb/bot", json={"enabled": True})
            await admin.close()
            answered: list[float] = []
            queued: list[float] = []
            for item in questions():
                customer = Customer(server.url)
                await customer.open_chat(name="Bench", language=item["language"])
                await customer.connect()
                began = perf_counter()
                await customer.say(item["q"])
                while True:
                    message = await customer.next("message")
                    if message["sender"]["type"] in ("bot", "system"):
                        break
                took = (perf_counter() - began) * 1000
                (answered if message["sender"]["type"] == "bot" else queued).append(took)
                await customer.close()
        finally:
            await runner.cleanup()
    return {
        "bot_answer_ms": summarize(answered).to_json(),
        "no_answer_queued_ms": summarize(queued).to_json(),
    }


async def run(rounds: int) -> dict[str, Any]:
    return {**await ranking(rounds), **await answers()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.rounds)), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
