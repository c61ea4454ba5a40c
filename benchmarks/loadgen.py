"""A load-generator process: holds customer and agent sockets against the server and does
what the orchestrator asks, one request at a time (see benchmarks.protocol).

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
from functools import partial
from multiprocessing.connection import Connection
from typing import Any

import aiohttp

from benchmarks import traffic
from benchmarks.protocol import (
    AgentsOnline,
    AgentsReport,
    Connect,
    ConnectReport,
    OpenChats,
    OpenReport,
    Probe,
    ProbeReport,
    Reply,
    Request,
    Stop,
    Stopped,
    Traffic,
    TrafficReport,
    WorkerFailure,
)
from loadtest.clients import Customer, Staff

ATTEMPT_TIMEOUT = 30.0


def browser_like_ping_grace(person: Customer | Staff) -> None:
    """Let a late server ping be as late as a browser allows before the socket is given up.

    Socket.IO's JS client waits pingInterval + pingTimeout (45 s by default) for a ping.
    python-engineio's client stops its write loop when nothing was sent for
    max(pingInterval, pingTimeout) + 5 s (30 s), i.e. when a ping is 5 s late (see
    python-engineio PR #308), and the server then drops the socket for a missing pong. A
    server stall of a few seconds would thus look like mass disconnects that browsers would
    not see; stalls are measured directly instead (benchmarks.watch)."""
    eio = person.sio.eio
    if eio.ping_interval and eio.ping_timeout:
        eio.ping_timeout = eio.ping_interval + eio.ping_timeout - 5


def main(conn: Connection, index: int, base_url: str, seed: int) -> None:
    """Process entry point. Ctrl+C is left to the orchestrator, which stops us in order."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    random.seed(seed)
    asyncio.run(LoadGenerator(index, base_url).serve(conn))


class LoadGenerator:
    def __init__(self, index: int, base_url: str) -> None:
        self.index = index
        self.base_url = base_url
        self.customers: list[Customer] = []
        self.chatting: list[Customer] = []
        self.agents: list[Staff] = []
        self.agent_chats: list[tuple[Staff, int]] = []
        self.arrivals = traffic.Arrivals()
        self._serial = 0
        self._http: aiohttp.ClientSession | None = None

    @property
    def http(self) -> aiohttp.ClientSession:
        assert self._http is not None
        return self._http

    async def serve(self, conn: Connection) -> None:
        # One pooled HTTP session for every REST call of this process (guest sessions, logins).
        self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        try:
            while True:
                try:
                    request: Request = await asyncio.to_thread(conn.recv)
                except EOFError:  # the orchestrator is gone
                    await self.stop(Stop(timeout=10))
                    return
                reply = await self.handle(request)
                conn.send(reply)
                if isinstance(request, Stop):
                    return
        finally:
            await self.http.close()

    async def handle(self, request: Request) -> Reply:
        try:
            match request:
                case Connect():
                    return await self.connect(request)
                case Probe():
                    return await self.probe(request)
                case AgentsOnline():
                    return await self.agents_online(request)
                case OpenChats():
                    return await self.open_chats(request)
                case Traffic():
                    return await self.run_traffic(request)
                case Stop():
                    return await self.stop(request)
        except Exception as exc:
            return WorkerFailure(type(request).__name__, traffic.error_key(exc))

    # ---- idle customers -------------------------------------------------------------------
    async def connect(self, req: Connect) -> ConnectReport:
        """`concurrency` runners open chats and sockets until the target or the deadline."""
        report = ConnectReport(held=0, opened=0, failed=0)
        errors: Counter[str] = Counter()
        wanted = req.target - len(self.customers)

        async def runner() -> None:
            nonlocal wanted
            while wanted > 0 and time.monotonic() < req.deadline:
                wanted -= 1
                self._serial += 1
                person = Customer(self.base_url, http=self.http)
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

        await asyncio.gather(*(runner() for _ in range(max(1, req.concurrency))))
        report.held = len(self.customers)
        report.errors = dict(errors)
        return report

    async def probe(self, req: Probe) -> ProbeReport:
        """Sequential light requests on random held sockets: how long one answer takes now.
        Sockets the server has dropped are counted, then let go."""
        live = [c for c in self.customers if c.sio.connected]
        dropped = [c for c in self.customers if not c.sio.connected]
        self.customers = live
        await asyncio.gather(*(_quietly_close(c) for c in dropped))
        report = ProbeReport(connected=len(live), held=len(live) + len(dropped))
        errors: Counter[str] = Counter()
        deadline = time.monotonic() + req.timeout
        for person in random.sample(live, min(req.samples, len(live))):
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
    async def agents_online(self, req: AgentsOnline) -> AgentsReport:
        errors: Counter[str] = Counter()
        for email, password in req.accounts:
            agent = Staff(self.base_url, http=self.http)
            agent.sio.on(
                "chat.assigned", partial(self._on_assigned, agent), namespace=agent.namespace
            )
            agent.sio.on(
                "message",
                partial(self.arrivals.on_push, traffic.CUSTOMER_TO_AGENT),
                namespace=agent.namespace,
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

    def _on_assigned(self, agent: Staff, data: Any) -> None:
        self.agent_chats.append((agent, int(data["chat"]["id"])))

    async def open_chats(self, req: OpenChats) -> OpenReport:
        """The first message puts a chat in line; done when the customer sees it active."""
        errors: Counter[str] = Counter()
        pending = [c for c in self.customers[: req.count] if c.sio.connected]
        semaphore = asyncio.Semaphore(max(1, req.concurrency))

        async def start(person: Customer) -> None:
            person.sio.on(
                "message",
                partial(self.arrivals.on_push, traffic.AGENT_TO_CUSTOMER),
                namespace=person.namespace,
            )
            async with semaphore:
                try:
                    async with asyncio.timeout(req.timeout):
                        await person.say("hello, this is a benchmark chat")
                        await person.next(
                            "chat.updated",
                            where=lambda c: c["state"] == "active",
                            timeout=req.timeout,
                        )
                except Exception as exc:
                    errors[traffic.error_key(exc)] += 1
                    return
                self.chatting.append(person)

        await asyncio.gather(*(start(c) for c in pending))
        return OpenReport(active=len(self.chatting), errors=dict(errors))

    async def run_traffic(self, req: Traffic) -> TrafficReport:
        senders = [traffic.Sender(traffic.CUSTOMER_TO_AGENT, customer=c) for c in self.chatting]
        senders += [
            traffic.Sender(traffic.AGENT_TO_CUSTOMER, agent=agent, chat_id=chat_id)
            for agent, chat_id in self.agent_chats
        ]
        return await traffic.run_step(req, senders, self.arrivals)

    # ---- the end --------------------------------------------------------------------------
    async def stop(self, req: Stop) -> Stopped:
        everyone: list[Customer | Staff] = [*self.customers, *self.agents]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(req.timeout):
                await asyncio.gather(*(_quietly_close(p) for p in everyone))
        self.customers.clear()
        self.agents.clear()
        return Stopped(closed=len(everyone))


async def _quietly_close(person: Customer | Staff) -> None:
    """Closing is best effort: a socket the server already dropped must not fail the run."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(10):
            await person.close()
