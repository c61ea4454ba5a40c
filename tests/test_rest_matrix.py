"""Roles x REST routes: every route of the route table, called by every kind of caller with
real ids of existing records, answers 2xx to exactly the callers the table below allows —
and a list or panel shows the target record to exactly those it names in `sees`.

The table is keyed by the route table itself (signaling.http.api.api.endpoints): a new route
without an entry here fails the test, so no route can skip the matrix."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import jwt

from loadtest.clients import Customer, Staff
from signaling.db.schema import utcnow
from signaling.http.api import api
from signaling.store import orgs as org_store
from signaling.store import users as user_store
from signaling.store import webhooks as webhook_store
from signaling.types import OrgId, Role, UserId
from tests.conftest import Server, start_server
from tests.media_samples import png
from tests.records import ended_call_in, ready_recording_of

ROLES = (
    "customer",  # the guest of the target chat
    "agent",  # agent1: the target chat is assigned to them
    "agent2",  # another agent of the organisation, not in the chat's group
    "qa",
    "admin",
    "other_admin",  # an admin of another organisation
    "revoked",  # agent1's token after logout
    "forged",  # an admin token signed with a key that is not the server's
    "expired",  # a real agent1 token past its expiry
    "none",  # no token at all
)
EVERYONE = frozenset(ROLES)
STAFF = frozenset({"agent", "agent2", "qa", "admin", "other_admin"})
OWN_ORG_READERS = frozenset({"agent", "qa", "admin"})  # who may see agent1's chat, ticket, call
REVIEWERS = frozenset({"qa", "admin"})  # who may score and comment on agent1's call
_emails = itertools.count(1)
# Webhooks to a loopback port nothing listens on: a redelivery fails at once, quietly.
WEBHOOKS = {"allowed_hosts": ["127.0.0.1"], "allow_loopback": True}
WEBHOOK_URL = "http://127.0.0.1:9/matrix"
# The dashboard's period: from yesterday, two days (the target chat starts during the test).
KPI_PERIOD = f"?start={utcnow() - timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}&days=2"


@dataclass(frozen=True)
class Expect:
    """Who may get a 2xx from a route, and what to send it."""

    allowed: frozenset[str]
    body: Callable[[], Any] | None = None  # JSON body, or FormData for uploads
    query: str = ""
    sees: frozenset[str] | None = None  # roles whose 2xx answer includes the target record
    shows: Callable[[Any, Ids], bool] | None = None  # does this answer include it?
    fresh_token: bool = False  # the call ends the token (logout): use a new one per role


@dataclass
class Ids:
    chat: int = 0
    ticket: int = 0
    call: int = 0
    customer: int = 0
    attachment: int = 0
    user: int = 0
    group: int = 0
    recording: int = 0
    file_of_recording: ClassVar[int] = 0
    """The recording's file (class-wide: a request body is built without the instance)."""
    rubric: int = 0
    review: int = 0
    comment: int = 0
    webhook: int = 0
    delivery: int = 0  # a dead delivery of the webhook
    article: int = 0  # a published knowledge-base article
    macro: int = 0
    chat_for_macros: ClassVar[int] = 0
    """The target chat, for a request body (built without the instance)."""


def _ids_of(items: list[dict[str, Any]]) -> set[int]:
    return {int(item["id"]) for item in items}


def _upload() -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("file", png(), filename="matrix.png", content_type="image/png")
    return form


def _new_user() -> dict[str, Any]:
    return {
        "email": f"matrix{next(_emails)}@demo.local",
        "name": "Matrix",
        "role": "agent",
        "password": "matrix-password-1",
    }


