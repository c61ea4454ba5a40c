"""Every Socket.IO event of both namespaces, fuzzed from the protocol's own dataclasses
(hypothesis, derandomized so each run sends the same frames): each payload is answered
with an ack, `ok` or a documented error code, never `internal`, never a traceback, and
the server goes on serving a bystander's chat."""

from __future__ import annotations

import dataclasses
import json
import logging
import types
import typing
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadtest.clients import Customer
from signaling.realtime.namespace import LiveAssistNamespace, TypedHandler
from tests.conftest import start_server
from tests.raw_socketio import RawSocket

EXAMPLES_PER_EVENT = 30
DOCUMENTED = {
    "invalid_payload",
    "payload_too_large",
    "unknown_event",
    "not_found",
    "forbidden",
    "conflict",
    "bad_offer",
    "relay_unavailable",
    "relay_lost",
}
"""docs/protocol.md §3 and §8: what a refused event may answer."""

SURROGATES = st.characters(codec=None, categories=["Cs"])
TEXT = st.text(max_size=12) | st.text(SURROGATES, min_size=1, max_size=2) | st.just("x" * 5000)
FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, 0.5, 1.0, -1.0])
INTS = st.integers(-(2**64), 2**64) | st.integers(0, 3)
ANY_JSON = st.recursive(
    st.none() | st.booleans() | INTS | FLOATS | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def value_for(kind: Any) -> st.SearchStrategy[Any]:
    """Values of the declared type (and its edges), mixed with anything at all."""
    origin = typing.get_origin(kind)
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        return st.none() | value_for(args[0])
    if origin is list:
        return st.lists(value_for(args[0]), max_size=6) | ANY_JSON
    if origin is dict:
        return st.dictionaries(TEXT, ANY_JSON, max_size=4) | ANY_JSON
    if isinstance(kind, type) and issubclass(kind, Enum):
        return st.sampled_from([m.value for m in kind]) | TEXT
    typed: dict[Any, st.SearchStrategy[Any]] = {
        bool: st.booleans(),
        int: INTS,
        float: FLOATS | INTS,
        str: TEXT,
    }
    return typed.get(kind, ANY_JSON) | ANY_JSON


def payloads_for(payload: type[Any] | None) -> st.SearchStrategy[Any]:
    if payload is None:
        return ANY_JSON
    hints = typing.get_type_hints(payload)
    fields = {f.name: value_for(hints[f.name]) for f in dataclasses.fields(payload)}
    shaped = st.fixed_dictionaries({}, optional={**fields, "zz_extra": ANY_JSON})
    return shaped | ANY_JSON


def examples(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """`count` values, the same on every run (no shrinking needed: each is sent once)."""
    found: list[Any] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return found


def frame_body(event: str, payload: Any) -> str:
    """The event array as JSON text; NaN/Infinity and lone surrogates written as such."""
    return json.dumps([event, payload], allow_nan=True, ensure_ascii=True)


async def fuzz_namespace(
    namespace: LiveAssistNamespace, raw: RawSocket, codes: dict[str, int]
) -> int:
    sent = 0
    for event, handler in sorted(namespace.events.items()):
        payload_type = handler.payload if isinstance(handler, TypedHandler) else None
        for payload in examples(payloads_for(payload_type), EXAMPLES_PER_EVENT):
            sent += 1
            await raw.send(raw.event(sent, frame_body(event, payload)))
            ack = await raw.ack(sent, timeout=10)
            if ack["ok"]:
                codes["ok"] = codes.get("ok", 0) + 1
                continue
            code = ack["error"]["code"]
            assert code in DOCUMENTED, (event, payload, ack)
            codes[code] = codes.get(code, 0) + 1
    return sent


async def test_every_event_fuzzed_from_its_dataclass_gets_a_documented_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    unlimited = {
        "events_per_second": 100_000.0,
        "event_burst": 100_000,
        "ip_events_per_second": 100_000.0,
        "ip_event_burst": 100_000,
    }
    srv, runner = await start_server(tmp_path / "d", limits=unlimited)
    caplog.set_level(logging.WARNING)
    agent = await srv.staff("agent1@demo.local")
    bystander = await srv.customer(name="Bystander")
    fuzzed = Customer(srv.url)
    await fuzzed.open_chat(name="Fuzz")
    customer_raw = RawSocket(srv.url, "/customer")
    staff_raw = RawSocket(srv.url, "/agent")
    try:
        assert fuzzed.token and agent.token
        await customer_raw.connect(fuzzed.token)
        await staff_raw.connect(agent.token)
        codes: dict[str, int] = {}
        namespaces = srv.runtime.sio.namespace_handlers
        sent = await fuzz_namespace(namespaces["/customer"], customer_raw, codes)
        sent += await fuzz_namespace(namespaces["/agent"], staff_raw, codes)
        assert sent == sum(codes.values()) >= 500
        assert codes["invalid_payload"] > sent // 2  # most of it really is junk
        assert (await bystander.say("still served"))["text"] == "still served"
        tracebacks = [r for r in caplog.records if r.exc_info]
        assert tracebacks == [], [r.getMessage() for r in tracebacks]
        print(f"fuzzed {sent} events: {codes}")
    finally:
        for raw in (customer_raw, staff_raw):
            await raw.close()
        for person in (fuzzed, bystander):
            await person.close()
        await agent.close()
        await runner.cleanup()
