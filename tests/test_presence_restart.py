"""An agent's status survives a restart of the server (issue 15, defect 7): it is kept as
they chose it, given back when they reconnect within the grace period (chats waiting
meanwhile are routed to them then), and gone — offline, chats requeued — when they do not."""

from __future__ import annotations

import asyncio
from pathlib import Path

from loadtest.clients import Staff
from tests.conftest import free_port, start_server
from tests.test_restart import disconnected

AGENT = "agent1@demo.local"


async def test_an_agent_who_reconnects_in_time_is_online_and_gets_what_waited(
    tmp_path: Path,
) -> None:
    port = free_port()
    data = tmp_path / "data"
    server, runner = await start_server(data, server={"port": port})
    agent = await server.staff(AGENT)
    await runner.cleanup()
    await disconnected(agent)
    again, runner = await start_server(data, server={"port": port})
    console = Staff(again.url)
    waiting = await again.customer(name="Wen")
    try:
        # A chat that starts before the agent is back waits for them (not routed to an
        # agent who is not connected) ...
        await waiting.say("hello?")
        estimate = await waiting.next("queue.position")
        assert estimate["position"] == 1 and estimate["agents_online"] == 1
        console.token = agent.token  # the same sign-in, as a reconnecting page has
        await console.connect()
        # ... and is theirs as soon as they are.
        assigned = await console.next("chat.assigned")
        assert assigned["chat"]["id"] == waiting.chat_id
        state = await console.request("console.state", {})
        assert state["me"]["status"] == "online", "the status the agent chose, back"
        await asyncio.sleep(2.5)  # well past the grace period (2 s here): still online
        assert (await console.request("console.state", {}))["me"]["status"] == "online"
    finally:
        for person in (console, waiting, agent):
            await person.close()
        await runner.cleanup()


async def test_an_agent_who_does_not_come_back_goes_offline_and_stays_so(
    tmp_path: Path,
) -> None:
    port = free_port()
    data = tmp_path / "data"
    server, runner = await start_server(data, server={"port": port})
    agent = await server.staff(AGENT)
    await runner.cleanup()
    await disconnected(agent)
    again, runner = await start_server(data, server={"port": port})
    try:
        waiting = await again.customer(name="Ole")
        await waiting.say("hi")
        estimate = await waiting.next("queue.position")
        assert estimate["agents_online"] == 1  # the agent still has the grace period
        await asyncio.sleep(2.5)  # the grace period (2 s in tests) runs out
        late = Staff(again.url)
        late.token = agent.token
        await late.connect()
        state = await late.request("console.state", {})
        assert state["me"]["status"] == "offline"
        await late.close()
        await waiting.close()
    finally:
        await agent.close()
        await runner.cleanup()
    # and a third start does not bring them back online
    third, runner = await start_server(data, server={"port": port})
    try:
        assert third.runtime.presence.online_count() == 0
    finally:
        await runner.cleanup()
