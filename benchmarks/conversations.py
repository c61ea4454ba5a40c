"""Phase B: at the held socket load, customers and agents chat at rising message rates;
per rate, end-to-end and ack latency, throughput, errors and the server's CPU."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks import procstat, rest, traffic
from benchmarks.loadgen import AgentsReport, OpenReport
from benchmarks.ramp import split
from benchmarks.stats import Percentiles, summarize
from benchmarks.watch import HealthWatch
from loadtest.rpc import Child, call_all

START_MARGIN = 1.0  # seconds between asking for a traffic step and its common start time


@dataclass(frozen=True)
class ConversationPlan:
    chats: int
    max_chats_per_agent: int
    rates: list[float]  # offered messages per second, both directions together
    sample_rate: float  # the fixed rate measured at every held-socket step
    sample_seconds: float
    step_seconds: float
    drain_seconds: float
    latency_bound_ms: float
    max_in_flight: int
    pages: bool = False
    """Each message as the pages send one (benchmarks.traffic.Step.pages)."""


@dataclass
class Direction:
    attempted: int
    acked: int
    skipped: int
    delivered: int
    ack_ms: Percentiles
    e2e_ms: Percentiles
    errors: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["ack_ms"], out["e2e_ms"] = self.ack_ms.to_json(), self.e2e_ms.to_json()
        return out


@dataclass
class RateStep:
    offered_per_second: float
    seconds: float
    chats: int
    held_sockets: int
    persisted_per_second: float
    delivered_per_second: float
    lost: int  # acknowledged (stored) but not pushed to the other side within the drain
    e2e_ms: Percentiles  # both directions
    ack_ms: Percentiles
    customer_to_agent: Direction
    agent_to_customer: Direction
    server_cpu_pct: float
    server_rss_mib: float
    loadgen_cpu_pct: float
    worst_stall_ms: float  # slowest /healthz answer during the step
    window: list[float]  # [start, end] in time.monotonic(), to match with other logs
    errors: dict[str, int] = field(default_factory=dict)
    passed: bool = True
    verdict: str = "ok"

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for name in ("e2e_ms", "ack_ms"):
            out[name] = getattr(self, name).to_json()
        for name in ("customer_to_agent", "agent_to_customer"):
            out[name] = getattr(self, name).to_json()
        return {k: round(v, 2) if isinstance(v, float) else v for k, v in out.items()}


@dataclass
class Setup:
    agents: int
    agents_online: int
    chats_requested: int
    chats_active: int
    seconds: float
    errors: dict[str, int]


async def agents_online(
    pool: Sequence[Child], base_url: str, admin_password: str, plan: ConversationPlan
) -> tuple[int, int, dict[str, int]]:
    """Create enough agents through the admin API and bring them online, before any load:
    (agents created, agents online, errors)."""
    count = math.ceil(plan.chats / plan.max_chats_per_agent)
    admin = rest.sign_in(base_url, "admin@demo.local", admin_password)
    accounts = rest.create_agents(base_url, admin, count, max_chats=plan.max_chats_per_agent)
    shares = [accounts[i :: len(pool)] for i in range(len(pool))]
    reports: list[AgentsReport] = await call_all(
        pool, "agents_online", [{"accounts": s} for s in shares], timeout=120
    )
    errors: Counter[str] = Counter()
    for report in reports:
        errors.update(report.errors)
    return count, sum(r.online for r in reports), dict(errors)


async def open_chats(pool: Sequence[Child], chats: int) -> tuple[int, dict[str, int]]:
    """Held customers write a first message; a chat counts once its customer sees an agent
    take it: (chats active, errors)."""
    reports: list[OpenReport] = await call_all(
        pool,
        "open_chats",
        [{"count": n, "concurrency": 16, "time_bound": 60} for n in split(chats, len(pool))],
        timeout=150,
    )
    await asyncio.sleep(
        1.0
    )  # the agents' chat.assigned pushes may trail the customers' by a moment
    errors: Counter[str] = Counter()
    for report in reports:
        errors.update(report.errors)
    return sum(r.active for r in reports), dict(errors)


async def run(
    pool: Sequence[Child],
    watch: HealthWatch,
    server_pid: int,
    plan: ConversationPlan,
    chats: int,
    first_index: int,
) -> AsyncIterator[RateStep]:
    """One step per offered rate, lowest first, until a step fails (past saturation)."""
    for index, rate in enumerate(plan.rates, start=first_index):
        step = await measure(pool, watch, server_pid, plan, index, rate, chats, plan.step_seconds)
        print(f"  {describe(step)}", flush=True)
        yield step
        if not step.passed:
            print("  conversation: stopping the rate steps; the server is past saturation")
            return


def describe(step: RateStep) -> str:
    return (
        f"{step.offered_per_second:>4.0f} msg/s offered: persisted "
        f"{step.persisted_per_second:6.1f}/s, delivered {step.delivered_per_second:6.1f}/s, "
        f"end-to-end p50/p95/p99 {step.e2e_ms.p50:.1f}/{step.e2e_ms.p95:.1f}/"
        f"{step.e2e_ms.p99:.1f} ms, ack p95 {step.ack_ms.p95:.1f} ms, server CPU "
        f"{step.server_cpu_pct:.0f}%, load generators {step.loadgen_cpu_pct:.0f}%, worst stall "
        f"{step.worst_stall_ms:.0f} ms: {step.verdict}"
    )


async def measure(
    pool: Sequence[Child],
    watch: HealthWatch,
    server_pid: int,
    plan: ConversationPlan,
    index: int,
    rate: float,
    chats: int,
    seconds: float,
) -> RateStep:
    """`rate` messages/s over `seconds` in the open chats; `index` must be new per call."""
    # rate counts both directions; each chat has two senders (its customer and its agent)
    request = traffic.Step(
        step=index,
        rate_per_sender=rate / (2 * chats),
        start_at=time.monotonic() + START_MARGIN,
        duration=seconds,
        drain=plan.drain_seconds,
        max_in_flight=plan.max_in_flight,
        pages=plan.pages,
    )
    window = (request.start_at, request.start_at + seconds)
    server = procstat.CpuMeter([server_pid])
    pids = [child.pid for child in pool]
    loadgen = procstat.CpuMeter(pids)
    server.start()
    loadgen.start()

    def progress() -> None:
        print(
            f"    … {rate:.0f} msg/s: server CPU {server.read():.0f}%, "
            f"load generators {loadgen.read():.0f}%",
            flush=True,
        )

    with (
        procstat.WindowMeter([server_pid], *window) as server_window,
        procstat.WindowMeter(pids, *window) as loadgen_window,
    ):
        reports: list[traffic.TrafficReport] = await call_all(
            pool,
            "traffic",
            {"step": request},
            timeout=START_MARGIN + seconds + plan.drain_seconds + 60,
            progress=progress,
        )
    server_cpu, loadgen_cpu = server_window.percent, loadgen_window.percent
    held = watch.latest()
    c2a = _direction([r.customer_to_agent for r in reports])
    a2c = _direction([r.agent_to_customer for r in reports])
    both_e2e = [
        ms for r in reports for d in (r.customer_to_agent, r.agent_to_customer) for ms in d.e2e_ms
    ]
    both_ack = [
        ms for r in reports for d in (r.customer_to_agent, r.agent_to_customer) for ms in d.ack_ms
    ]
    errors: Counter[str] = Counter()
    errors.update({f"customer {k}": v for k, v in c2a.errors.items()})
    errors.update({f"agent {k}": v for k, v in a2c.errors.items()})
    acked, delivered = c2a.acked + a2c.acked, c2a.delivered + a2c.delivered
    step = RateStep(
        offered_per_second=rate,
        seconds=seconds,
        chats=chats,
        held_sockets=held.customers if held else -1,
        persisted_per_second=acked / seconds,
        delivered_per_second=delivered / seconds,
        lost=max(0, acked - delivered),
        e2e_ms=summarize(both_e2e),
        ack_ms=summarize(both_ack),
        customer_to_agent=c2a,
        agent_to_customer=a2c,
        server_cpu_pct=server_cpu,
        server_rss_mib=procstat.sample(server_pid).rss_mib,
        loadgen_cpu_pct=loadgen_cpu,
        worst_stall_ms=watch.worst_ms(window[0], window[1]),
        window=list(window),
        errors=dict(errors),
    )
    problems = []
    skipped = c2a.skipped + a2c.skipped
    if skipped:
        problems.append(f"{skipped} sends skipped (too many awaiting acks)")
    if errors:
        problems.append(f"{sum(errors.values())} errors")
    if step.lost:
        problems.append(f"{step.lost} stored but not delivered")
    if not step.e2e_ms.p95 <= plan.latency_bound_ms:
        problems.append(f"end-to-end p95 above {plan.latency_bound_ms:.0f} ms")
    if step.persisted_per_second < 0.9 * rate:
        problems.append("persisted below 90% of offered")
    if problems:
        step.passed, step.verdict = False, "; ".join(problems)
    return step


def _direction(parts: list[traffic.DirectionReport]) -> Direction:
    errors: Counter[str] = Counter()
    for part in parts:
        errors.update(part.errors)
    return Direction(
        attempted=sum(p.attempted for p in parts),
        acked=sum(p.acked for p in parts),
        skipped=sum(p.skipped for p in parts),
        delivered=sum(p.delivered for p in parts),
        ack_ms=summarize([ms for p in parts for ms in p.ack_ms]),
        e2e_ms=summarize([ms for p in parts for ms in p.e2e_ms]),
        errors=dict(errors),
    )
