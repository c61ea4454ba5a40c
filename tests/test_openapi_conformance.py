"""schemathesis against the real server: every operation of /api/openapi.json, for every
role, with generated valid and invalid input, answers only documented status codes with
bodies that validate against the declared schemas, never a 5xx; input the document calls
valid is never refused as malformed (400), input it calls invalid always is.

Bounded and deterministic: a fixed seed and a fixed number of examples per operation, role
and mode; shrinking is off (a failure is reported as found, with a curl line to replay it)."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks as openapi_checks
from sqlalchemy import update

from loadtest.clients import Customer, Staff
from signaling.db.schema import users
from tests.conftest import Server, start_server
from tests.qa_world import default_rubric, signed_in
from tests.records import ended_call_in

SEED = 20261130
# Examples per operation, role and mode; FUZZ_EXAMPLES=40,25 for a deeper run by hand.
_POSITIVE, _NEGATIVE = (int(n) for n in os.environ.get("FUZZ_EXAMPLES", "4,3").split(","))
EXAMPLES = {GenerationMode.POSITIVE: _POSITIVE, GenerationMode.NEGATIVE: _NEGATIVE}
CHECKS = [
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    # and the request side: what the document calls valid is not refused as malformed, and
    # what it calls invalid is refused (the document and the validators agree)
    openapi_checks.positive_data_acceptance,
    openapi_checks.negative_data_rejection,
]
# Operations that may end a role's token (logout) or its user (deactivation, a new role).
RENEW_AFTER = {"POST /api/auth/logout", "PATCH /api/users/{user_id}"}
STAFF_LOGINS = {"agent": "agent1@demo.local", "qa": "qa@demo.local", "admin": "admin@demo.local"}
# Generous limits: the point is to reach the handlers, not to measure the limiter (which
# still answers the documented 429 when hit).
LIMITS = {
    "logins_per_minute_per_ip": 100_000,
    "login_unknown_failures_per_hour": 100_000,
    "ip_guest_sessions_per_second": 1000.0,
    "ip_guest_session_burst": 100_000,
}


class Roles:
    """A bearer token per role (None: no token), renewed when a generated request revoked
    or deactivated one, so every operation is tried with a live token of each role."""

    def __init__(self, server: Server, run: Callable[[Coroutine[Any, Any, Any]], Any]) -> None:
        self.server = server
        self.run = run
        self.tokens: dict[str, str | None] = {}

    async def _sign_in_all(self) -> None:
        async with self.server.runtime.db.write() as conn:  # undo deactivations and demotions
            for role, email in STAFF_LOGINS.items():
                await conn.execute(
                    update(users).where(users.c.email == email).values(active=True, role=role)
                )
        for role, email in STAFF_LOGINS.items():
            staff = Staff(self.server.url)
            await staff.sign_in(email, self.server.passwords[email])
            self.tokens[role] = staff.token
            await staff.close()
        customer = Customer(self.server.url)
        await customer.open_chat(name="Fuzz")
        self.tokens["customer"] = customer.token
        await customer.close()
        self.tokens["anonymous"] = None

    def renew(self) -> None:
        self.run(self._sign_in_all())


async def _seed_records(server: Server) -> None:
    """Records for generated ids to land on: chats (one active, one ended and rated), their
    tickets, an attachment, calls, a rubric, a review with a comment."""
    agent = await server.staff("agent1@demo.local")
    qa = Staff(server.url)
    try:
        for topic in ("billing", "technical"):
            customer = await server.customer(name=f"Seed {topic}", topic=topic)
            await customer.say("hello")
            chat = (await agent.next("chat.assigned"))["chat"]
            await agent.say(chat["id"], "hi there")
            call_id = await ended_call_in(server, chat)
            await customer.close()
        await agent.request("chat.close", {"chat_id": chat["id"]})
        await qa.sign_in("qa@demo.local", server.passwords["qa@demo.local"])
        await seed_review(server, qa, call_id)
    finally:
        await agent.close()
        await qa.close()


async def seed_review(server: Server, qa: Staff, call_id: int) -> None:
    """The organisation's default rubric, and a review of `call_id` with a comment."""
    admin = await signed_in(server, "admin@demo.local")
    await default_rubric(admin)
    await admin.close()
    review = await qa.rest("POST", f"/api/calls/{call_id}/review", json={})
    comment = {"at_ms": 1500, "text": "seed"}
    await qa.rest("POST", f"/api/reviews/{review['id']}/comments", json=comment, expect=201)


class Fuzzer:
    """Runs in a worker thread (requests is blocking); the server keeps serving on the loop."""

    def __init__(self, base_url: str, roles: Roles) -> None:
        self.base_url = base_url
        self.roles = roles
        self.http = requests.Session()
        self.tally: Counter[str] = Counter()
        self.failures: list[str] = []

    def run(self, schema: Any) -> None:
        self.roles.renew()
        for result in schema.get_all_operations():
            operation = result.ok()
            for role in ("anonymous", "customer", "agent", "qa", "admin"):
                for mode, examples in EXAMPLES.items():
                    try:
                        self.test(operation, role, mode, examples)()
                    except Unsatisfiable:
                        self.tally["no negative input"] += 1  # nothing to make invalid
        self.http.close()

    def test(self, operation: Any, role: str, mode: GenerationMode, examples: int) -> Any:
        @seed(SEED)
        @settings(
            max_examples=examples,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def one(case: Case) -> None:
            token = self.roles.tokens[role]
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            self.tally["requests"] += 1
            response = case.call(base_url=self.base_url, session=self.http, headers=headers)
            self.tally[f"{response.status_code // 100}xx"] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except (AssertionError, BaseExceptionGroup) as failure:  # FailureGroup is a group
                self.failures.append(f"{operation.label} as {role} ({mode}): {failure}")
            if operation.label in RENEW_AFTER and response.status_code < 300:
                self.roles.renew()  # the token may be revoked, its user deactivated

        return one


async def test_every_operation_answers_as_documented_for_every_role(tmp_path: Path) -> None:
    server, runner = await start_server(tmp_path / "d", limits=LIMITS)
    loop = asyncio.get_running_loop()
    try:
        await _seed_records(server)
        async with (
            aiohttp.ClientSession() as http,
            http.get(server.url + "/api/openapi.json") as resp,
        ):
            doc = await resp.json()
        schema = schemathesis.openapi.from_dict(doc)
        roles = Roles(server, lambda work: asyncio.run_coroutine_threadsafe(work, loop).result())
        fuzzer = Fuzzer(server.url, roles)
        began = time.monotonic()
        await asyncio.to_thread(fuzzer.run, schema)
        elapsed = time.monotonic() - began
        print(f"schemathesis: {dict(fuzzer.tally)} in {elapsed:.1f} s")
        assert fuzzer.failures == [], "\n\n".join(fuzzer.failures[:20])
        assert fuzzer.tally["requests"] >= 500
    finally:
        await runner.cleanup()