EXPECTED: dict[tuple[str, str], Expect] = {
    ("POST", "/api/auth/login"): Expect(EVERYONE, body=lambda: {}),  # credentials filled in
    ("POST", "/api/auth/refresh"): Expect(STAFF),
    ("POST", "/api/auth/logout"): Expect(STAFF, fresh_token=True),
    ("GET", "/api/me"): Expect(STAFF),
    ("GET", "/api/widget/config"): Expect(EVERYONE, query="?org=demo"),
    ("POST", "/api/widget/session"): Expect(EVERYONE, body=lambda: {"org": "demo"}),
    ("POST", "/api/widget/refresh"): Expect(frozenset({"customer"})),
    ("GET", "/api/chats"): Expect(
        STAFF, sees=OWN_ORG_READERS, shows=lambda a, ids: ids.chat in _ids_of(a["items"])
    ),
    ("GET", "/api/chats/{chat_id}"): Expect(OWN_ORG_READERS | {"customer"}),
    ("GET", "/api/chats/{chat_id}/messages"): Expect(OWN_ORG_READERS | {"customer"}),
    ("POST", "/api/chats/{chat_id}/attachments"): Expect(
        frozenset({"customer", "agent"}), body=_upload
    ),
    ("GET", "/api/attachments/{attachment_id}"): Expect(OWN_ORG_READERS | {"customer"}),
    ("GET", "/api/tickets"): Expect(
        STAFF, sees=OWN_ORG_READERS, shows=lambda a, ids: ids.ticket in _ids_of(a["items"])
    ),
    ("GET", "/api/tickets/{ticket_id}"): Expect(OWN_ORG_READERS),
    ("PATCH", "/api/tickets/{ticket_id}"): Expect(
        frozenset({"agent", "admin"}), body=lambda: {"tags": ["matrix"]}
    ),
    ("GET", "/api/customers"): Expect(
        STAFF,
        sees=STAFF - {"other_admin"},
        shows=lambda a, ids: ids.customer in _ids_of(a["items"]),
    ),
    ("GET", "/api/customers/{customer_id}"): Expect(STAFF - {"other_admin"}),
    ("PATCH", "/api/customers/{customer_id}"): Expect(
        frozenset({"agent", "agent2", "admin"}), body=lambda: {"vip": True}
    ),
    ("GET", "/api/customers/{customer_id}/context"): Expect(
        STAFF - {"other_admin"},
        sees=OWN_ORG_READERS,
        shows=lambda a, ids: (
            ids.chat in _ids_of(a["history"]["chats"])
            or ids.ticket in _ids_of(a["history"]["tickets"])
            or ids.call in _ids_of(a["history"]["calls"])
        ),
    ),
    ("GET", "/api/directory"): Expect(STAFF),
    ("GET", "/api/users"): Expect(
        frozenset({"admin", "other_admin"}),
        sees=frozenset({"admin"}),
        shows=lambda a, ids: ids.user in _ids_of(a["items"]),
    ),
    ("POST", "/api/users"): Expect(frozenset({"admin", "other_admin"}), body=_new_user),
    ("PATCH", "/api/users/{user_id}"): Expect(
        frozenset({"admin"}), body=lambda: {"name": "Renamed by the matrix"}
    ),
    ("GET", "/api/groups"): Expect(
        STAFF,
        sees=STAFF - {"other_admin"},
        shows=lambda a, ids: ids.group in _ids_of(a["items"]),
    ),
    ("GET", "/api/audit"): Expect(frozenset({"admin", "other_admin"})),
    ("GET", "/api/kpis/live"): Expect(
        frozenset({"admin", "other_admin"}),
        sees=frozenset({"admin"}),
        shows=lambda a, ids: "Alex Agent" in [agent["name"] for agent in a["agents"]],
    ),
    ("GET", "/api/kpis/period"): Expect(
        frozenset({"admin", "other_admin"}),
        query=KPI_PERIOD,
        sees=frozenset({"admin"}),
        shows=lambda a, ids: a["totals"]["chats"] > 0,
    ),
    ("GET", "/api/kpis/period.csv"): Expect(frozenset({"admin", "other_admin"}), query=KPI_PERIOD),
    ("GET", "/api/calls"): Expect(
        STAFF, sees=OWN_ORG_READERS, shows=lambda a, ids: ids.call in _ids_of(a["items"])
    ),
    ("GET", "/api/calls/{call_id}"): Expect(OWN_ORG_READERS),
    ("GET", "/api/recordings"): Expect(
        STAFF, sees=OWN_ORG_READERS, shows=lambda a, ids: ids.recording in _ids_of(a["items"])
    ),
    ("GET", "/api/recordings/{recording_id}"): Expect(OWN_ORG_READERS),
    ("GET", "/api/recordings/{recording_id}/timeline"): Expect(OWN_ORG_READERS),
    ("POST", "/api/recordings/{recording_id}/links"): Expect(
        OWN_ORG_READERS, body=lambda: {"file_id": Ids.file_of_recording}
    ),
    ("POST", "/api/recordings/{recording_id}/composite"): Expect(frozenset({"qa", "admin"})),
    ("GET", "/api/recording-policy"): Expect(STAFF),
    ("PATCH", "/api/recording-policy"): Expect(
        frozenset({"admin", "other_admin"}), body=lambda: {"recording_policy": "always"}
    ),
    # The link in the path is the credential; a bearer token alone opens nothing.
    ("GET", "/media/{token}"): Expect(frozenset()),
    ("GET", "/api/rubrics"): Expect(
        frozenset({"qa", "admin", "other_admin"}),
        sees=frozenset({"qa", "admin"}),
        shows=lambda a, ids: ids.rubric in _ids_of(a["items"]),
    ),
    ("GET", "/api/rubrics/{rubric_id}"): Expect(frozenset({"qa", "admin"})),
    # the target is a group's rubric: each organisation's default is still free
    ("POST", "/api/rubrics"): Expect(
        frozenset({"admin", "other_admin"}),
        body=lambda: {"name": "Matrix default", "criteria": [{"title": "Matrix"}]},
    ),
    ("PATCH", "/api/rubrics/{rubric_id}"): Expect(
        frozenset({"admin"}), body=lambda: {"name": "Renamed by the matrix"}
    ),
    # the target review is done, so the call's agent reads it too
    ("GET", "/api/calls/{call_id}/review"): Expect(
        OWN_ORG_READERS,
        sees=OWN_ORG_READERS,
        shows=lambda a, ids: (a["review"] or {}).get("id") == ids.review,
    ),
    ("POST", "/api/calls/{call_id}/review"): Expect(REVIEWERS, body=lambda: {}),
    ("GET", "/api/reviews"): Expect(
        STAFF, sees=OWN_ORG_READERS, shows=lambda a, ids: ids.review in _ids_of(a["items"])
    ),
    ("GET", "/api/reviews/{review_id}"): Expect(OWN_ORG_READERS),
    ("PATCH", "/api/reviews/{review_id}"): Expect(REVIEWERS, body=lambda: {"summary": "matrix"}),
    ("GET", "/api/reviews/{review_id}/history"): Expect(REVIEWERS),
    ("POST", "/api/reviews/{review_id}/comments"): Expect(
        REVIEWERS, body=lambda: {"at_ms": 1000, "text": "matrix"}
    ),
    # the target comment is the QA reviewer's own (its author or an admin may change it)
    ("PATCH", "/api/reviews/{review_id}/comments/{comment_id}"): Expect(
        REVIEWERS, body=lambda: {"text": "matrix edit"}
    ),
    ("DELETE", "/api/reviews/{review_id}/comments/{comment_id}"): Expect(REVIEWERS),
    ("GET", "/api/webhooks"): Expect(
        frozenset({"admin", "other_admin"}),
        sees=frozenset({"admin"}),
        shows=lambda a, ids: ids.webhook in _ids_of(a["items"]),
    ),
    ("POST", "/api/webhooks"): Expect(
        frozenset({"admin", "other_admin"}),
        body=lambda: {"url": WEBHOOK_URL, "event_types": ["review.done"]},
    ),
    ("GET", "/api/webhooks/{endpoint_id}"): Expect(frozenset({"admin"})),
    ("PATCH", "/api/webhooks/{endpoint_id}"): Expect(
        frozenset({"admin"}), body=lambda: {"description": "matrix"}
    ),
    ("DELETE", "/api/webhooks/{endpoint_id}"): Expect(frozenset({"admin"})),
    ("GET", "/api/webhooks/deliveries"): Expect(
        frozenset({"admin", "other_admin"}),
        sees=frozenset({"admin"}),
        shows=lambda a, ids: ids.delivery in _ids_of(a["items"]),
    ),
    ("POST", "/api/webhooks/deliveries/{delivery_id}/redeliver"): Expect(
        frozenset({"admin"}), body=lambda: {}
    ),
    ("GET", "/api/kb/articles"): Expect(
        STAFF,
        sees=frozenset({"agent", "agent2", "qa", "admin"}),
        shows=lambda a, ids: ids.article in _ids_of(a["items"]),
    ),
    ("POST", "/api/kb/articles"): Expect(
        frozenset({"admin", "other_admin"}),
        body=lambda: {"title": "Matrix", "body": "matrix", "language": "en"},
    ),
    ("GET", "/api/kb/articles/{article_id}"): Expect(
        frozenset({"customer", "agent", "agent2", "qa", "admin"})
    ),
    ("PATCH", "/api/kb/articles/{article_id}"): Expect(
        frozenset({"admin"}), body=lambda: {"tags": ["matrix"]}
    ),
    ("DELETE", "/api/kb/articles/{article_id}"): Expect(frozenset({"admin"})),
    ("GET", "/api/kb/search"): Expect(
        STAFF | {"customer"},
        query="?q=matrix+password",
        sees=frozenset({"customer", "agent", "agent2", "qa", "admin"}),
        shows=lambda a, ids: ids.article in _ids_of(a["items"]),
    ),
    ("GET", "/api/widget/kb/search"): Expect(
        EVERYONE,
        query="?org=demo&q=matrix+password",
        sees=EVERYONE,
        shows=lambda a, ids: ids.article in _ids_of(a["items"]),
    ),
    ("GET", "/api/widget/kb/articles/{article_id}"): Expect(EVERYONE, query="?org=demo"),
    ("GET", "/api/kb/macros"): Expect(
        frozenset({"agent", "agent2", "admin", "other_admin"}),
        sees=frozenset({"agent", "agent2", "admin"}),
        shows=lambda a, ids: ids.macro in _ids_of(a["items"]),
    ),
    ("POST", "/api/kb/macros"): Expect(
        frozenset({"admin", "other_admin"}), body=lambda: {"title": "Matrix", "body": "hi"}
    ),
    ("PATCH", "/api/kb/macros/{macro_id}"): Expect(
        frozenset({"admin"}), body=lambda: {"title": "Matrix 2"}
    ),
    ("DELETE", "/api/kb/macros/{macro_id}"): Expect(frozenset({"admin"})),
    ("POST", "/api/kb/macros/{macro_id}/fill"): Expect(
        frozenset({"agent"}), body=lambda: {"chat_id": Ids.chat_for_macros}
    ),
    ("GET", "/api/kb/bot"): Expect(frozenset({"admin", "other_admin"})),
    ("PATCH", "/api/kb/bot"): Expect(
        frozenset({"admin", "other_admin"}), body=lambda: {"enabled": False}
    ),
    ("GET", "/healthz"): Expect(EVERYONE),
    # Served to loopback clients whoever they are (this test's are); a token is for others.
    ("GET", "/metrics"): Expect(EVERYONE),
    ("GET", "/api/openapi.json"): Expect(EVERYONE),
}


