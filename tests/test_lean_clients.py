"""The load generators' raw-websocket clients (loadtest/lean_clients.py) against the real
server: the same conversation as python-socketio's clients, the same errors, pushes to a
handler or a queue, and a socket that answers the server's pings and outlives them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from loadtest.clients import ProtocolError
from loadtest.lean_clients import LeanCustomer, LeanStaff
from tests.conftest import Server


async def _lean_staff(server: Server, email: str) -> LeanStaff:
    member = LeanStaff(server.url)
    await member.sign_in(email, server.passwords[email])
    await member.connect()
    await member.go_online()
    return member


async def test_a_lean_customer_and_agent_hold_a_conversation(server: Server) -> None:
    agent = await _lean_staff(server, "agent1@demo.local")
    heard: list[Any] = []
    second_heard = asyncio.Event()

    def hear(message: Any) -> None:
        heard.append(message)
        if message["text"] == "It charged me twice":
            second_heard.set()

    agent.on("message", hear)
    customer = LeanCustomer(server.url)
    await customer.open_chat(name="Lena", topic="billing", language="en")
    await customer.connect()
    try:
        first = await customer.say("Lean client here: my parcel is late")
        assigned = await agent.next("chat.assigned")
        assert (assigned["chat"]["id"], assigned["messages"][0]["id"]) == (
            customer.chat_id,
            first["id"],
        )
        await customer.next("chat.updated", where=lambda c: c["state"] == "active")
        await customer.say("It charged me twice")
        await asyncio.wait_for(second_heard.wait(), 5)
        assert [m["text"] for m in heard if m["sender"]["type"] == "customer"][-1] == (
            "It charged me twice"
        )
        assert agent.events["message"].empty()  # the handler took them, not the queue
        reply = await agent.say(customer.chat_id, "Let me check that for you")
        seen = await customer.next("message", where=lambda m: m["sender"]["type"] == "agent")
        assert seen["id"] == reply["id"] and seen["text"] == "Let me check that for you"
    finally:
        await customer.close()
        await agent.close()
    assert not customer.connected and not agent.connected


async def test_refusals_come_back_as_the_same_protocol_errors(server: Server) -> None:
    customer = LeanCustomer(server.url)
    await customer.open_chat(name="Nils")
    await customer.connect()
    try:
        with pytest.raises(ProtocolError) as refused:
            await customer.request("message.send", {"chat_id": customer.chat_id})
        assert refused.value.code == "invalid_payload"
        with pytest.raises(ProtocolError) as foreign:
            await customer.request(
                "message.send", {"chat_id": 999_999, "client_msg_id": "x1", "text": "hi"}
            )
        assert foreign.value.code in ("not_found", "forbidden")
    finally:
        await customer.close()
    intruder = LeanStaff(server.url)
    try:
        with pytest.raises(ProtocolError):
            await intruder.connect(token="not-a-token")
        assert not intruder.connected
    finally:
        await intruder.close()


async def test_a_lean_socket_answers_pings_and_stays(server: Server) -> None:
    eio = server.runtime.sio.eio
    eio.ping_interval, eio.ping_timeout = 0.3, 0.3  # a silent socket is gone within 1 s
    customer = LeanCustomer(server.url)
    try:
        await customer.open_chat(name="Pia")
        await customer.connect()
        await asyncio.sleep(2.0)  # six ping cycles
        assert customer.connected
        sent = await customer.say("still here")
        assert sent["text"] == "still here"
    finally:
        await customer.close()
