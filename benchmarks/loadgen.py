"""A load-generator process: holds customer and agent sockets against the server and does
what the orchestrator asks. It is a loadtest.rpc handler: the orchestrator starts it as a
`Child` and calls its `op_<name>` coroutines (connect, probe, agents_online, open_chats,
traffic, release); a failing op raises in the orchestrator and the process stays up.

It runs in its own process so that its CPU never counts as the server's, and several of
them can share the work when one event loop is not enough to drive the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection
from typing import Any

import aiohttp

from benchmarks import traffic
from loadtest.clients import Customer, Participant, Staff
from loadtest.lean_clients import LeanCustomer, LeanStaff
from loadtest.rpc import serve

CLIENTS: dict[str, tuple[type[Customer | LeanCustomer], type[Staff | LeanStaff]]] = {
    "lean": (LeanCustomer, LeanStaff),
    "socketio": (Customer, Staff),
}
"""Which clients hold the sockets: one raw websocket each (loadtest/lean_clients.py, the
default: the generators stay cheaper than the server they measure), or python-socketio's."""
ATTEMPT_TIMEOUT = 30.0
CLOSE_SECONDS = 15.0  # closing what is left at the end; within loadtest.rpc Child.stop's patience


@dataclass
class ConnectReport:
    held: int
    opened: int
    failed: int
    errors: dict[str, int] = field(default_factory=dict)
    connect_ms: list[float] = field(default_factory=list)


@dataclass
class ProbeReport:
    connected: int  # still connected now
    held: int  # connected at the previous probe (or connect)
    ack_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)


@dataclass
class AgentsReport:
    online: int
    errors: dict[str, int] = field(default_factory=dict)


@dataclass
class OpenReport:
    active: int
    errors: dict[str, int] = field(default_factory=dict)


Person = Customer | Staff | LeanCustomer | LeanStaff


def browser_like_ping_grace(person: Person) -> None:
    """Let a late server ping be as late as a browser allows before the socket is given up.

    Socket.IO's JS client waits pingInterval + pingTimeout (45 s by default) for a ping.
    python-engineio's client stops its write loop when nothing was sent for
    max(pingInterval, pingTimeout) + 5 s (30 s), i.e. when a ping is 5 s late (see
    python-engineio PR #308), and the server then drops the socket for a missing pong. A
    server stall of a few seconds would thus look like mass disconnects that browsers would
    not see; stalls are measured directly instead (benchmarks.watch)."""
    if not isinstance(person, Participant):
        return  # the lean clients answer every ping and never give up on a late one
    eio = person.sio.eio
    if eio.ping_interval and eio.ping_timeout:
        eio.ping_timeout = eio.ping_interval + eio.ping_timeout - 5


