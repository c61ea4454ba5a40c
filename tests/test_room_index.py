"""The sid → rooms index (signaling/realtime/room_index.py) against python-socketio itself: on
random sequences of what a server does with rooms (connects, half-done connects, joins,
leaves, room closes, disconnects, acks waiting, mistakes such as joining another socket's
room), IndexedManager and IndexedRedisManager answer and end exactly as python-socketio's
unpatched AsyncManager and AsyncRedisManager do, and the index is the inverse of the rooms."""

from __future__ import annotations

import inspect
import itertools
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import socketio

from signaling.realtime.room_index import IndexedManager, IndexedRedisManager

NAMESPACES = ("/customer", "/agent")
NAMED_ROOMS = ("chat:1", "chat:2", "user:7", "admins:1")
STEPS = 400

Operation = Callable[[Any], Awaitable[Any]]


def _server(manager: Any) -> socketio.AsyncServer:
    """A server around `manager`, never started: python-socketio's managers need one for
    new sids, which are made the same for both managers of a comparison."""
    sio = socketio.AsyncServer(client_manager=manager, async_mode="aiohttp")
    numbers = itertools.count()
    sio.eio.generate_id = lambda: f"sid{next(numbers)}"
    return sio


def _state(manager: Any) -> dict[str, Any]:
    """Everything the server reads from a manager about rooms and sockets."""
    sids = {sid for rooms in manager.rooms.values() for room in rooms.values() for sid in room}
    sids |= {
        sid
        for pending in (manager.pending_connect, manager.pending_disconnect)
        for namespace_sids in pending.values()
        for sid in namespace_sids
    }
    return {
        "rooms": {
            namespace: {room: dict(members) for room, members in rooms.items()}
            for namespace, rooms in manager.rooms.items()
        },
        "pending_connect": manager.pending_connect,
        "pending_disconnect": manager.pending_disconnect,
        "callbacks": {sid: sorted(ids) for sid, ids in manager.callbacks.items()},
        "rooms_of": {
            (namespace, sid): sorted(manager.get_rooms(sid, namespace))
            for namespace in NAMESPACES
            for sid in sorted(sids)
        },
        "connected": {
            (namespace, sid): manager.is_connected(sid, namespace)
            for namespace in NAMESPACES
            for sid in sorted(sids)
        },
    }


def _inverse(manager: Any) -> dict[str, dict[str, set[str | None]]]:
    out: dict[str, dict[str, set[str | None]]] = {}
    for namespace, rooms in manager.rooms.items():
        for room, members in rooms.items():
            for sid in members:
                out.setdefault(namespace, {}).setdefault(sid, set()).add(room)
    return out


async def _outcome(operation: Operation, manager: Any) -> tuple[str, Any]:
    try:
        result = await operation(manager)
    except Exception as error:  # the unpatched manager must raise the same
        return ("raised", type(error))
    if inspect.iscoroutine(result):  # python-socketio's sync connect() calls the async
        result.close()  # pre_connect() when a connected sid is connected again
        return ("returned", "a coroutine")
    return ("returned", result)


class Script:
    """Random operations over the sids and eio sids seen so far (both managers see the
    same ones, as long as they behave the same)."""

    def __init__(self, seed: int, *, remote: bool) -> None:
        self.rng = random.Random(seed)
        self.remote = remote
        self.eio_sids: list[str] = []
        self.sids: list[str] = ["nobody"]

    def next(self) -> tuple[str, Operation]:
        rng = self.rng
        ns = rng.choice(NAMESPACES)
        sid = rng.choice(self.sids)
        room = rng.choice([*NAMED_ROOMS, rng.choice(self.sids), None])
        kinds = ["connect", "pre_connect", "finish_connect", "enter", "enter", "enter"]
        kinds += ["leave", "leave", "close", "disconnect", "disconnect", "half_disconnect"]
        kinds += ["finish_disconnect", "ack_waiting"]
        if self.remote:
            kinds += ["remote_enter", "remote_leave", "remote_close"]
        kind = rng.choice(kinds)
        if kind in ("connect", "pre_connect"):
            if not self.eio_sids or rng.random() < 0.8:
                self.eio_sids.append(f"eio{len(self.eio_sids)}")
            eio_sid = rng.choice(self.eio_sids)  # sometimes one already connected
            if kind == "connect":
                return kind, lambda m: m.connect(eio_sid, ns)
            return kind, lambda m: m.pre_connect(eio_sid, ns)
        operations: dict[str, Operation] = {
            "finish_connect": lambda m: m.connect(sid, ns),
            "enter": lambda m: m.enter_room(sid, ns, room),
            "leave": lambda m: m.leave_room(sid, ns, room),
            "close": lambda m: m.close_room(room, ns),
            "disconnect": lambda m: _disconnect(m, sid, ns),
            "half_disconnect": lambda m: _sync(m.pre_disconnect, sid, ns),
            "finish_disconnect": lambda m: m.disconnect(sid, ns, ignore_queue=True),
            "ack_waiting": lambda m: _sync(m._generate_ack_id, sid, print),
            # What another signaling process's request does here (through Redis).
            "remote_enter": lambda m: m._handle_enter_room(_message(sid, ns, room)),
            "remote_leave": lambda m: m._handle_leave_room(_message(sid, ns, room)),
            "remote_close": lambda m: m._handle_close_room(_message(sid, ns, room)),
        }
        return kind, operations[kind]

    def saw(self, kind: str, outcome: tuple[str, Any]) -> None:
        if kind in ("connect", "pre_connect") and isinstance(outcome[1], str):
            self.sids.append(outcome[1])


