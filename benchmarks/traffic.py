"""Conversation traffic inside one load generator: stamped messages sent open-loop on a
fixed schedule, and the stamps read back where the pushes arrive.

The stamp is time.monotonic_ns() at emit. CLOCK_MONOTONIC is one clock for every process
on the machine, so a push may arrive in another load generator than the one that sent it
and its end-to-end latency is still exact. Sends are not paced by acks (open loop), so a
slow server shows up as latency, not as a politely lower offered rate.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from loadtest.clients import Customer, ProtocolError, Staff
from loadtest.lean_clients import LeanCustomer, LeanStaff

PREFIX = "bench"
CUSTOMER_TO_AGENT = "customer_to_agent"
AGENT_TO_CUSTOMER = "agent_to_customer"
ACK_TIMEOUT = 10.0
QUIET_SECONDS = 2.0  # a step's pushes are all in once none has arrived for this long


@dataclass(frozen=True)
class Step:
    """Both sides of every open chat send stamped messages, each at `rate_per_sender` per
    second, from `start_at` (monotonic, the same clock in every process) for `duration`;
    then wait up to `drain` seconds past the end for pushes still on their way."""

    step: int
    rate_per_sender: float
    start_at: float
    duration: float
    drain: float
    max_in_flight: int
    pages: bool = False
    """Send each message as the pages do (web/static/js/composer.js, widget and console):
    "typing" true before it and false with it, and the side it reaches answers with a read
    receipt, so a message is four events; off, the message alone."""


@dataclass
class DirectionReport:
    """One direction of traffic (customer→agent or agent→customer) in one worker."""

    attempted: int = 0
    acked: int = 0
    skipped: int = 0  # not sent: too many of this worker's sends were still waiting for acks
    delivered: int = 0  # pushes received by the other side (counted where they arrive)
    ack_ms: list[float] = field(default_factory=list)
    e2e_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)


@dataclass
class TrafficReport:
    customer_to_agent: DirectionReport
    agent_to_customer: DirectionReport
    customer_chats: int
    agent_chats: int


def error_key(exc: BaseException) -> str:
    """A short, countable name for a failure: the protocol's error code when there is one."""
    if isinstance(exc, ProtocolError):
        return f"ack:{exc.code}"
    detail = str(exc).split("\n", 1)[0][:60]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def stamp(step: int, serial: int) -> str:
    return f"{PREFIX} {step} {time.monotonic_ns()} {serial}"


class Arrivals:
    """Stamped pushes received in this process, per (step, direction)."""

    def __init__(self) -> None:
        self.e2e_ms: defaultdict[tuple[int, str], list[float]] = defaultdict(list)
        self.last_arrival: dict[int, float] = {}  # step → time.monotonic() of its latest push
        self.receipts = False
        """Answer each stamped push with a read receipt, as a page showing it does."""
        self.receipt_errors: defaultdict[str, Counter[str]] = defaultdict(Counter)
        """Per direction of the message answered."""
        self._receipts: set[asyncio.Task[None]] = set()

    def on_push(self, direction: str, data: Any, reader: Any = None) -> None:
        now = time.monotonic_ns()
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(text, str) or not text.startswith(PREFIX + " "):
            return  # system messages ("… joined the chat") and the opening line
        _prefix, step, sent_ns, _serial = text.split(" ", 3)
        self.e2e_ms[(int(step), direction)].append((now - int(sent_ns)) / 1e6)
        self.last_arrival[int(step)] = now / 1e9
        if self.receipts and reader is not None:
            task = asyncio.create_task(self._receipt(reader, direction, data))
            self._receipts.add(task)
            task.add_done_callback(self._receipts.discard)

    async def _receipt(self, reader: Any, direction: str, message: dict[str, Any]) -> None:
        try:
            async with asyncio.timeout(ACK_TIMEOUT):
                await reader.request("read", {"chat_id": message["chat_id"], "seq": message["seq"]})
        except Exception as exc:
            self.receipt_errors[direction][f"receipt {error_key(exc)}"] += 1

    async def settle(self, step: int, deadline: float) -> None:
        """Wait until the step's pushes have stopped coming (or the deadline): every ack is
        in by now, and the server pushes a message before it acks it, so a quiet spell means
        the rest is lost, not late."""
        while time.monotonic() < deadline:
            if time.monotonic() - self.last_arrival.get(step, 0.0) >= QUIET_SECONDS:
                return
            await asyncio.sleep(0.1)

    def take(self, step: int, direction: str) -> list[float]:
        return self.e2e_ms.pop((step, direction), [])