class Callers:
    """A bearer token per role, made the way each kind of caller really gets one."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.tokens: dict[str, str | None] = {"none": None}
        self.user_ids: dict[str, int] = {}

    async def staff_token(self, email: str, password: str) -> tuple[str, int]:
        member = Staff(self.server.url)
        await member.sign_in(email, password)
        await member.close()
        assert member.token is not None
        return member.token, int(member.user["id"])

    async def build(self, customer: Customer) -> None:
        srv = self.server
        self.tokens["customer"] = customer.token
        for role, email in (
            ("agent", "agent1@demo.local"),
            ("agent2", "agent2@demo.local"),
            ("qa", "qa@demo.local"),
            ("admin", "admin@demo.local"),
        ):
            self.tokens[role], self.user_ids[role] = await self.staff_token(
                email, srv.passwords[email]
            )
        async with srv.runtime.db.write() as conn:
            other = await org_store.create_org(conn, slug="other", name="Other Org")
            await user_store.create_user(
                conn,
                org_id=other["id"],
                email="boss@other.example",
                name="Other Boss",
                role=Role.ADMIN,
                password_hash=await srv.runtime.passwords.hash("other-password-1"),
            )
        self.tokens["other_admin"], self.user_ids["other_admin"] = await self.staff_token(
            "boss@other.example", "other-password-1"
        )
        revoked, _ = await self.staff_token("agent1@demo.local", srv.passwords["agent1@demo.local"])
        async with aiohttp.ClientSession() as http:
            headers = {"Authorization": f"Bearer {revoked}"}
            async with http.post(srv.url + "/api/auth/logout", headers=headers) as resp:
                assert resp.status == 200
        self.tokens["revoked"] = revoked
        self.tokens["forged"] = jwt.encode(
            {
                "sub": str(self.user_ids["admin"]),
                "role": "admin",
                "org": 1,
                "sid": "forged-session",
                "iss": "liveassist",
                "iat": int(time.time()),
                "exp": int(time.time()) + 600,
            },
            "a-key-that-is-not-the-server-secret-000000",
            algorithm="HS256",
        )
        live = srv.runtime.authenticator.signer.verify(self.tokens["agent"])
        self.tokens["expired"], _ = srv.runtime.signer.issue_staff(
            user_id=UserId(self.user_ids["agent"]),
            org_id=OrgId(1),
            role=Role.AGENT,
            session_id=live.session_id or "",
            ttl=-5,
        )

    async def fresh(self, role: str) -> str | None:
        """A new token for a staff role (its own sign-in session); others keep theirs."""
        if role not in STAFF:
            return self.tokens[role]
        email = {
            "agent": "agent1@demo.local",
            "agent2": "agent2@demo.local",
            "qa": "qa@demo.local",
            "admin": "admin@demo.local",
            "other_admin": "boss@other.example",
        }[role]
        password = self.server.passwords.get(email, "other-password-1")
        token, _ = await self.staff_token(email, password)
        return token


async def _target_records(server: Server) -> tuple[Ids, Customer, Staff]:
    """agent1's active billing chat with a message, an attachment, its ticket and a call."""
    agent = await server.staff("agent1@demo.local")
    customer = await server.customer(name="Matrix Customer", topic="billing")
    await customer.say("please help")
    chat = (await agent.next("chat.assigned"))["chat"]
    await agent.say(chat["id"], "on it")
    async with (
        aiohttp.ClientSession(headers=customer.headers()) as http,
        http.post(f"{server.url}/api/chats/{chat['id']}/attachments", data=_upload()) as resp,
    ):
        attachment = await resp.json()
    admin = Staff(server.url)
    await admin.sign_in("admin@demo.local", server.passwords["admin@demo.local"])
    spare = await admin.rest("POST", "/api/users", json=_new_user(), expect=201)
    groups = await admin.rest("GET", "/api/groups")
    call_id = await ended_call_in(server, chat)
    recording_id, Ids.file_of_recording = await ready_recording_of(server, call_id)
    ids = Ids(
        recording=recording_id,
        chat=chat["id"],
        ticket=chat["ticket_id"],
        call=call_id,
        customer=chat["customer_id"],
        attachment=attachment["id"],
        user=spare["id"],
        group=chat["group_id"] or groups["items"][0]["id"],
    )
    await _review_records(server, admin, ids)
    await _webhook_records(server, admin, ids)
    article = {"title": "Matrix password", "body": "matrix", "language": "en", "published": True}
    ids.article = (await admin.rest("POST", "/api/kb/articles", json=article, expect=201))["id"]
    macro = {"title": "Matrix", "body": "Hi {customer_name}"}
    ids.macro = (await admin.rest("POST", "/api/kb/macros", json=macro, expect=201))["id"]
    Ids.chat_for_macros = chat["id"]
    await admin.close()
    return ids, customer, agent


