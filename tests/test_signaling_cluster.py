"""Two real `liveassist serve` processes on one Redis and one PostgreSQL, each with its own
relay node: a customer on A and agents on B get chat, routing, presence, transfer and a video
call across them; many chats started on both at once are each assigned once, to an agent with
room, and none is lost; one process is primary and, when it dies, the other takes over."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from loadtest.call_peer import CallPeer
from loadtest.clients import Customer, Staff
from media.stamps import StampedVideoTrack
from tests.test_calls import SMALL, rejoin_after_move, ring_and_accept
from tests.test_cli import environment, http, serve_process
from tests.test_relay_cluster import node_of, registered, relay_node
from tests.test_shutdown import demo_password

SECRET = "cluster-test-secret-key-0123456789abcdef"


@contextmanager
def signaling(
    data: Path, name: str, redis_url: str, pg_url: str, **extra: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    env = environment(
        **extra,
        LIVEASSIST_SERVER_REDIS_URL=redis_url,
        LIVEASSIST_DATABASE_URL=pg_url,
        LIVEASSIST_AUTH_SECRET_KEY=SECRET,
        LIVEASSIST_RELAY_NODE_ID=f"relay-{name}",
        # Generous per-address limits: every client of this test comes from 127.0.0.1.
        LIVEASSIST_LIMITS_IP_GUEST_SESSION_BURST="100",
        LIVEASSIST_LIMITS_IP_CONNECT_BURST="200",
    )
    with serve_process(data, "--workers", "1", env=env) as (process, url, _printed, _err):
        yield process, url


@contextmanager
def two_processes(
    tmp_path: Path, redis_url: str, pg_url: str, **extra: str
) -> Iterator[dict[str, Any]]:
    """A starts first (it migrates, seeds the demo accounts and becomes primary), then B."""
    data = tmp_path / "data"
    with ExitStack() as stack:
        a, url_a = stack.enter_context(signaling(data, "a", redis_url, pg_url, **extra))
        b, url_b = stack.enter_context(signaling(data, "b", redis_url, pg_url, **extra))
        yield {"a": url_a, "b": url_b, "process_a": a, "process_b": b, "data": data}


async def staff(url: str, data: Path, email: str, *, online: bool = True) -> Staff:
    member = Staff(url)
    await member.sign_in(email, demo_password(data, email))
    await member.connect()
    if online:
        await member.go_online()
    return member


async def customer(url: str, **fields: Any) -> Customer:
    person = Customer(url)
    await person.open_chat(**fields)
    await person.connect()
    return person


def role_of(url: str) -> str:
    return str(http(url + "/healthz")[1]["components"]["cluster"]["role"])


async def until_primary(url: str) -> None:
    async with asyncio.timeout(15):
        while role_of(url) != "primary":  # noqa: ASYNC110
            await asyncio.sleep(0.2)


async def video_call(person: Customer, agent: Staff) -> tuple[int, list[CallPeer]]:
    """The customer calls the agent of its chat; both see each other's camera."""
    call_id = await ring_and_accept(person, agent, person.chat_id)
    peers = [
        CallPeer(who, call_id, {"camera": StampedVideoTrack(**SMALL)}) for who in (person, agent)
    ]
    await asyncio.gather(*(peer.join() for peer in peers))
    await asyncio.gather(*(peer.wait_frames("camera", 5) for peer in peers))
    return call_id, peers


async def test_customer_on_one_process_and_agents_on_the_other(
    tmp_path: Path, redis_url: str, pg_url: str
) -> None:
    with two_processes(tmp_path, redis_url, pg_url) as world:
        assert {role_of(world["a"]), role_of(world["b"])} == {"primary", "forwarding"}
        data = world["data"]
        agent1 = await staff(world["b"], data, "agent1@demo.local")
        agent2 = await staff(world["a"], data, "agent2@demo.local", online=False)
        admin = await staff(world["a"], data, "admin@demo.local", online=False)
        cleo = await customer(world["a"], name="Cleo", topic="general")
        peers: list[CallPeer] = []
        try:
            widget = http(world["a"] + "/api/widget/config?org=demo")[1]
            assert widget["agents_online"] == 1, "presence held by the primary, seen from A"
            await cleo.say("hello from A")
            assigned = await agent1.next("chat.assigned", timeout=15)
            assert assigned["chat"]["id"] == cleo.chat_id
            assert "hello from A" in [m["text"] for m in assigned["messages"]]
            await agent1.say(cleo.chat_id, "hi from B")
            await cleo.next("message", where=lambda m: m["text"] == "hi from B")
            await cleo.say("and again from A")  # now through the chat's room, A → B
            got = await agent1.next("message", where=lambda m: m["text"] == "and again from A")
            assert got["chat_id"] == cleo.chat_id

            directory = await admin.rest("GET", "/api/directory")
            status = {a["id"]: a["status"] for a in directory["agents"]}
            assert status[agent1.user["id"]] == "online" and status[agent2.user["id"]] == "offline"

            call_id, peers = await video_call(cleo, agent1)
            ended = await agent1.request("call.hangup", {"call_id": call_id})
            assert ended["state"] == "ended"

            await agent2.go_online()
            await agent1.request(
                "chat.transfer", {"chat_id": cleo.chat_id, "to_user_id": agent2.user["id"]}
            )
            moved = await agent2.next("chat.assigned", timeout=15)
            assert moved["chat"]["id"] == cleo.chat_id
            await cleo.say("still there?")
            await agent2.next("message", where=lambda m: m["text"] == "still there?")
        finally:
            for peer in peers:
                await peer.close()
            for person in (agent1, agent2, admin, cleo):
                await person.close()


