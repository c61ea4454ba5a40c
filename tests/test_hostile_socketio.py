"""Hostile Socket.IO frames, written by hand: reserved event names, undecodable frames, NaN,
lone surrogates. Each is refused with its documented code, logged as one short line at
most, and changes nothing for anyone (issue 8, defects 1, 6 and 7)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import aiohttp
import pytest

from loadtest.clients import Customer
from tests.conftest import Server, start_server
from tests.raw_socketio import RawSocket
from tests.test_calls import chat_pair, ring_and_accept


async def _raw_customer(server: Server, name: str = "Raw") -> tuple[RawSocket, Customer]:
    person = Customer(server.url)
    await person.open_chat(name=name)
    raw = RawSocket(server.url, "/customer")
    assert person.token is not None
    await raw.connect(person.token)
    return raw, person


async def test_reserved_event_names_never_reach_the_handlers(tmp_path: Path) -> None:
    """`connect` from the wire once ran the connect handler with a client-chosen environ
    (spending a victim address's rate limit); `disconnect` reset the sender's own limit."""
    srv, runner = await start_server(
        tmp_path / "d", limits={"events_per_second": 0.5, "event_burst": 6}
    )
    raw, person = await _raw_customer(srv)
    try:
        greetings = await raw.pushes("chat.updated", within=0.5)
        assert len(greetings) == 1  # the one greeting after the real connect
        token = json.dumps({"token": person.token})
        spoof = '["connect",{"REMOTE_ADDR":"127.0.0.3","aiohttp.request":null},' + token + "]"
        for ack_id, body in enumerate(
            [spoof, '["disconnect"]', '["connect_error",{}]', '["message",{"x":1}]'], start=1
        ):
            await raw.send(raw.event(ack_id, body))
            ack = await raw.ack(ack_id)
            assert ack["ok"] is False and ack["error"]["code"] == "unknown_event", ack
        assert "127.0.0.3" not in srv.runtime.limits.per_ip._buckets
        # The connect handler did not run again: no second greeting, no second room entry.
        assert await raw.pushes("chat.updated", within=0.5) == []
        # The burst is spent (4 refused events + 2 more); a "disconnect" does not refill it.
        typing = f'["typing",{{"chat_id":{person.chat_id}}}]'
        for ack_id in (10, 11):
            await raw.send(raw.event(ack_id, typing))
            assert (await raw.ack(ack_id))["ok"] is True
        await raw.send(raw.event(12, '["disconnect"]'))
        assert (await raw.ack(12))["error"]["code"] == "rate_limited"
        await raw.send(raw.event(13, typing))
        assert (await raw.ack(13))["error"]["code"] == "rate_limited"
    finally:
        await raw.close()
        await person.close()
        await runner.cleanup()


JUNK_FRAMES = [
    # (frame after the namespace prefix and ack id, expected code)
    ('["typing",{"chat_id":NaN}]', "invalid_payload"),
    ('["typing",{"chat_id":Infinity}]', "invalid_payload"),
    ('["typing",{"chat_id":-Infinity}]', "invalid_payload"),
    (
        '["call.stats",{"call_id":1,"rtt_ms":1e999,"jitter_ms":0,"loss_pct":0,"bitrate_kbps":0}]',
        "invalid_payload",
    ),
    ('["message.send",{"chat_id":1,"client_msg_id":"a","text":"\\ud800"}]', "invalid_payload"),
    ('["message.send",{"chat_id":1,"client_msg_id":"\\udfff","text":"x"}]', "invalid_payload"),
    ('["\\ud800",{}]', "invalid_payload"),
    ('["typing",{"\\ud83d":1}]', "invalid_payload"),
    ('["typing",{"chat_id":1', "invalid_payload"),
    ("[" * 5000 + "]" * 5000, "invalid_payload"),
    ("{}", "invalid_payload"),
    ('"typing"', "invalid_payload"),
    ("[]", "invalid_payload"),
    ("[17,{}]", "invalid_payload"),
    ("[null]", "invalid_payload"),
    ('["chat.destroy",{}]', "unknown_event"),
    ('["typing",{"chat_id":' + "9" * 5000 + "}]", "invalid_payload"),
    ('["csat.submit",{"chat_id":1,"score":1e308}]', "invalid_payload"),
]


async def test_junk_frames_get_their_code_and_a_short_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """1,980 undecodable frames once wrote 6.5 MB of tracebacks in 5 s; a lone surrogate
    answered `internal`, and some junk was never acked. Now: one line per 10 s per kind,
    an ack for everything that has an ack id, never `internal`."""
    srv, runner = await start_server(
        tmp_path / "d",
        limits={
            "events_per_second": 10_000.0,
            "event_burst": 10_000,
            "ip_events_per_second": 10_000.0,
            "ip_event_burst": 10_000,
        },
    )
    raw, person = await _raw_customer(srv, "Junk")
    calm = await srv.customer(name="Calm")
    caplog.set_level(logging.INFO)
    try:
        sent = 0
        codes: dict[str, int] = {}
        for round_ in range(110):
            for body, expected in JUNK_FRAMES:
                sent += 1
                await raw.send(raw.event(sent, body))
                ack = await raw.ack(sent)
                assert ack["ok"] is False, (body, ack)
                code = ack["error"]["code"]
                assert code == expected, (body, ack)
                assert ack["error"]["message"]
                codes[code] = codes.get(code, 0) + 1
            # Frames no ack can be sent for: dropped quietly, the connection lives on.
            await raw.send(b"\x00\x01binary")
            await raw.send("42/customer,[" + "x" * round_)
        assert sent == 110 * len(JUNK_FRAMES) == sum(codes.values())
        assert (await calm.say("still here"))["text"] == "still here"
        typing = f'["typing",{{"chat_id":{person.chat_id}}}]'
        await raw.send(raw.event(sent + 1, typing))
        assert (await raw.ack(sent + 1))["ok"] is True
        # An unknown Engine.IO packet type is skipped; a frame that is not Engine.IO at all
        # closes that connection. One line each, and the others go on.
        for frame in ("9garbage", "4"):
            await raw.send(frame)
        await raw.send(raw.event(sent + 2, typing))
        assert (await raw.ack(sent + 2))["ok"] is True
        for frame in ("", "x"):
            broken, owner = await _raw_customer(srv, "Broken")
            await broken.send(frame)
            await asyncio.wait_for(broken.closed.wait(), 5)
            await broken.close()
            await owner.close()
        assert (await calm.say("still here after that"))["text"] == "still here after that"
        records = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert not [r for r in records if r.exc_info], "no tracebacks for client input"
        assert 1 <= len(records) <= 5, [r.getMessage() for r in records]
        assert sum(len(r.getMessage()) for r in records) < 2000
        assert srv.runtime.sio.refused["bad_frame"] >= 110 * 10
    finally:
        await raw.close()
        await person.close()
        await calm.close()
        await runner.cleanup()


async def test_nan_is_never_stored_and_records_stay_valid_json(server: Server) -> None:
    """`call.annotate` with NaN coordinates was accepted; the call's REST record has been
    invalid JSON ever since. NaN cannot enter through events or REST bodies."""
    async with chat_pair(server) as (customer, agent):
        call_id = await ring_and_accept(customer, agent, customer.chat_id)
        raw = RawSocket(server.url, "/agent")
        assert agent.token is not None
        await raw.connect(agent.token)
        try:
            base = f'"call_id":{call_id},"surface":"customer_screen"'
            for ack_id, points in enumerate(("[[NaN,0.5]]", "[[0.5,Infinity]]"), start=1):
                body = f'["call.annotate",{{{base},"kind":"pointer","points":{points}}}]'
                await raw.send(raw.event(ack_id, body))
                ack = await raw.ack(ack_id)
                assert ack["error"]["code"] == "invalid_payload", ack
                assert "finite" in ack["error"]["message"] or "NaN" in ack["error"]["message"]
        finally:
            await raw.close()
        ticket_id = (await agent.rest("GET", f"/api/calls/{call_id}"))["ticket_id"]
        async with aiohttp.ClientSession(headers=agent.headers()) as http:
            async with http.patch(
                f"{server.url}/api/tickets/{ticket_id}",
                data=b'{"priority": NaN}',
                headers={"Content-Type": "application/json"},
            ) as resp:
                assert resp.status == 400
                assert (await resp.json())["error"]["code"] == "invalid_payload"
            async with http.get(f"{server.url}/api/calls/{call_id}") as resp:
                text = await resp.text()
        record = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in record"))
        assert record["id"] == call_id
        assert not [e for e in record["events"] if e["kind"] == "annotation"]
        await agent.request("call.hangup", {"call_id": call_id})
        await asyncio.sleep(0)