async def _webhook_records(server: Server, admin: Staff, ids: Ids) -> None:
    """A webhook endpoint (on a closed loopback port) and a dead delivery of it, written
    through the store as the sender leaves one."""
    body = {"url": WEBHOOK_URL, "event_types": ["review.done"]}
    ids.webhook = (await admin.rest("POST", "/api/webhooks", json=body, expect=201))["id"]
    now = utcnow()
    row = {
        "org_id": 1,
        "endpoint_id": ids.webhook,
        "event_id": "evt_matrix",
        "event_type": "review.done",
        "order_key": f"chat:{ids.chat}",
        "body": '{"version": 1}',
        "state": "dead",
        "attempts": 3,
        "next_attempt_at": now,
        "retry_since": now,
        "created_at": now,
    }

    def write(conn: Any) -> None:
        webhook_store.add_deliveries_sync(conn, [row])

    await server.runtime.db.write_in_thread(write)
    page = await admin.rest("GET", "/api/webhooks/deliveries?state=dead")
    ids.delivery = page["items"][0]["id"]


async def _review_records(server: Server, admin: Staff, ids: Ids) -> None:
    """The chat group's rubric, the call's review (done) and a QA reviewer's comment on it."""
    body = {"name": "Matrix rubric", "group_id": ids.group, "criteria": [{"title": "Matrix"}]}
    ids.rubric = (await admin.rest("POST", "/api/rubrics", json=body, expect=201))["id"]
    qa = Staff(server.url)
    await qa.sign_in("qa@demo.local", server.passwords["qa@demo.local"])
    review = await qa.rest("POST", f"/api/calls/{ids.call}/review", json={})
    ids.review = review["id"]
    await qa.rest(
        "PATCH", f"/api/reviews/{ids.review}", json={"scores": {"c1": 4}, "state": "done"}
    )
    comment = {"at_ms": 500, "text": "matrix comment"}
    url = f"/api/reviews/{ids.review}/comments"
    ids.comment = (await qa.rest("POST", url, json=comment, expect=201))["id"]
    await qa.close()