async def test_chats_started_on_both_processes_at_once_are_each_assigned_once(
    tmp_path: Path, redis_url: str, pg_url: str
) -> None:
    """24 customers, half on each process, write at once; two agents (one per process, 3
    chats each) are online. Exactly 6 chats are assigned, each to one agent, none over
    capacity; the other 18 wait in the line, none lost."""
    with two_processes(tmp_path, redis_url, pg_url) as world:
        data = world["data"]
        agents = [
            await staff(world["a"], data, "agent1@demo.local"),
            await staff(world["b"], data, "agent2@demo.local"),
        ]
        people = await asyncio.gather(
            *(customer(world["a" if i % 2 else "b"], name=f"C{i}") for i in range(24))
        )
        try:
            await asyncio.gather(*(person.say("help") for person in people))
            await asyncio.sleep(3)
            assigned = {agent.user["id"]: agent.drain("chat.assigned") for agent in agents}
            chats = [a["chat"]["id"] for given in assigned.values() for a in given]
            assert len(chats) == len(set(chats)) == 6, assigned
            assert all(len(given) == 3 for given in assigned.values())
            admin = await staff(world["b"], data, "admin@demo.local", online=False)
            try:
                listed = await admin.rest("GET", "/api/chats?state=queued")
                queued = {c["id"] for c in listed["items"]}
            finally:
                await admin.close()
            mine = {person.chat_id for person in people}
            assert queued | set(chats) == mine and not queued & set(chats)
        finally:
            for person in [*agents, *people]:
                await person.close()


async def test_the_other_process_takes_over_when_the_primary_dies(
    tmp_path: Path, redis_url: str, pg_url: str
) -> None:
    """kill -9 of the primary, each process running a relay node of its own: within seconds
    the other process is primary and takes over the two running calls, one on each node.
    The call on the surviving node goes on untouched; the one whose room died with the
    primary's node moves to the survivor and both its sides see video again within 5 s of
    the take-over. The agent, connected to the survivor, stays online and takes a new chat."""
    with two_processes(tmp_path, redis_url, pg_url) as world:
        primary = "a" if role_of(world["a"]) == "primary" else "b"
        other = "b" if primary == "a" else "a"
        agent = await staff(world[other], world["data"], "agent1@demo.local")
        people = [await customer(world[other], name=name) for name in ("Cleo", "Dan")]
        calls: dict[str, tuple[int, list[CallPeer]]] = {}
        try:
            nodes = await registered(redis_url, "relay-a", "relay-b")
            for person in people:
                await person.say("a call, please")
                await agent.next(
                    "chat.assigned",
                    where=lambda a, p=person: a["chat"]["id"] == p.chat_id,
                    timeout=15,
                )
                call_id, peers = await video_call(person, agent)
                worker = (await agent.request("call.get", {"call_id": call_id}))["relay_worker"]
                calls[node_of(nodes, worker)] = (call_id, peers)
            assert sorted(calls) == ["relay-a", "relay-b"], "one call on each node"
            kept_id, kept = calls[f"relay-{other}"]
            moved_id, moved = calls[f"relay-{primary}"]

            os.kill(world[f"process_{primary}"].pid, signal.SIGKILL)
            at_kill = [peer.received["camera"].frames for peer in kept]
            await until_primary(world[other])
            took_over = asyncio.get_running_loop().time()
            await asyncio.gather(*(rejoin_after_move(peer, peer.participant) for peer in moved))
            back = asyncio.get_running_loop().time() - took_over
            assert back < 5.0, f"media back {back:.1f} s after the take-over"
            state = await agent.request("call.get", {"call_id": moved_id})
            assert (state["state"], state["relay_session"]) == ("active", 2)
            after = [peer.received["camera"].frames for peer in kept]
            assert all(a > k + 10 for a, k in zip(after, at_kill, strict=True)), (at_kill, after)
            state = await agent.request("call.get", {"call_id": kept_id})
            assert (state["state"], state["relay_session"]) == ("active", 1)

            await agent.go_online()
            late = await customer(world[other], name="Late")
            try:
                await late.say("anyone?")
                assigned = await agent.next(
                    "chat.assigned", where=lambda a: a["chat"]["id"] == late.chat_id, timeout=15
                )
                assert assigned["chat"]["id"] == late.chat_id
            finally:
                await late.close()
        finally:
            for _call_id, peers in calls.values():
                for peer in peers:
                    await peer.close()
            for person in [*people, agent]:
                await person.close()


