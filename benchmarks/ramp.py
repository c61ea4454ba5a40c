"""Phase A: hold ever more idle customer sockets (each with its guest chat) and measure,
per step, the server's memory and CPU and whether it still answers promptly; then hold the
top level for a whole ping cycle to see that every socket survives it."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks import procstat
from benchmarks.loadgen import ConnectReport, ProbeReport
from benchmarks.stats import Percentiles, summarize
from benchmarks.watch import HealthWatch
from loadtest.rpc import Child, call_all


@dataclass(frozen=True)
class RampPlan:
    start: int
    max_sockets: int
    seconds: float  # time bound of the whole ramp
    settle_seconds: float
    hold_seconds: float
    connect_concurrency: int
    probe_samples: int
    ack_bound_ms: float

    def targets(self) -> list[int]:
        """start, then doubling, and max_sockets itself as the last step."""
        steps, target = [], self.start
        while target < self.max_sockets:
            steps.append(target)
            target *= 2
        return [*steps, self.max_sockets]


@dataclass
class RampStep:
    target: int
    held: int
    server_customers: int
    opened: int
    failed: int
    connect_seconds: float
    connects_per_second: float
    connect_ms: Percentiles
    server_cpu_connecting_pct: float
    server_cpu_idle_pct: float
    loadgen_cpu_connecting_pct: float
    server_rss_mib: float
    server_threads: int
    probe_ms: Percentiles
    worst_stall_ms: float  # slowest /healthz answer while connecting and settling
    window: list[float]  # [start, end] in time.monotonic(), to match with other logs
    errors: dict[str, int] = field(default_factory=dict)
    passed: bool = True
    verdict: str = "ok"

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["connect_ms"] = self.connect_ms.to_json()
        out["probe_ms"] = self.probe_ms.to_json()
        return {k: round(v, 2) if isinstance(v, float) else v for k, v in out.items()}


def split(total: int, parts: int) -> list[int]:
    """`total` spread over `parts` as evenly as whole numbers allow."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


async def run(
    pool: Sequence[Child], watch: HealthWatch, server_pid: int, plan: RampPlan
) -> AsyncIterator[RampStep]:
    """One step per target, until a step fails or the time bound cuts the ramp short."""
    steps: list[RampStep] = []
    ramp_deadline = time.monotonic() + plan.seconds
    held = 0
    rate = 0.0
    for target in plan.targets():
        remaining = ramp_deadline - time.monotonic()
        if steps and rate > 0 and (target - held) / rate + plan.settle_seconds > remaining:
            print(
                f"  ramp: stopping before {target} sockets: at {rate:.0f} connects/s it would "
                f"not finish within the --ramp-seconds bound ({remaining:.0f} s left)",
                flush=True,
            )
            break
        step = await _step(pool, watch, server_pid, plan, target, ramp_deadline)
        steps.append(step)
        held, rate = step.held, step.connects_per_second
        print(
            f"  step {target:>6}: held {step.held:>6} (server {step.server_customers}), "
            f"{step.connects_per_second:5.0f} conn/s, connect p95 {step.connect_ms.p95:6.0f} ms, "
            f"RSS {step.server_rss_mib:6.0f} MiB, CPU connecting "
            f"{step.server_cpu_connecting_pct:3.0f}% idle {step.server_cpu_idle_pct:4.1f}%, "
            f"probe p50/p95 {step.probe_ms.p50:.1f}/{step.probe_ms.p95:.1f} ms, "
            f"worst stall {step.worst_stall_ms:.0f} ms: {step.verdict}",
            flush=True,
        )
        yield step
        if not step.passed or held < target:
            return


async def _step(
    pool: Sequence[Child],
    watch: HealthWatch,
    server_pid: int,
    plan: RampPlan,
    target: int,
    ramp_deadline: float,
) -> RampStep:
    server = procstat.CpuMeter([server_pid])
    loadgen = procstat.CpuMeter([child.pid for child in pool])
    server.start()
    loadgen.start()
    started = time.monotonic()

    def progress() -> None:
        mem = procstat.sample(server_pid)
        latest = watch.latest()
        print(
            f"    … {latest.customers if latest else '?'} customer sockets on the server, "
            f"server CPU {server.read():.0f}%, RSS {mem.rss_mib:.0f} MiB",
            flush=True,
        )

    concurrency = split(plan.connect_concurrency, len(pool))
    requests = [
        {"target": share, "concurrency": max(1, c), "deadline": ramp_deadline}
        for share, c in zip(split(target, len(pool)), concurrency, strict=True)
    ]
    reports: list[ConnectReport] = await call_all(
        pool, "connect", requests, timeout=plan.seconds + 60, progress=progress
    )
    connect_seconds = time.monotonic() - started
    cpu_connecting = server.read()
    loadgen_connecting = loadgen.read()
    server.start()
    await asyncio.sleep(plan.settle_seconds)
    cpu_idle = server.read()
    probes = await _probe(pool, plan)
    mem = procstat.sample(server_pid)
    latest = watch.latest()
    errors: Counter[str] = Counter()
    for report in reports:
        errors.update(report.errors)
    for probe in probes:
        errors.update({f"probe {k}": v for k, v in probe.errors.items()})
    opened = sum(r.opened for r in reports)
    step = RampStep(
        target=target,
        held=sum(p.connected for p in probes),
        server_customers=latest.customers if latest else -1,
        opened=opened,
        failed=sum(r.failed for r in reports),
        connect_seconds=connect_seconds,
        connects_per_second=opened / connect_seconds if connect_seconds else 0.0,
        connect_ms=summarize([ms for r in reports for ms in r.connect_ms]),
        server_cpu_connecting_pct=cpu_connecting,
        server_cpu_idle_pct=cpu_idle,
        loadgen_cpu_connecting_pct=loadgen_connecting,
        server_rss_mib=mem.rss_mib,
        server_threads=mem.threads,
        probe_ms=summarize([ms for p in probes for ms in p.ack_ms]),
        worst_stall_ms=watch.worst_ms(started),
        window=[started, time.monotonic()],
        errors=dict(errors),
    )
    _judge(step, probes, plan, timed_out=time.monotonic() >= ramp_deadline)
    return step


