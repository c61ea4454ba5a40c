"""Relay nodes on Redis: `liveassist relay` processes register with a heartbeat, signaling
places each call on the least-loaded one, a node killed with its workers (kill -9 of the
whole process group) loses its calls to another node within 5 s, and a drain ends with no
call dropped. Real redis-server, real node processes, real aiortc peers through the server."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from loadtest.call_peer import CallPeer
from loadtest.clients import Participant
from media.stamps import StampedVideoTrack
from relay.cluster.registry import WORKERS_PER_NODE, NodeRecord, NodeRegistry
from tests.conftest import Server, start_server
from tests.test_calls import SMALL, chat_pair, rejoin_after_move, ring_and_accept

CLI = [sys.executable, "-c", "import sys; from signaling.cli import main; sys.exit(main())"]
HEARTBEAT = 0.5


@contextmanager
def relay_node(redis_url: str, node_id: str, log_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`liveassist relay` with one worker, in its own process group (killed with it)."""
    log = (log_dir / f"node-{node_id}.log").open("w")
    process = subprocess.Popen(
        [*CLI, "relay", "--redis-url", redis_url, "--node-id", node_id, "--workers", "1"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        log.close()


async def registered(
    redis_url: str, *node_ids: str, timeout: float = 60.0
) -> dict[str, NodeRecord]:
    """Wait until every named node announces itself (workers up) and return the registry."""
    redis = Redis.from_url(redis_url)
    try:
        registry = NodeRegistry(redis, ttl=4 * HEARTBEAT)
        async with asyncio.timeout(timeout):
            while True:
                nodes = await registry.nodes()
                if all(n in nodes and nodes[n].workers_alive for n in node_ids):
                    return nodes
                await asyncio.sleep(0.1)
    finally:
        await redis.aclose()


def node_of(nodes: dict[str, NodeRecord], worker: int) -> str:
    return next(n.node_id for n in nodes.values() if n.number == worker // WORKERS_PER_NODE)


@asynccontextmanager
async def cluster_server(tmp_path: Path, redis_url: str, **relay: Any) -> AsyncIterator[Server]:
    srv, runner = await start_server(
        tmp_path / "data",
        server={"redis_url": redis_url},
        relay={"embedded": False, "preload": True, "heartbeat_seconds": HEARTBEAT, **relay},
    )
    try:
        yield srv
    finally:
        await runner.cleanup()


@asynccontextmanager
async def video_call(srv: Server) -> AsyncIterator[tuple[int, list[tuple[CallPeer, Participant]]]]:
    """A video call both ways, media flowing; yields its id and (peer, person) per side."""
    async with chat_pair(srv) as (customer, agent):
        call_id = await ring_and_accept(customer, agent, customer.chat_id)
        them = CallPeer(customer, call_id, {"camera": StampedVideoTrack(**SMALL)})
        us = CallPeer(agent, call_id, {"camera": StampedVideoTrack(**SMALL)})
        try:
            await asyncio.gather(them.join(), us.join())
            await asyncio.gather(them.wait_frames("camera", 5), us.wait_frames("camera", 5))
            yield call_id, [(them, customer), (us, agent)]
        finally:
            await them.close()
            await us.close()


async def call_record(srv: Server, call_id: int) -> dict[str, Any]:
    admin = await srv.staff("admin@demo.local", online=False)
    try:
        record: dict[str, Any] = await admin.rest("GET", f"/api/calls/{call_id}")
        return record
    finally:
        await admin.close()


async def test_calls_spread_over_two_nodes_and_a_killed_node_s_call_moves_within_5_s(
    tmp_path: Path, redis_url: str
) -> None:
    with (
        relay_node(redis_url, "node-a", tmp_path) as a,
        relay_node(redis_url, "node-b", tmp_path) as b,
    ):
        nodes = await registered(redis_url, "node-a", "node-b")
        processes = {"node-a": a, "node-b": b}
        async with cluster_server(tmp_path, redis_url) as srv:
            async with video_call(srv) as (first_id, first), video_call(srv) as (second_id, _):
                live = srv.runtime.calls.live
                hosts = {node_of(nodes, live[c].relay_worker or 0) for c in (first_id, second_id)}
                assert hosts == {"node-a", "node-b"}, "two calls go to the two least-loaded nodes"
                health = await first[1][1].rest("GET", "/healthz")
                assert health["components"]["relay"]["workers_alive"] == 2
                assert sorted(health["components"]["relay"]["nodes"]) == ["node-a", "node-b"]

                doomed = node_of(nodes, live[first_id].relay_worker or 0)
                killed_at = asyncio.get_running_loop().time()
                os.killpg(processes[doomed].pid, signal.SIGKILL)  # the node and its workers
                moves = await asyncio.gather(*(rejoin_after_move(p, who) for p, who in first))
                took = asyncio.get_running_loop().time() - killed_at
                assert took < 5.0, f"media back after {took:.1f} s"
                survivor = ({"node-a", "node-b"} - {doomed}).pop()
                assert all(node_of(nodes, m["relay_worker"]) == survivor for m in moves)
                state = await first[1][1].request("call.get", {"call_id": first_id})
                assert state["state"] == "active" and state["relay_session"] == 2
            record = await call_record(srv, first_id)
        lost = next(e for e in record["events"] if e["kind"] == "relay_lost")
        assert lost["detail"]["why"] == "worker_lost"
        kinds = [e["kind"] for e in record["events"]]
        assert kinds.index("relay_lost") < kinds.index("relay_moved")


async def wait_draining(redis_url: str, node_id: str) -> None:
    async with asyncio.timeout(5):
        while not (await registered(redis_url, node_id))[node_id].draining:  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_a_drained_node_takes_no_new_call_and_drops_none(
    tmp_path: Path, redis_url: str
) -> None:
    """Node A drains (`liveassist relay drain`) with two calls: one ends on its own within
    the deadline, the other moves to node B at the deadline and goes on; a call started
    during the drain goes to B; A exits 0 and the drain command printed its progress."""
    with relay_node(redis_url, "node-a", tmp_path) as a:
        await registered(redis_url, "node-a")
        async with cluster_server(tmp_path, redis_url) as srv:
            async with (
                video_call(srv) as (ending_id, ending),
                video_call(srv) as (staying_id, staying),
            ):
                with relay_node(redis_url, "node-b", tmp_path) as b:
                    nodes = await registered(redis_url, "node-a", "node-b")
                    live = srv.runtime.calls.live
                    assert node_of(nodes, live[staying_id].relay_worker or 0) == "node-a"
                    drain = await asyncio.create_subprocess_exec(
                        *CLI,
                        *("relay", "drain", "--redis-url", redis_url),
                        *("--node-id", "node-a", "--drain-seconds", "4"),
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                    )
                    await wait_draining(redis_url, "node-a")
                    async with video_call(srv) as (during_id, _during):
                        assert node_of(nodes, live[during_id].relay_worker or 0) == "node-b"
                        hung_up = await ending[1][1].request("call.hangup", {"call_id": ending_id})
                        assert hung_up["state"] == "ended"
                        moves = await asyncio.gather(
                            *(rejoin_after_move(p, who, timeout=20) for p, who in staying)
                        )
                        assert all(node_of(nodes, m["relay_worker"]) == "node-b" for m in moves)
                    printed = (await drain.communicate())[0].decode()
                    assert drain.returncode == 0, printed
                    assert "draining 2 call(s)" in printed and "drained and stopped" in printed
                    assert await asyncio.to_thread(a.wait, 10) == 0
                    assert b.poll() is None
                    state = await staying[1][1].request("call.get", {"call_id": staying_id})
                    assert state["state"] == "active"
            ended = await call_record(srv, ending_id)
            moved = await call_record(srv, staying_id)
        assert ended["end_reason"] == "hung_up"
        lost = next(e for e in moved["events"] if e["kind"] == "relay_lost")
        assert lost["detail"]["why"] == "node_drained"


def test_a_second_node_with_the_same_id_is_refused(tmp_path: Path, redis_url: str) -> None:
    with relay_node(redis_url, "twin", tmp_path):
        asyncio.run(registered(redis_url, "twin"))
        second = subprocess.run(
            [*CLI, "relay", "--redis-url", redis_url, "--node-id", "twin", "--workers", "1"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 2
        assert "relay node id 'twin' is in use" in second.stderr


def test_relay_without_redis_says_what_it_needs() -> None:
    done = subprocess.run([*CLI, "relay"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "needs Redis" in done.stderr


@pytest.fixture(autouse=True)
def _no_config_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LIVEASSIST_"):
            monkeypatch.delenv(name)