async def test_a_running_call_goes_on_when_the_primary_dies_or_stops(
    tmp_path: Path, redis_url: str, pg_url: str
) -> None:
    """Calls placed on a relay node of their own (the deployment the README describes): a
    video call runs between a customer and an agent connected to the other process; kill -9
    of the primary. The other process takes the call over from its snapshot in Redis: media
    flows on during the take-over, on the same relay session (nobody rejoined), and the
    call log says `adopted`. Then a fresh process joins and the primary is stopped with
    SIGTERM: it hands the call over rather than end it, the newcomer adopts it, and a
    hang-up there ends it as `hung_up`."""
    with (
        relay_node(redis_url, "relay-own", tmp_path),
        two_processes(tmp_path, redis_url, pg_url, LIVEASSIST_RELAY_EMBEDDED="false") as world,
    ):
        primary = "a" if role_of(world["a"]) == "primary" else "b"
        other = "b" if primary == "a" else "a"
        agent = await staff(world[other], world["data"], "agent1@demo.local")
        cleo = await customer(world[other], name="Cleo")
        peers: list[CallPeer] = []

        def frames() -> list[int]:
            return [peer.received["camera"].frames for peer in peers]

        try:
            await cleo.say("can we talk?")
            await agent.next("chat.assigned", timeout=15)
            call_id, peers = await video_call(cleo, agent)
            session = (await agent.request("call.get", {"call_id": call_id}))["relay_session"]

            os.kill(world[f"process_{primary}"].pid, signal.SIGKILL)
            at_kill = frames()
            await until_primary(world[other])
            during = frames()
            assert all(d > k + 10 for d, k in zip(during, at_kill, strict=True)), (at_kill, during)
            call = await agent.request("call.get", {"call_id": call_id})
            assert (call["state"], call["relay_session"]) == ("active", session)

            env = {"LIVEASSIST_RELAY_EMBEDDED": "false"}
            with signaling(world["data"], "c", redis_url, pg_url, **env) as (_c, url_c):
                world[f"process_{other}"].send_signal(signal.SIGTERM)
                at_stop = frames()
                await until_primary(url_c)
                agent_again = await staff(url_c, world["data"], "agent1@demo.local")
                try:
                    call = await agent_again.request("call.get", {"call_id": call_id})
                    assert (call["state"], call["relay_session"]) == ("active", session)
                    waits = zip(peers, at_stop, strict=True)
                    await asyncio.gather(*(peer.wait_frames("camera", n + 10) for peer, n in waits))
                    ended = await agent_again.request("call.hangup", {"call_id": call_id})
                    assert (ended["state"], ended["end_reason"]) == ("ended", "hung_up")
                    record = await agent_again.rest("GET", f"/api/calls/{call_id}")
                finally:
                    await agent_again.close()
            kinds = [event["kind"] for event in record["events"]]
            assert kinds.count("adopted") == 2 and "relay_lost" not in kinds, kinds
        finally:
            for peer in peers:
                await peer.close()
            await cleo.close()
            await agent.close()


async def test_of_many_processes_starting_at_once_exactly_one_is_primary(redis_url: str) -> None:
    """The election itself, raced: eight contenders start together, one wins; when it lets
    go another takes the role within one renewal interval, and still only one holds it."""
    from redis.asyncio import Redis

    from signaling.cluster.leadership import Leadership

    gained: list[str] = []

    def contender(name: str) -> Leadership:
        async def on_gained() -> None:
            gained.append(name)

        redis = Redis.from_url(redis_url)
        return Leadership(redis, name, ttl_seconds=0.6, on_gained=on_gained, on_lost=lambda: None)

    everyone = [contender(f"p{i}") for i in range(8)]
    try:
        await asyncio.gather(*(c.start() for c in everyone))
        assert [c.process_id for c in everyone if c.is_primary] == gained and len(gained) == 1
        first = next(c for c in everyone if c.is_primary)
        await first.stop()
        async with asyncio.timeout(3):
            while len(gained) < 2:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        assert sum(c.is_primary for c in everyone) == 1 and gained[1] != gained[0]
    finally:
        for c in everyone:
            await c.stop()
