"""GET /metrics: the service's counters and gauges in Prometheus text format.

One registry per Runtime (tests run several servers in one process). Counters and
histograms that count events (messages, errors by code, calls started and ended, call
setup time, the event loop's lag) are updated where the event happens; gauges of state
(connected sockets, chats by state, queue, live calls) and every relay worker's figures are
read when /metrics is scraped. Relay workers are separate processes: each reports its
counters to the pool over the control channel it already has (relay/metrics.py), and they
are exposed here with a `worker` label — so one scrape of signaling covers every process,
and no multiprocess directory of files is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from relay.interface import WorkerStats

if TYPE_CHECKING:
    from signaling.runtime import Runtime

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SETUP_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


def is_loopback(address: str | None) -> bool:
    if not address:
        return False
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


class _State:
    """What a scrape read from the runtime, handed to the collector (which cannot await)."""

    def __init__(self) -> None:
        self.sockets: dict[str, int] = {}
        self.chats: dict[str, int] = {}
        self.queue = 0
        self.agents_online = 0
        self.calls: dict[str, int] = {}
        self.workers: Sequence[WorkerStats] = ()


class _ScrapeCollector(Collector):
    def __init__(self, state: _State) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        state = self._state
        yield _gauge(
            "liveassist_connected_sockets", "Socket.IO connections", "namespace", state.sockets
        )
        yield _gauge("liveassist_chats", "Chats by state", "state", state.chats)
        yield _gauge("liveassist_calls", "Calls in progress by state", "state", state.calls)
        yield GaugeMetricFamily(
            "liveassist_queue_length", "Chats waiting for an agent", value=state.queue
        )
        yield GaugeMetricFamily(
            "liveassist_agents_online", "Agents online", value=state.agents_online
        )
        yield from _worker_metrics(state.workers)


def _gauge(name: str, doc: str, label: str, values: Mapping[str, float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


WORKER_COUNTERS = {
    "packets_received": "RTP packets received from publishers",
    "packets_forwarded": "RTP packets forwarded to subscribers",
    "bytes_forwarded": "RTP bytes forwarded to subscribers",
    "send_failures": "Forwarded packets the subscriber's transport refused",
    "nacks_received": "NACKs received from subscribers (answered from the packet history)",
    "nacks_sent": "NACKs sent to publishers",
    "rtx_sent": "Retransmissions sent to subscribers",
    "rtx_refused": (
        "NACKs whose retransmissions did not fit the subscriber's estimated downlink (dropped)"
    ),
    "rtx_received": "Retransmissions received from publishers",
    "plis_sent": "Keyframe requests (PLI) sent to publishers",
    "receiver_reports_sent": "RTCP receiver reports sent to publishers (loss, jitter, LSR/DLSR)",
    "transport_feedback_sent": "Transport-wide congestion control feedback sent to publishers",
    "send_side_limits": (
        "Limits the relay's own estimate of a subscriber's downlink put on its publishers"
    ),
    "transport_feedback_received": (
        "Transport-wide feedback received from subscribers (the relay's own estimator runs on it)"
    ),
    "send_side_overuses": (
        "Cuts of the relay's own downlink estimate for a queue seen growing (delay-based)"
    ),
    "send_side_loss_cuts": "Cuts of the relay's own downlink estimate for loss over 10 %",
    "arrival_stamps_kernel": (
        "Transport-cc arrival times taken from the kernel's receive stamp of the packet"
    ),
    "arrival_stamps_fallback": (
        "Transport-cc arrival times that fell back to the time the relay handled the packet"
    ),
}


def _worker_metrics(workers: Sequence[WorkerStats]) -> Iterator[Metric]:
    label = ["worker"]
    alive = GaugeMetricFamily("liveassist_relay_worker_up", "Relay worker alive", labels=label)
    gauges = {
        name: GaugeMetricFamily(f"liveassist_relay_{name}", doc, labels=label)
        for name, doc in (
            ("rooms", "Calls hosted by the relay worker"),
            ("streams", "Participants (peer connections) on the relay worker"),
            ("recordings", "Calls the relay worker is recording"),
            ("resident_memory_bytes", "Relay worker resident memory"),
            ("event_loop_lag_seconds", "Relay worker event loop lag, last sample"),
        )
    }
    cpu = CounterMetricFamily(
        "liveassist_relay_cpu_seconds", "Relay worker CPU time (user + system)", labels=label
    )
    counters = {
        name: CounterMetricFamily(f"liveassist_relay_{name}", doc, labels=label)
        for name, doc in WORKER_COUNTERS.items()
    }
    forward = HistogramMetricFamily(
        "liveassist_relay_forward_seconds",
        "Time to forward one packet to every subscriber (every 64th packet timed)",
        labels=label,
    )
    lag = HistogramMetricFamily(
        "liveassist_relay_event_loop_lag_seconds_hist",
        "Relay worker event loop lag (sampled every 0.25 s)",
        labels=label,
    )
    for worker in workers:
        key = [str(worker.worker_id)]
        alive.add_metric(key, 1 if worker.alive else 0)
        if not worker.alive:
            continue
        m = worker.metrics
        gauges["rooms"].add_metric(key, worker.rooms)
        gauges["streams"].add_metric(key, worker.participants)
        gauges["recordings"].add_metric(key, worker.recordings)
        gauges["resident_memory_bytes"].add_metric(key, worker.rss_bytes)
        gauges["event_loop_lag_seconds"].add_metric(key, m.get("loop_lag_last_ms", 0) / 1000)
        cpu.add_metric(key, float(m.get("cpu_seconds", 0.0)))
        for name, family in counters.items():
            family.add_metric(key, float(m.get(name, 0)))
        for histogram, wire, scale in (
            (forward, m.get("forward_time_us"), 1e-6),
            (lag, m.get("loop_lag_ms"), 1e-3),
        ):
            if wire:
                buckets, total = _buckets(wire, scale)
                histogram.add_metric(key, buckets, total)
    yield alive
    yield from gauges.values()
    yield cpu
    yield from counters.values()
    yield forward
    yield lag


def _buckets(wire: Mapping[str, Any], scale: float) -> tuple[list[tuple[str, float]], float]:
    """relay/metrics.py's per-bucket counts as Prometheus' cumulative buckets, in seconds."""
    running = 0
    buckets: list[tuple[str, float]] = []
    counts = list(wire["counts"])
    for bound, count in zip([*wire["bounds"], None], counts, strict=True):
        running += count
        buckets.append(("+Inf" if bound is None else repr(round(bound * scale, 9)), running))
    return buckets, float(wire["sum"]) * scale


class ServerMetrics:
    """Lifecycle: built with the Runtime → start() (loop-lag watch) → stop()."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.events = Counter(
            "liveassist_socket_events",
            "Socket.IO requests answered, by namespace, event and outcome (ok/error)",
            ["namespace", "event", "outcome"],
            registry=r,
        )
        self._answered: dict[tuple[str, str, str], Counter] = {}
        self.messages = Counter(
            "liveassist_messages", "Chat messages stored, by sender", ["sender"], registry=r
        )
        self.errors = Counter(
            "liveassist_errors", "Errors answered to clients, by code", ["code"], registry=r
        )
        self.calls_started = Counter(
            "liveassist_calls_started", "Calls started, by media", ["media"], registry=r
        )
        self.calls_ended = Counter(
            "liveassist_calls_ended", "Calls ended, by end reason", ["reason"], registry=r
        )
        self.call_setup = Histogram(
            "liveassist_call_setup_seconds",
            "From call.start to both participants joined to the relay",
            buckets=SETUP_BUCKETS,
            registry=r,
        )
        self.recording_failures = Counter(
            "liveassist_recording_failures", "Recordings the relay could not write", registry=r
        )
        self.recording_bytes = Counter(
            "liveassist_recording_bytes",
            "Recording data of stopped recordings: written to disk, or dropped (disk too slow)",
            ["outcome"],
            registry=r,
        )
        self.webhook_attempts = Counter(
            "liveassist_webhook_attempts",
            "Webhook delivery attempts by outcome: delivered, failed (retried later), dead",
            ["outcome"],
            registry=r,
        )
        self.loop_lag = Histogram(
            "liveassist_event_loop_lag_seconds",
            "Signaling event loop lag (sampled every 0.25 s)",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.loop_lag_last = Gauge(
            "liveassist_event_loop_lag_last_seconds",
            "Signaling event loop lag, last sample",
            registry=r,
        )
        ProcessCollector(registry=r)  # CPU seconds, resident memory, open fds of signaling
        self._state = _State()
        r.register(_ScrapeCollector(self._state))
        self._lag_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._lag_task is None:
            self._lag_task = asyncio.create_task(self._watch_lag(), name="metrics-loop-lag")

    async def stop(self) -> None:
        task, self._lag_task = self._lag_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch_lag(self, every: float = 0.25) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + every
            await asyncio.sleep(every)
            lag = max(0.0, loop.time() - due)
            self.loop_lag.observe(lag)
            self.loop_lag_last.set(lag)

    def recorded(self, written: int, dropped: int) -> None:
        self.recording_bytes.labels("written").inc(written)
        self.recording_bytes.labels("dropped").inc(dropped)

    def answered(self, namespace: str, event: str, error_code: str | None) -> None:
        key = (namespace, event, "error" if error_code else "ok")
        counter = self._answered.get(key)
        if counter is None:  # labels() takes a lock and builds a key: once per label set
            counter = self._answered[key] = self.events.labels(*key)
        counter.inc()
        if error_code:
            self.errors.labels(error_code).inc()

    async def render(self, runtime: Runtime) -> bytes:
        """Read the runtime's state, then the registry's text."""
        state = self._state
        rooms = runtime.sio.manager.rooms
        state.sockets = {
            ns.strip("/"): len(rooms.get(ns, {}).get(None, {})) for ns in ("/customer", "/agent")
        }
        state.queue = len(runtime.dispatcher.queue)
        state.agents_online = runtime.presence.online_count()
        calls: dict[str, int] = {"ringing": 0, "active": 0}
        for live in list(runtime.calls.live.values()):
            record = live.record
            if record is not None and record.get("state") in calls:
                calls[str(record["state"])] += 1
        state.calls = calls
        state.chats = await _chats_by_state(runtime)
        pool = runtime.relay.pool
        state.workers = ()
        if pool is not None:
            with contextlib.suppress(Exception):
                state.workers = (await asyncio.wait_for(pool.stats(), 2.0)).workers
        return generate_latest(self.registry)


async def _chats_by_state(runtime: Runtime) -> dict[str, int]:
    from sqlalchemy import func, select

    from signaling.db.schema import chat_sessions

    async with runtime.db.read() as conn:
        rows = await conn.execute(
            select(chat_sessions.c.state, func.count()).group_by(chat_sessions.c.state)
        )
        return {str(state): int(count) for state, count in rows}