def main(conn: Connection, index: int, base_url: str, seed: int, client: str = "lean") -> None:
    """Process entry point (a loadtest.rpc Child's target). Ctrl+C is left to the
    orchestrator, which stops us in order."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    random.seed(seed)
    asyncio.run(_serve(conn, index, base_url, client))


async def _serve(conn: Connection, index: int, base_url: str, client: str) -> None:
    # One pooled HTTP session for every REST call of this process (guest sessions, logins).
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        generator = LoadGenerator(index, base_url, http, client)
        try:
            await serve(conn, generator)
        finally:  # a no-op after an orderly shutdown; after EOF the orchestrator is gone
            await generator.release(CLOSE_SECONDS)


class LoadGenerator:
    def __init__(
        self, index: int, base_url: str, http: aiohttp.ClientSession, client: str = "lean"
    ) -> None:
        self._customer_class, self._staff_class = CLIENTS[client]
        self.index = index
        self.base_url = base_url
        self.http = http
        self.customers: list[Customer | LeanCustomer] = []
        self.chatting: list[Customer | LeanCustomer] = []
        self.agents: list[Staff | LeanStaff] = []
        self.agent_chats: list[tuple[Staff | LeanStaff, int]] = []
        self.arrivals = traffic.Arrivals()
        self._serial = 0

    # ---- idle customers -------------------------------------------------------------------
    async def op_connect(self, target: int, concurrency: int, deadline: float) -> ConnectReport:
        """Open guest chats and connect their /customer sockets until `target` are held:
        `concurrency` runners, none starting a connection after `deadline` (monotonic)."""
        report = ConnectReport(held=0, opened=0, failed=0)
        errors: Counter[str] = Counter()
        wanted = target - len(self.customers)

        async def runner() -> None:
            nonlocal wanted
            while wanted > 0 and time.monotonic() < deadline:
                wanted -= 1
                self._serial += 1
                person = self._customer_class(self.base_url, http=self.http)
                started = time.monotonic()
                try:
                    async with asyncio.timeout(ATTEMPT_TIMEOUT):
                        await person.open_chat(name=f"bench {self.index}-{self._serial}")
                        await person.connect()
                    browser_like_ping_grace(person)
                except Exception as exc:
                    report.failed += 1
                    errors[traffic.error_key(exc)] += 1
                    await _quietly_close(person)
                    continue
                report.opened += 1
                report.connect_ms.append((time.monotonic() - started) * 1000)
                self.customers.append(person)

        await asyncio.gather(*(runner() for _ in range(max(1, concurrency))))
        report.held = len(self.customers)
        report.errors = dict(errors)
        return report

    async def op_probe(self, samples: int, time_bound: float) -> ProbeReport:
        """Ack round trips of `samples` sequential light requests (chat.sync, limit 1) on
        random held sockets: how long one answer takes now. Sockets the server has dropped
        are counted, then let go."""
        live = [c for c in self.customers if c.connected]
        dropped = [c for c in self.customers if not c.connected]
        self.customers = live
        await asyncio.gather(*(_quietly_close(c) for c in dropped))
        report = ProbeReport(connected=len(live), held=len(live) + len(dropped))
        errors: Counter[str] = Counter()
        deadline = time.monotonic() + time_bound
        for person in random.sample(live, min(samples, len(live))):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                errors["probe time bound reached"] += 1
                break
            started = time.monotonic()
            try:
                await person.request(
                    "chat.sync", {"chat_id": person.chat_id, "limit": 1}, timeout=remaining
                )
            except Exception as exc:
                errors[traffic.error_key(exc)] += 1
                continue
            report.ack_ms.append((time.monotonic() - started) * 1000)
        report.errors = dict(errors)
        return report

    # ---- conversations --------------------------------------------------------------------
    async def op_agents_online(self, accounts: list[tuple[str, str]]) -> AgentsReport:
        """Sign these (email, password) agents in, connect their /agent sockets, go online."""
        errors: Counter[str] = Counter()
        for email, password in accounts:
            agent = self._staff_class(self.base_url, http=self.http)
            agent.on("chat.assigned", partial(self._on_assigned, agent))
            agent.on(
                "message",
                partial(self.arrivals.on_push, traffic.CUSTOMER_TO_AGENT, reader=agent),
            )
            try:
                async with asyncio.timeout(ATTEMPT_TIMEOUT):
                    await agent.sign_in(email, password)
                    await agent.connect()
                    browser_like_ping_grace(agent)
                    await agent.go_online()
            except Exception as exc:
                errors[traffic.error_key(exc)] += 1
                await _quietly_close(agent)
                continue
            self.agents.append(agent)
        return AgentsReport(online=len(self.agents), errors=dict(errors))

    def _on_assigned(self, agent: Staff | LeanStaff, data: Any) -> None:
        self.agent_chats.append((agent, int(data["chat"]["id"])))

    async def op_open_chats(self, count: int, concurrency: int, time_bound: float) -> OpenReport:
        """Make `count` held customers write a first message, which puts the chat in line;
        each is done when its customer sees the chat active (an agent has it)."""
        errors: Counter[str] = Counter()
        pending = [c for c in self.customers[:count] if c.connected]
        semaphore = asyncio.Semaphore(max(1, concurrency))

        async def start(person: Customer | LeanCustomer) -> None:
            person.on(
                "message",
                partial(self.arrivals.on_push, traffic.AGENT_TO_CUSTOMER, reader=person),
            )
            async with semaphore:
                try:
                    async with asyncio.timeout(time_bound):
                        await person.say("hello, this is a benchmark chat")
                        await person.next(
                            "chat.updated",
                            where=lambda c: c["state"] == "active",
                            timeout=time_bound,
                        )
                except Exception as exc:
                    errors[traffic.error_key(exc)] += 1
                    return
                self.chatting.append(person)

        await asyncio.gather(*(start(c) for c in pending))
        return OpenReport(active=len(self.chatting), errors=dict(errors))

    async def op_traffic(self, step: traffic.Step) -> traffic.TrafficReport:
        """One traffic step in every open chat, both directions (see benchmarks.traffic)."""
        senders = [traffic.Sender(traffic.CUSTOMER_TO_AGENT, customer=c) for c in self.chatting]
        senders += [
            traffic.Sender(traffic.AGENT_TO_CUSTOMER, agent=agent, chat_id=chat_id)
            for agent, chat_id in self.agent_chats
        ]
        return await traffic.run_step(step, senders, self.arrivals)

    # ---- the end --------------------------------------------------------------------------
    async def op_release(self, time_bound: float) -> int:
        """Close every socket (bounded in time); returns how many there were."""
        return await self.release(time_bound)

    async def release(self, time_bound: float) -> int:
        everyone: list[Person] = [*self.customers, *self.agents]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(time_bound):
                await asyncio.gather(*(_quietly_close(p) for p in everyone))
        self.customers.clear()
        self.agents.clear()
        return len(everyone)

    async def close(self) -> None:
        """loadtest.rpc calls this on shutdown: let go of whatever is still held."""
        await self.release(CLOSE_SECONDS)


async def _quietly_close(person: Person) -> None:
    """Closing is best effort: a socket the server already dropped must not fail the run."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(10):
            await person.close()
