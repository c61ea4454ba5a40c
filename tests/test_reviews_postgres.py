"""QA review on PostgreSQL: reviewers opening one call's review at once (concurrent
transactions, the unique call_id settles it), two saving the same version at once (one is
refused), the score and filters other lists join on."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from signaling.db.schema import calls
from signaling.store.reviews import done_reviews, review_scores
from tests.conftest import Server
from tests.qa_world import build_world, default_rubric

pytestmark = pytest.mark.postgres


async def test_concurrent_opens_make_one_review_and_scores_join(pg_server: Server) -> None:
    world = await build_world(pg_server)
    try:
        await default_rubric(world.admin)
        url = f"/api/calls/{world.call_id}/review"
        opened = await asyncio.gather(
            *(reviewer.rest("POST", url, json={}) for reviewer in (world.qa, world.qa2) * 3)
        )
        assert len({review["id"] for review in opened}) == 1
        review_url = f"/api/reviews/{opened[0]['id']}"
        # two reviewers saving on the same version at once: one wins, the other is told
        answers = await asyncio.gather(
            *(
                reviewer.rest(
                    "PATCH", review_url, json={"summary": name, "version": 1}, expect=None
                )
                for reviewer, name in ((world.qa, "first"), (world.qa2, "second"))
            )
        )
        assert sorted("error" in answer for answer in answers) == [False, True], answers
        assert [a["error"]["details"] for a in answers if "error" in a] == [{"version": 2}]
        await world.qa.rest("PATCH", review_url, json={"scores": {"c1": 0, "c2": 5}})
        async with pg_server.runtime.db.read() as conn:
            assert await review_scores(conn, [world.call_id]) == {
                world.call_id: {"score": None, "reviewed": False}
            }
        await world.qa.rest("PATCH", review_url, json={"state": "done"})
        async with pg_server.runtime.db.read() as conn:
            assert await review_scores(conn, [world.call_id]) == {
                world.call_id: {"score": 75.0, "reviewed": True}
            }
            done = done_reviews()
            joined = calls.outerjoin(done, done.c.call_id == calls.c.id)
            reviewed = await conn.execute(
                select(calls.c.id).select_from(joined).where(done.c.score >= 70)
            )
            assert [row[0] for row in reviewed] == [world.call_id]
            unreviewed = await conn.execute(
                select(calls.c.id).select_from(joined).where(done.c.call_id.is_(None))
            )
            assert [row[0] for row in unreviewed] == []
        history = await world.qa.rest("GET", f"{review_url}/history")
        assert [e["action"] for e in history["items"]] == ["created", "updated", "updated", "done"]
    finally:
        await world.close()