@dataclass(frozen=True)
class Sender:
    """One side of one chat: a customer (its own chat) or an agent (one of its chats)."""

    direction: str
    customer: Customer | LeanCustomer | None = None
    agent: Staff | LeanStaff | None = None
    chat_id: int = 0

    async def send(self, text: str, pages: bool = False) -> None:
        client = self.customer if self.customer is not None else self.agent
        assert client is not None
        chat_id = self.customer.chat_id if self.customer is not None else self.chat_id
        if pages:
            await client.request("typing", {"chat_id": chat_id, "typing": True})
        if self.customer is not None:
            await self.customer.say(text)
        else:
            assert self.agent is not None
            await self.agent.say(self.chat_id, text)
        if pages:
            await client.request("typing", {"chat_id": chat_id, "typing": False})


def schedule(senders: list[Sender], req: Step) -> list[tuple[float, int]]:
    """(send time, sender index) for the whole step: each sender every 1/rate seconds from a
    random phase, so the offered load is smooth and the same whatever the server does."""
    interval = 1.0 / req.rate_per_sender
    plan: list[tuple[float, int]] = []
    end = req.start_at + req.duration
    for index in range(len(senders)):
        at = req.start_at + random.uniform(0, interval)
        while at < end:
            plan.append((at, index))
            at += interval
    plan.sort()
    return plan


async def run_step(req: Step, senders: list[Sender], arrivals: Arrivals) -> TrafficReport:
    reports = {CUSTOMER_TO_AGENT: DirectionReport(), AGENT_TO_CUSTOMER: DirectionReport()}
    errors: dict[str, Counter[str]] = {name: Counter() for name in reports}
    arrivals.receipts = req.pages
    arrivals.receipt_errors.clear()
    in_flight: set[asyncio.Task[None]] = set()
    serial = 0

    async def send_one(sender: Sender, text: str, started: float) -> None:
        report = reports[sender.direction]
        try:
            async with asyncio.timeout(ACK_TIMEOUT):
                await sender.send(text, req.pages)
        except Exception as exc:
            errors[sender.direction][error_key(exc)] += 1
            return
        report.acked += 1
        report.ack_ms.append((time.monotonic() - started) * 1000)

    for at, index in schedule(senders, req):
        delay = at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        sender = senders[index]
        report = reports[sender.direction]
        report.attempted += 1
        if len(in_flight) >= req.max_in_flight:
            report.skipped += 1
            continue
        serial += 1
        task = asyncio.create_task(send_one(sender, stamp(req.step, serial), time.monotonic()))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.wait(in_flight, timeout=ACK_TIMEOUT + 1)
    await arrivals.settle(req.step, req.start_at + req.duration + req.drain)
    arrivals.receipts = False
    for direction, failed in arrivals.receipt_errors.items():
        errors[direction].update(failed)  # with the messages whose receipt failed
    for direction, report in reports.items():
        report.errors = dict(errors[direction])
        report.e2e_ms = arrivals.take(req.step, direction)
        report.delivered = len(report.e2e_ms)
    return TrafficReport(
        customer_to_agent=reports[CUSTOMER_TO_AGENT],
        agent_to_customer=reports[AGENT_TO_CUSTOMER],
        customer_chats=sum(1 for s in senders if s.direction == CUSTOMER_TO_AGENT),
        agent_chats=sum(1 for s in senders if s.direction == AGENT_TO_CUSTOMER),
    )