async def _disconnect(manager: Any, sid: str, namespace: str) -> None:
    """As python-socketio's server does it: mark, (run the handler), then disconnect."""
    manager.pre_disconnect(sid, namespace)
    await manager.disconnect(sid, namespace, ignore_queue=True)


async def _sync(method: Callable[..., Any], *args: Any) -> Any:
    return method(*args)


def _message(sid: str, namespace: str, room: str | None) -> dict[str, Any]:
    return {"sid": sid, "namespace": namespace, "room": room, "host_id": "elsewhere"}


async def _compare(ours: Any, theirs: Any, seed: int, *, remote: bool) -> None:
    _server(ours)
    _server(theirs)
    script = Script(seed, remote=remote)
    for step in range(STEPS):
        kind, operation = script.next()
        got, expected = await _outcome(operation, ours), await _outcome(operation, theirs)
        where = f"seed {seed}, step {step}: {kind}"
        assert got == expected, where
        assert _state(ours) == _state(theirs), where
        index = {
            ns: {sid: set(rooms) for sid, rooms in of.items()} for ns, of in ours._rooms_of.items()
        }
        assert index == _inverse(ours), where
        script.saw(kind, got)
    assert len(script.sids) > 20, "the script should have connected sockets"


@pytest.mark.parametrize("seed", range(12))
async def test_in_process_manager_matches_python_socketio(seed: int) -> None:
    await _compare(IndexedManager(), socketio.AsyncManager(), seed, remote=False)


@pytest.mark.parametrize("seed", range(4))
async def test_redis_manager_matches_python_socketio(seed: int, redis_url: str) -> None:
    ours = IndexedRedisManager(redis_url, channel="test:ours")
    theirs = socketio.AsyncRedisManager(redis_url, channel="test:theirs")
    try:
        await _compare(ours, theirs, seed, remote=True)
    finally:
        for manager in (ours, theirs):
            if manager.redis is not None:
                await manager.redis.aclose()


async def test_a_disconnect_visits_only_that_sockets_rooms() -> None:
    """Not a timing: the index, not a scan, says which rooms a leaving socket was in."""
    manager = IndexedManager()
    _server(manager)
    sids = [await manager.connect(f"eio{i}", "/customer") for i in range(50)]
    for i, sid in enumerate(sids):
        await manager.enter_room(sid, "/customer", f"chat:{i}")
    scanned: list[str] = []
    rooms = manager.rooms["/customer"]

    class Watched(dict[Any, Any]):
        def copy(self) -> dict[Any, Any]:
            scanned.append("copy")
            return dict(self)

        def items(self) -> Any:
            scanned.append("items")
            return super().items()

    manager.rooms["/customer"] = Watched(rooms)
    manager.pre_disconnect(sids[7], "/customer")
    await manager.disconnect(sids[7], "/customer", ignore_queue=True)
    assert scanned == []
    assert "chat:7" not in manager.rooms["/customer"]
    assert sids[7] not in manager.rooms["/customer"]
    assert manager.get_rooms(sids[8], "/customer") == [sids[8], "chat:8"]
