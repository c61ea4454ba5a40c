"""QA review over REST against a real server and SQLite file: rubrics (admin only, one per
scope, versioned), a call's review scored, done and reopened, its score on the call and the
ticket, comments pinned to media time, the history of every edit, and who may see what."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from loadtest.clients import Staff
from signaling.store.calls import create_call_sync
from signaling.store.reviews import review_scores
from signaling.types import CallMedia, CallParty
from tests.conftest import Server
from tests.qa_world import CRITERIA, QaWorld, build_world, default_rubric
from tests.records import ready_recording_of


@pytest.fixture
async def world(server: Server) -> AsyncIterator[QaWorld]:
    built = await build_world(server)
    try:
        yield built
    finally:
        await built.close()


async def refused(staff: Staff, method: str, path: str, status: int, **kwargs: Any) -> Any:
    body = await staff.rest(method, path, expect=status, **kwargs)
    return body["error"]


async def test_rubrics_are_admin_only_one_per_scope_and_versioned(world: QaWorld) -> None:
    admin, qa = world.admin, world.qa
    rubric = await default_rubric(admin)
    assert rubric["version"] == 1 and rubric["group_id"] is None
    assert [c["id"] for c in rubric["criteria"]] == ["c1", "c2", "c3"]
    assert rubric["criteria"][1] == {
        "id": "c2",
        "title": "Solved the problem",
        "description": "",
        "weight": 3.0,
        "scale": "1-5",
        "optional": False,
    }
    assert [v["version"] for v in rubric["versions"]] == [1]
    assert rubric["versions"][0]["created_by_name"] == "Ada Admin"

    # one active rubric per scope: the organisation default, and each group
    taken = await refused(
        admin, "POST", "/api/rubrics", 409, json={"name": "Again", "criteria": CRITERIA}
    )
    assert taken["details"] == {"rubric_id": rubric["id"]}
    billing = world.chat["group_id"]
    group_body = {"name": "Billing calls", "group_id": billing, "criteria": CRITERIA[:2]}
    grouped = await admin.rest("POST", "/api/rubrics", json=group_body, expect=201)
    await refused(admin, "POST", "/api/rubrics", 409, json=group_body)
    # another organisation's group is not one an admin can name
    await refused(world.other_admin, "POST", "/api/rubrics", 404, json=group_body)

    listed = await qa.rest("GET", "/api/rubrics")
    assert [r["id"] for r in listed["items"]] == [rubric["id"], grouped["id"]]
    assert (await qa.rest("GET", f"/api/rubrics?group_id={billing}"))["items"][0]["id"] == grouped[
        "id"
    ]
    assert (await world.other_admin.rest("GET", "/api/rubrics"))["items"] == []
    await refused(world.other_admin, "GET", f"/api/rubrics/{rubric['id']}", 404)
    await refused(world.agent, "GET", "/api/rubrics", 403)
    await refused(qa, "POST", "/api/rubrics", 403, json={"name": "Mine", "criteria": CRITERIA})
    await refused(qa, "PATCH", f"/api/rubrics/{rubric['id']}", 403, json={"name": "Mine"})

    # bad input, named
    for body, field in [
        ({"name": "Empty", "criteria": []}, "criteria"),
        ({"name": " ", "criteria": CRITERIA}, "name"),
        ({"name": "Scale", "criteria": [{"title": "x", "scale": "1-6"}]}, "criteria[0].scale"),
        (
            {"name": "Weight", "criteria": [CRITERIA[0], {"title": "x", "weight": 0}]},
            "criteria[1].weight",
        ),
        ({"name": "Extra", "criteria": [{"title": "x", "points": 3}]}, "criteria[0].points"),
        ({"name": "No title", "criteria": [{"weight": 2}]}, "criteria[0].title"),
        ({"name": "Unknown", "criteria": CRITERIA, "colour": "red"}, None),
    ]:
        error = await refused(admin, "POST", "/api/rubrics", 400, json=body)
        assert error["code"] == "invalid_payload"
        if field:
            assert error["details"].get("field") == field, error

    # an edit of the criteria is a new version; a stale edit is refused with the current one
    changed = [*CRITERIA[:2], {"title": "Closed politely", "scale": "1-3"}]
    edited = await admin.rest(
        "PATCH", f"/api/rubrics/{rubric['id']}", json={"criteria": changed, "version": 1}
    )
    assert edited["version"] == 2
    assert [v["version"] for v in edited["versions"]] == [2, 1]
    assert edited["versions"][1]["criteria"] == rubric["criteria"]
    stale = await refused(
        admin, "PATCH", f"/api/rubrics/{rubric['id']}", 409, json={"name": "X", "version": 1}
    )
    assert stale["details"] == {"version": 2}
    same = await admin.rest("PATCH", f"/api/rubrics/{rubric['id']}", json={"criteria": changed})
    assert same["version"] == 2  # nothing changed, no new version

    # archived, it frees its scope; restoring it while another is active is a conflict
    await admin.rest("PATCH", f"/api/rubrics/{rubric['id']}", json={"archived": True})
    assert [r["id"] for r in (await qa.rest("GET", "/api/rubrics"))["items"]] == [grouped["id"]]
    archived = await qa.rest("GET", "/api/rubrics?include_archived=true")
    assert len(archived["items"]) == 2
    await admin.rest(
        "POST", "/api/rubrics", json={"name": "New default", "criteria": CRITERIA}, expect=201
    )
    await refused(admin, "PATCH", f"/api/rubrics/{rubric['id']}", 409, json={"archived": False})
    audit = await admin.rest("GET", "/api/audit?action=rubric.update")
    assert {entry["target_id"] for entry in audit["items"]} == {rubric["id"]}


async def test_review_scored_done_and_shown_on_call_and_ticket(world: QaWorld) -> None:
    qa, admin, agent = world.qa, world.admin, world.agent
    call_id, ticket_id = world.call_id, world.chat["ticket_id"]
    rubric = await default_rubric(admin)
    before = await qa.rest("GET", f"/api/calls/{call_id}/review")
    assert before["review"] is None and before["rubric"]["version"] == 1

    review = await qa.rest("POST", f"/api/calls/{call_id}/review", json={})
    assert review["state"] == "draft" and review["score"] is None and review["version"] == 1
    assert review["rubric"]["rubric_id"] == rubric["id"] and review["ticket_id"] == ticket_id
    assert review["agent_name"] == "Alex Agent" and review["created_by_name"] == "Quinn Reviewer"
    again = await admin.rest("POST", f"/api/calls/{call_id}/review", json={})
    assert again["id"] == review["id"]  # one review per call: opening it again finds it
    url = f"/api/reviews/{review['id']}"

    # editing the rubric now does not change the criteria this review is scored on
    await admin.rest(
        "PATCH", f"/api/rubrics/{rubric['id']}", json={"criteria": [{"title": "Only one"}]}
    )
    assert (await qa.rest("GET", url))["rubric"]["criteria"] == rubric["criteria"]

    # malformed input is 400 naming the field; input the rubric does not allow is 409
    for body, field in [
        ({"scores": {"c2": "four"}}, "scores.c2"),
        ({"scores": {"c2": True}}, "scores.c2"),
        ({"scores": []}, "scores"),
        ({"state": "maybe"}, "state"),
        ({"summary": "x" * 4001}, "summary"),
        ({"version": 0}, "version"),
    ]:
        error = await refused(qa, "PATCH", url, 400, json=body)
        assert error["details"].get("field") == field, error
    for scores in ({"c9": 1}, {"c2": 6}, {"c2": 2.5}, {"c1": 2}):
        error = await refused(qa, "PATCH", url, 409, json={"scores": scores})
        assert error["details"]["field"] == f"scores.{next(iter(scores))}"

    scored = await qa.rest("PATCH", url, json={"scores": {"c1": 1}, "version": 1})
    assert scored["score"] == 100.0 and scored["version"] == 2
    missing = await refused(qa, "PATCH", url, 409, json={"state": "done"})
    assert missing["details"] == {"missing": ["Solved the problem"]}
    # Greeting yes (1 of weight 1) and 3 of 1-5 (0.5 of weight 3): 2.5 / 4 = 62.5;
    # the optional callback criterion is left unscored and does not count
    done = await qa.rest(
        "PATCH",
        url,
        json={"scores": {"c2": 3}, "summary": "Polite, slow on the refund", "state": "done"},
    )
    assert (
        done["state"] == "done"
        and done["score"] == 62.5
        and done["done_by_name"] == "Quinn Reviewer"
    )
    assert done["scores"] == {"c1": 1, "c2": 3}
    stale = await refused(qa, "PATCH", url, 409, json={"summary": "late", "version": 2})
    assert stale["details"] == {"version": 3}

    # the score is on the call and on the ticket, for QA, admins and the call's agent
    for reader in (qa, admin, agent):
        call = await reader.rest("GET", f"/api/calls/{call_id}")
        assert call["review"] == {"id": review["id"], "state": "done", "score": 62.5}
        ticket = await reader.rest("GET", f"/api/tickets/{ticket_id}")
        assert ticket["qa_score"] == 62.5
        assert [r["id"] for r in ticket["qa_reviews"]] == [review["id"]]
    mine = await agent.rest("GET", f"/api/calls/{call_id}/review")
    assert mine["review"]["summary"] == "Polite, slow on the refund"
    assert (await agent.rest("GET", "/api/reviews"))["total"] == 1
    async with world.server.runtime.db.read() as conn:
        assert await review_scores(conn, [call_id, 999]) == {
            call_id: {"score": 62.5, "reviewed": True},
            999: {"score": None, "reviewed": False},
        }

    # the agent reads, never writes; the history is for reviewers
    await refused(agent, "PATCH", url, 403, json={"summary": "I disagree"})
    await refused(agent, "POST", f"/api/calls/{call_id}/review", 403, json={})
    await refused(agent, "GET", f"{url}/history", 403)

    # reopened, it is a draft again: the agent no longer sees it, the call has no score
    reopened = await admin.rest("PATCH", url, json={"state": "draft"})
    assert reopened["done_at"] is None and reopened["score"] == 62.5
    assert (await agent.rest("GET", f"/api/calls/{call_id}/review"))["review"] is None
    assert (await agent.rest("GET", f"/api/calls/{call_id}"))["review"] is None
    agent_ticket = await agent.rest("GET", f"/api/tickets/{ticket_id}")
    assert agent_ticket["qa_score"] is None and agent_ticket["qa_reviews"] == []
    await refused(agent, "GET", url, 404)
    assert (await agent.rest("GET", "/api/reviews"))["total"] == 0
    assert (await qa.rest("GET", f"/api/tickets/{ticket_id}"))["qa_score"] is None
    async with world.server.runtime.db.read() as conn:
        assert (await review_scores(conn, [call_id]))[call_id] == {"score": None, "reviewed": False}

    history = (await qa.rest("GET", f"{url}/history"))["items"]
    assert [e["action"] for e in history] == ["created", "updated", "done", "reopened"]
    assert [e["actor_name"] for e in history] == ["Quinn Reviewer"] * 3 + ["Ada Admin"]
    assert history[1]["changes"] == [
        {"field": "scores.c1", "old": None, "new": 1},
        {"field": "score", "old": None, "new": 100.0},
    ]
    assert {"field": "state", "old": "draft", "new": "done"} in history[2]["changes"]
    assert {"field": "scores.c2", "old": None, "new": 3} in history[2]["changes"]
    listed = await qa.rest("GET", f"/api/reviews?state=draft&ticket_id={ticket_id}")
    assert [r["id"] for r in listed["items"]] == [review["id"]]
    assert (await qa.rest("GET", "/api/reviews?state=done"))["total"] == 0


async def test_nobody_else_sees_or_changes_a_review(world: QaWorld) -> None:
    await default_rubric(world.admin)
    call_id = world.call_id
    review = await world.qa.rest("POST", f"/api/calls/{call_id}/review", json={})
    await world.qa.rest(
        "PATCH",
        f"/api/reviews/{review['id']}",
        json={"scores": {"c1": 1, "c2": 5}, "state": "done"},
    )
    url = f"/api/reviews/{review['id']}"
    comment = await world.qa.rest(
        "POST", f"{url}/comments", json={"at_ms": 5, "text": "ok"}, expect=201
    )
    # another agent of the organisation, another organisation's admin: as if nothing existed
    for outsider in (world.agent2, world.other_admin):
        await refused(outsider, "GET", f"/api/calls/{call_id}/review", 404)
        await refused(outsider, "GET", url, 404)
        assert (await outsider.rest("GET", "/api/reviews"))["total"] == 0
    for path in (url, f"{url}/history"):
        await refused(world.other_admin, "GET", path, 404)
    await refused(world.other_admin, "PATCH", url, 404, json={"summary": "x"})
    await refused(world.other_admin, "POST", f"/api/calls/{call_id}/review", 404, json={})
    await refused(world.other_admin, "POST", f"{url}/comments", 404, json={"at_ms": 1, "text": "x"})
    await refused(world.other_admin, "DELETE", f"{url}/comments/{comment['id']}", 404)
    # the customer's guest token: never a review, whatever the route
    guest = world.customer
    for method, path in [
        ("GET", f"/api/calls/{call_id}/review"),
        ("GET", url),
        ("GET", "/api/reviews"),
        ("GET", f"{url}/history"),
        ("GET", "/api/rubrics"),
    ]:
        await refused(guest, method, path, 403)
    assert world.customer.token and "review" not in str(
        await guest.rest("GET", f"/api/chats/{world.chat['id']}")
    )


async def test_comments_are_pinned_to_media_time_and_kept_in_the_history(
    world: QaWorld,
) -> None:
    qa, qa2, admin = world.qa, world.qa2, world.admin
    await default_rubric(admin)
    review = await qa.rest("POST", f"/api/calls/{world.call_id}/review", json={})
    url = f"/api/reviews/{review['id']}/comments"
    late = await qa.rest(
        "POST", url, json={"at_ms": 42_000, "text": "Refund explained"}, expect=201
    )
    early = await qa2.rest("POST", url, json={"at_ms": 3_500, "text": " Greeting ok "}, expect=201)
    assert early["text"] == "Greeting ok" and early["author_name"] == "Second Reviewer"
    for body, field in [
        ({"at_ms": -1, "text": "x"}, "at_ms"),
        ({"at_ms": 86_400_001, "text": "x"}, "at_ms"),
        ({"at_ms": 1, "text": "  "}, "text"),
        ({"at_ms": 1}, "text"),
        ({"at_ms": 1.5, "text": "x"}, "at_ms"),
    ]:
        error = await refused(qa, "POST", url, 400, json=body)
        assert error["details"]["field"] == field

    # media-time order in the review, whoever wrote them
    whole = await qa.rest("GET", f"/api/reviews/{review['id']}")
    assert [c["at_ms"] for c in whole["comments"]] == [3_500, 42_000]

    # its author or an admin changes a comment; another reviewer may not
    await refused(qa, "PATCH", f"{url}/{early['id']}", 403, json={"text": "mine now"})
    moved = await qa.rest("PATCH", f"{url}/{late['id']}", json={"at_ms": 41_000})
    assert moved["at_ms"] == 41_000 and moved["text"] == "Refund explained"
    await admin.rest("PATCH", f"{url}/{early['id']}", json={"text": "Greeting fine"})
    await refused(qa2, "DELETE", f"{url}/{late['id']}", 403)
    assert await qa.rest("DELETE", f"{url}/{late['id']}") == {"deleted": True}
    assert await qa.rest("DELETE", f"{url}/{late['id']}") == {"deleted": True}  # a repeat is fine
    await refused(qa, "PATCH", f"{url}/{late['id']}", 404, json={"text": "back"})
    await refused(qa, "PATCH", f"{url}/999999", 404, json={"text": "none"})
    whole = await qa.rest("GET", f"/api/reviews/{review['id']}")
    assert [(c["at_ms"], c["text"]) for c in whole["comments"]] == [(3_500, "Greeting fine")]

    history = (await qa.rest("GET", f"/api/reviews/{review['id']}/history"))["items"]
    assert [(e["action"], e["actor_name"]) for e in history] == [
        ("created", "Quinn Reviewer"),
        ("comment_added", "Quinn Reviewer"),
        ("comment_added", "Second Reviewer"),
        ("comment_edited", "Quinn Reviewer"),
        ("comment_edited", "Ada Admin"),
        ("comment_deleted", "Quinn Reviewer"),
    ]
    assert history[3]["changes"] == [
        {"field": f"comments.{late['id']}.at_ms", "old": 42_000, "new": 41_000}
    ]
    assert history[5]["changes"] == [
        {"field": f"comments.{late['id']}.at_ms", "old": 41_000, "new": None},
        {"field": f"comments.{late['id']}.text", "old": "Refund explained", "new": None},
    ]


async def test_a_review_needs_an_ended_call_and_a_rubric(world: QaWorld) -> None:
    qa = world.qa
    chat = world.chat

    def ringing(conn: Any) -> int:
        row = create_call_sync(
            conn,
            org_id=1,
            chat_id=chat["id"],
            ticket_id=chat["ticket_id"],
            customer_id=chat["customer_id"],
            agent_id=chat["assignee_id"],
            media=CallMedia.AUDIO,
            started_by=CallParty.AGENT,
        )
        return int(row["id"])

    no_rubric = await refused(qa, "POST", f"/api/calls/{world.call_id}/review", 409, json={})
    assert "rubric" in no_rubric["message"]
    rubric = await default_rubric(world.admin)
    live_call = await world.server.runtime.db.write_in_thread(ringing)
    await refused(qa, "POST", f"/api/calls/{live_call}/review", 409, json={})
    await refused(qa, "POST", "/api/calls/999999/review", 404, json={})
    await refused(qa, "POST", f"/api/calls/{world.call_id}/review", 404, json={"rubric_id": 999999})
    await world.admin.rest("PATCH", f"/api/rubrics/{rubric['id']}", json={"archived": True})
    await refused(
        qa, "POST", f"/api/calls/{world.call_id}/review", 409, json={"rubric_id": rubric["id"]}
    )

    # two reviewers opening the same call at once get the one review
    await world.admin.rest("PATCH", f"/api/rubrics/{rubric['id']}", json={"archived": False})
    opened = await asyncio.gather(
        qa.rest("POST", f"/api/calls/{world.call_id}/review", json={}),
        world.qa2.rest("POST", f"/api/calls/{world.call_id}/review", json={}),
    )
    assert opened[0]["id"] == opened[1]["id"]


async def test_recordings_list_shows_and_filters_by_the_review(world: QaWorld) -> None:
    qa = world.qa
    await default_rubric(world.admin)
    recording_id, _ = await ready_recording_of(world.server, world.call_id)

    async def listed(query: str) -> list[int]:
        answer = await qa.rest("GET", f"/api/recordings?{query}")
        return [item["id"] for item in answer["items"]]

    assert await listed("reviewed=false") == [recording_id]
    assert await listed("reviewed=true") == []
    review = await qa.rest("POST", f"/api/calls/{world.call_id}/review", json={})
    url = f"/api/reviews/{review['id']}"
    await qa.rest("PATCH", url, json={"scores": {"c1": 1, "c2": 3}})
    assert await listed("reviewed=true") == [], "a draft does not count"
    assert await listed("min_score=0") == []
    await qa.rest("PATCH", url, json={"state": "done"})
    for query in ("reviewed=true", "min_score=62.5", "max_score=62.5", "min_score=60&max_score=70"):
        assert await listed(query) == [recording_id], query
    for query in ("reviewed=false", "min_score=62.6", "max_score=62", "min_score=0&reviewed=false"):
        assert await listed(query) == [], query
    item = (await qa.rest("GET", "/api/recordings"))["items"][0]
    assert (item["score"], item["reviewed"]) == (62.5, True)
    detail = await qa.rest("GET", f"/api/recordings/{recording_id}")
    assert (detail["score"], detail["reviewed"]) == (62.5, True)
    for query, field in [
        ("min_score=101", "min_score"),
        ("max_score=x", "max_score"),
        ("min_score=nan", "min_score"),
        ("reviewed=yes", "reviewed"),
    ]:
        error = await refused(qa, "GET", f"/api/recordings?{query}", 400)
        assert error["details"]["field"] == field