def _path(template: str, ids: Ids) -> str:
    return template.format(
        chat_id=ids.chat,
        ticket_id=ids.ticket,
        call_id=ids.call,
        customer_id=ids.customer,
        attachment_id=ids.attachment,
        user_id=ids.user,
        recording_id=ids.recording,
        token="not-a-media-link",
        rubric_id=ids.rubric,
        review_id=ids.review,
        comment_id=ids.comment,
        endpoint_id=ids.webhook,
        delivery_id=ids.delivery,
        article_id=ids.article,
        macro_id=ids.macro,
    )


def test_every_route_has_an_expectation() -> None:
    declared = {(ep.method, ep.path) for ep in api.endpoints}
    assert sorted(declared - set(EXPECTED)) == [], "routes missing from the matrix table"
    assert sorted(set(EXPECTED) - declared) == [], "matrix entries for routes that do not exist"


async def test_roles_by_routes_no_unauthorised_success(tmp_path: Path) -> None:
    # Sign-in limits are not what this test is about (each role signs in a few times).
    server, runner = await start_server(
        tmp_path / "d", limits={"logins_per_minute_per_ip": 1000}, webhooks=WEBHOOKS
    )
    callers = Callers(server)
    try:
        ids, customer, agent = await _target_records(server)
        await callers.build(customer)
        wrong: list[str] = []
        requests = 0
        began = time.monotonic()
        async with aiohttp.ClientSession() as http:
            for ep in api.endpoints:
                expect = EXPECTED[(ep.method, ep.path)]
                for role in ROLES:
                    token = (
                        await callers.fresh(role) if expect.fresh_token else callers.tokens[role]
                    )
                    headers = {"Authorization": f"Bearer {token}"} if token else {}
                    body = expect.body() if expect.body else None
                    if ep.path == "/api/auth/login":
                        body = {
                            "email": "agent2@demo.local",
                            "password": server.passwords["agent2@demo.local"],
                        }
                    kwargs: dict[str, Any] = (
                        {"data": body} if isinstance(body, aiohttp.FormData) else {"json": body}
                    )
                    url = server.url + _path(ep.path, ids) + expect.query
                    async with http.request(ep.method, url, headers=headers, **kwargs) as resp:
                        requests += 1
                        status = resp.status
                        answer = await resp.json() if "json" in resp.content_type else None
                    label = f"{ep.method} {ep.path} as {role}: {status}"
                    succeeded = 200 <= status < 300
                    if status >= 500 or succeeded != (role in expect.allowed):
                        wrong.append(f"{label} {answer}")
                    elif (
                        succeeded
                        and expect.sees is not None
                        and expect.shows is not None
                        and expect.shows(answer, ids) != (role in expect.sees)
                    ):
                        wrong.append(f"{label} shows the record: {role not in expect.sees}")
        elapsed = time.monotonic() - began
        print(
            f"matrix: {requests} requests, {len(ROLES)} roles x {len(EXPECTED)} routes, "
            f"{elapsed:.1f} s"
        )
        assert wrong == [], "\n".join(wrong)
        assert requests == len(ROLES) * len(api.endpoints)
    finally:
        await customer.close()
        await agent.close()
        await runner.cleanup()