async def _probe(pool: Sequence[Child], plan: RampPlan) -> list[ProbeReport]:
    request = {"samples": max(1, plan.probe_samples // len(pool)), "time_bound": 30}
    probes: list[ProbeReport] = await call_all(pool, "probe", request, timeout=60)
    return probes


def _judge(step: RampStep, probes: list[ProbeReport], plan: RampPlan, *, timed_out: bool) -> None:
    """A step passes when every connect succeeded, every socket is still there and a light
    request is answered within the bound; the time bound only cuts a step short."""
    problems = []
    if step.failed:
        problems.append(f"{step.failed} connects failed")
    dropped = sum(p.held - p.connected for p in probes)
    if dropped:
        problems.append(f"{dropped} sockets dropped")
    if any(p.errors for p in probes):
        problems.append("probe errors")
    if not step.probe_ms.p95 <= plan.ack_bound_ms:  # also true for NaN (no answers)
        problems.append(f"probe p95 above {plan.ack_bound_ms:.0f} ms")
    if problems:
        step.passed, step.verdict = False, "; ".join(problems)
    elif step.held < step.target:
        step.verdict = f"ok; the time bound stopped it at {step.held}"


async def hold(
    pool: Sequence[Child], watch: HealthWatch, server_pid: int, plan: RampPlan
) -> dict[str, Any]:
    """Keep the top level idle for a whole ping cycle (Engine.IO pings every 25 s): every
    socket must survive it; idle CPU measured over a full cycle is the true cost of holding."""
    started = time.monotonic()
    before = sum(p.connected for p in await _probe(pool, plan))
    server = procstat.CpuMeter([server_pid])
    server.start()
    await asyncio.sleep(plan.hold_seconds)
    cpu = server.read()
    probes = await _probe(pool, plan)
    latest = watch.latest()
    result = {
        "seconds": plan.hold_seconds,
        "held_before": before,
        "held_after": sum(p.connected for p in probes),
        "server_customers_after": latest.customers if latest else -1,
        "server_cpu_idle_pct": round(cpu, 1),
        "server_rss_mib": round(procstat.sample(server_pid).rss_mib, 1),
        "probe_ms": summarize([ms for p in probes for ms in p.ack_ms]).to_json(),
        "worst_stall_ms": round(watch.worst_ms(started), 1),
        "window": [started, time.monotonic()],
    }
    print(
        f"  held {result['held_after']} of {before} through {plan.hold_seconds:.0f} s idle: "
        f"server CPU {cpu:.1f}%, worst stall {result['worst_stall_ms']:.0f} ms",
        flush=True,
    )
    return result


async def release(
    pool: Sequence[Child], watch: HealthWatch, server_pid: int, timeout: float
) -> dict[str, Any]:
    """Close every socket at once and time how long the server takes to let them all go:
    a mass disconnect (a deploy, a network blip) is a load of its own."""
    latest = watch.latest()
    before = latest.customers + latest.staff if latest else -1
    server = procstat.CpuMeter([server_pid])
    server.start()
    started = time.monotonic()
    closed: list[int] = await call_all(
        pool, "release", {"time_bound": timeout}, timeout=timeout + 30
    )
    clients_closed = time.monotonic()
    remaining: int | None = None  # None: the server has not answered since the clients closed
    while True:
        await asyncio.sleep(1.0)
        now = watch.latest(since=clients_closed)
        remaining = now.customers + now.staff if now else None
        if remaining == 0 or time.monotonic() - started >= timeout:
            break
    return {
        "sockets": before,
        "closed_by_clients": sum(closed),
        "seconds_until_clients_closed": round(clients_closed - started, 1),
        "seconds_until_server_released_all": round(time.monotonic() - started, 1),
        "server_still_counting": remaining,
        "server_cpu_pct": round(server.read(), 1),
        "worst_stall_ms": round(watch.worst_ms(started), 1),
        "window": [started, time.monotonic()],
    }
