"""The server stops and starts again under connected clients (issue 15, defect 7): a stop
is orderly (calls end with `server_shutdown` and their transcript line, every socket hears
`server.closing` and is closed), agents get back the status they chose when they reconnect
within the grace period, and calls a crashed run left open get their line at the next start."""

from __future__ import annotations

import asyncio
from pathlib import Path

from loadtest.clients import Customer, Staff
from signaling.store import calls as call_store
from signaling.store import messages as message_store
from signaling.types import CallMedia, CallParty
from tests.conftest import free_port, start_server
from tests.test_calls import ring_and_accept

AGENT = "agent1@demo.local"


async def disconnected(*people: Customer | Staff, timeout: float = 5) -> None:
    """Wait until the server has closed each one's socket."""
    for _tick in range(round(timeout / 0.05)):
        if not any(person.sio.connected for person in people):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the server did not close every socket")


async def test_a_stop_ends_calls_with_their_line_and_agents_come_back_online(
    tmp_path: Path,
) -> None:
    port = free_port()
    data = tmp_path / "data"
    server, runner = await start_server(data, server={"port": port})
    agent = await server.staff(AGENT)
    customer = await server.customer(name="Rosa")
    await customer.say("hello")
    await agent.next("chat.assigned")
    call_id = await ring_and_accept(customer, agent, customer.chat_id, media="audio")

    await runner.cleanup()
    for person in (agent, customer):
        assert await person.next("server.closing") == {"reason": "shutdown"}
        ended = await person.next("call.updated", where=lambda c: c["state"] == "ended")
        assert ended["id"] == call_id and ended["end_reason"] == "server_shutdown"
        line = await person.next("message", where=lambda m: "call" in m["text"])
        assert line["text"].startswith("Audio call ended (0:0")
        assert line["text"].endswith("): Server restarted")
    await disconnected(agent, customer)

    again, runner = await start_server(data, server={"port": port})
    console = Staff(again.url)
    newcomer = None
    try:
        console.token = agent.token  # the same sign-in, as a reconnecting page has
        await console.connect()
        state = await console.request("console.state", {})
        assert state["me"]["status"] == "online", "the status the agent chose, back"
        assert [chat["id"] for chat in state["chats"]] == [customer.chat_id]
        # ... well past the grace period (2 s here), and chats are routed to them
        await asyncio.sleep(2.5)
        newcomer = await again.customer(name="Nia")
        await newcomer.say("anyone there?")
        assigned = await console.next("chat.assigned")
        assert assigned["chat"]["id"] == newcomer.chat_id
        synced = await console.request("chat.sync", {"chat_id": customer.chat_id})
        assert sum("Server restarted" in m["text"] for m in synced["messages"]) == 1
    finally:
        for person in (console, newcomer, agent, customer):
            if person is not None:
                await person.close()
        await runner.cleanup()


async def test_calls_a_crashed_run_left_open_get_their_line_at_the_next_start(
    tmp_path: Path,
) -> None:
    port = free_port()
    data = tmp_path / "data"
    server, runner = await start_server(data, server={"port": port})
    agent = await server.staff(AGENT)
    customer = await server.customer(name="Kai")
    await customer.say("hello")
    chat = (await agent.next("chat.assigned"))["chat"]

    def open_call(conn):  # type: ignore[no-untyped-def]
        # As a run killed mid-call leaves it: active in the records, nobody to end it.
        call = call_store.create_call_sync(
            conn,
            org_id=1,
            chat_id=chat["id"],
            ticket_id=chat["ticket_id"],
            customer_id=chat["customer_id"],
            agent_id=agent.user["id"],
            media=CallMedia.VIDEO,
            started_by=CallParty.CUSTOMER,
        )
        call_store.add_event_sync(conn, call["id"], "ringing", CallParty.CUSTOMER, {})
        return call

    call = await server.runtime.db.write_in_thread(open_call)
    await agent.close()
    await customer.close()
    await runner.cleanup()

    again, runner = await start_server(data, server={"port": port})
    try:
        async with again.runtime.db.read() as conn:
            ended = await call_store.call_by_id(conn, call["id"])
            lines = await message_store.messages_after(
                conn, chat["id"], 0, 100, include_notes=False
            )
        assert ended is not None and ended["state"] == "ended"
        assert ended["end_reason"] == "server_shutdown"
        assert [m["text"] for m in lines if m["kind"] == "event"][-1] == (
            "Video call failed: Server restarted"
        )
    finally:
        await runner.cleanup()
